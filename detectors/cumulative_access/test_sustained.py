"""cumulative_access's sustained-excess rule (issue 23) on the in-process state: evidence of
a steady excess summed over shifts (a CUSUM), against peers' shifts and the actor's own."""

from __future__ import annotations

import math

import orjson
import pytest

from detectors.base import Finding
from detectors.cumulative_access import CumulativeAccess, CumulativeAccessConfig
from detectors.cumulative_access.detector import CumulativeSlot
from detectors.cumulative_access.sustained import (
    Evidence,
    Reference,
    llr,
    own_reference,
    threshold,
)
from detectors.cumulative_access.test_shift_excess import DAY, PEERS, by_hour, shift
from detectors.state import MemoryState
from detectors.state.memory_state import MemoryContext
from detectors.tuning import Tuning
from tests.detectors.helpers import T0, run

# The shift rule's single-shift bar out of the way (3x the peers' median): what pages here
# is the evidence summed over shifts.
QUIET_SHIFT_RULE = {"shift_min_ratio": 3.0}
PEER_RATES = [5, 6, 7, 6, 5, 7, 6, 6]  # customers an hour: median 6


def detector(**settings: float) -> CumulativeAccess:
    return CumulativeAccess(Tuning(CumulativeAccessConfig(**{**QUIET_SHIFT_RULE, **settings})))


def peers_work(state: MemoryState, found: CumulativeAccess, days: range) -> None:
    for day in days:
        for peer, rate in zip(PEERS, PEER_RATES, strict=True):
            assert run(found, state, shift(peer, day, rate)) == []


def sustained(
    found: CumulativeAccess, state: MemoryState, actor: str, day: int, per_hour: int
) -> list[Finding]:
    """The actor's shift, batch after batch (an hour each): its sustained-excess findings."""
    out = []
    for batch in by_hour(shift(actor, day, per_hour, covered=True)):
        out += [f for f in run(found, state, batch) if f.evidence["rule"] == "sustained_excess"]
    return out


def test_a_shift_at_the_reference_is_evidence_against_and_at_the_ratio_for() -> None:
    cfg = CumulativeAccessConfig()  # sustained_ratio 2, sustained_full_hours 6
    reference = Reference(6.0, 0.2)
    half = math.log(2) ** 2 / (2 * 0.2**2)
    assert math.isclose(llr(6.0, 8.0, reference, cfg), -half)
    assert math.isclose(llr(12.0, 8.0, reference, cfg), half)
    assert llr(0.0, 8.0, reference, cfg) < -half  # a shift with no customer: strong evidence
    assert math.isclose(llr(12.0, 2.0, reference, cfg), half / 3)  # 2 hours of 6: a third


def test_the_own_spread_is_at_most_the_team_s() -> None:
    cfg = CumulativeAccessConfig()
    noisy = [3.0, 6.0, 12.0, 4.0, 9.0]
    assert own_reference(cfg, noisy, None).spread > 0.5
    assert own_reference(cfg, noisy, Reference(6.0, 0.2)).spread == 0.2
    assert own_reference(cfg, [6.0, 6.0, 6.0], None).spread == cfg.sustained_min_spread
    assert own_reference(cfg, [6.0, 6.0], None) is None  # fewer than shift_min_history


def test_the_threshold_is_the_log_of_the_shifts_between_false_alarms() -> None:
    assert math.isclose(threshold(CumulativeAccessConfig()), math.log(2000))
    assert math.isclose(
        threshold(CumulativeAccessConfig(sustained_false_alarm_shifts=100)), math.log(100)
    )


def test_a_steady_excess_below_the_shift_bar_is_paged_in_its_second_shift() -> None:
    """10 customers an hour against peers' 6 and its own 6 (1.6x): not one shift's news,
    but the second such shift tips the summed evidence over log(2000)."""
    state, found = MemoryState(), detector()
    peers_work(state, found, range(4))
    for day in range(4):
        assert sustained(found, state, "agent-1", day, 6) == []
    peers_work(state, found, range(4, 6))
    assert sustained(found, state, "agent-1", 4, 10) == []
    paged = sustained(found, state, "agent-1", 5, 10)
    assert len(paged) == 1, "one page per shift"
    evidence = paged[0].evidence
    assert evidence["shifts"] == 2 and evidence["evidence"] >= evidence["threshold"]
    assert 4 < evidence["evidence_before_this_shift"] < evidence["threshold"]
    assert 6.0 <= evidence["team_median_per_hour"] <= 6.2  # 48 customers in 7.8 h
    assert 5.5 < evidence["own_median_per_hour"] < 6.5
    assert 1.6 < evidence["ratio_to_team"] < 1.7 and 1.6 < evidence["ratio_to_own"] < 1.7


def test_busy_shifts_between_ordinary_ones_never_add_up() -> None:
    state, found = MemoryState(), detector()
    peers_work(state, found, range(4))
    for day in range(4):
        sustained(found, state, "agent-1", day, 6)
    for day in range(4, 10):
        peers_work(state, found, range(day, day + 1))
        assert sustained(found, state, "agent-1", day, 10 if day % 2 else 6) == []


def test_an_agent_fast_by_habit_is_judged_against_its_own_shifts() -> None:
    """1.6x the team every shift, as it always was (its own history before the peers'
    shifts were known): its own reference keeps it quiet."""
    state, found = MemoryState(), detector()
    for day in range(4):
        sustained(found, state, "agent-1", day, 10)
    peers_work(state, found, range(6))
    for day in range(4, 10):
        assert sustained(found, state, "agent-1", day, 10) == []


def test_a_rarer_false_alarm_asks_for_more_shifts() -> None:
    state, found = MemoryState(), detector(sustained_false_alarm_shifts=10**6)
    peers_work(state, found, range(4))
    for day in range(4):
        sustained(found, state, "agent-1", day, 6)
    pages = {}
    for day in range(4, 8):
        peers_work(state, found, range(day, day + 1))
        pages[day] = sustained(found, state, "agent-1", day, 10)
    assert pages[4] == [] and pages[5] == []
    assert pages[6] and pages[6][0].evidence["shifts"] == 3


def test_a_page_resets_the_evidence_and_the_own_reference_stays_frozen() -> None:
    """After a page the sum starts again; the collector's excess shifts never become its own
    reference while the evidence runs (it is paged again two shifts later, against its own
    usual 6 an hour, not the 10 of its last shifts)."""
    state, found = MemoryState(), detector()
    peers_work(state, found, range(4))
    for day in range(4):
        sustained(found, state, "agent-1", day, 6)
    paged = []
    for day in range(4, 8):
        peers_work(state, found, range(day, day + 1))
        paged += sustained(found, state, "agent-1", day, 10)
    assert [(f.window_end_ms - T0) // DAY for f in paged] == [5, 7]
    assert paged[1].evidence["shifts"] == 2
    assert 5.5 < paged[1].evidence["own_median_per_hour"] < 6.5


def test_a_slot_stored_before_the_rule_loads_with_no_evidence() -> None:
    slot = CumulativeSlot()
    old = slot.dump()[:2]
    loaded = CumulativeSlot.load(old)
    assert loaded.evidence.total == 0.0 and loaded.evidence.since is None


def test_the_rule_can_be_turned_off() -> None:
    state, found = MemoryState(), detector(sustained_rule=False)
    peers_work(state, found, range(4))
    for day in range(4):
        sustained(found, state, "agent-1", day, 6)
    for day in range(4, 8):
        peers_work(state, found, range(day, day + 1))
        assert sustained(found, state, "agent-1", day, 10) == []


def test_a_shift_closed_when_the_team_s_answer_is_gone_still_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker's cache forgets a team not asked about for a while (a team off shift
    overnight): the shift closes at the actor's next one, on a batch whose team answer is
    None. The shift still counts, against the peers as seen during it."""
    state, found = MemoryState(), detector()
    peers_work(state, found, range(4))
    for day in range(4):
        sustained(found, state, "agent-1", day, 6)
    answered = MemoryContext.cached
    paged = []
    for day in range(4, 6):
        peers_work(state, found, range(day, day + 1))
        batches = by_hour(shift("agent-1", day, 10, covered=True))
        monkeypatch.setattr(MemoryContext, "cached", lambda self, key, ask: None)
        paged += run(found, state, batches[0])  # closes the last shift: the cache is cold
        monkeypatch.setattr(MemoryContext, "cached", answered)
        for batch in batches[1:]:
            paged += run(found, state, batch)
    paged = [f for f in paged if f.evidence["rule"] == "sustained_excess"]
    assert paged and paged[0].evidence["shifts"] == 2


def test_without_enough_peers_nothing_adds_up() -> None:
    """Three peers (fewer than shift_min_peers): the actor's own history alone never pages."""
    state, found = MemoryState(), detector()
    for day in range(8):
        for peer, rate in zip(PEERS[:3], PEER_RATES, strict=False):
            run(found, state, shift(peer, day, rate))
        assert sustained(found, state, "agent-1", day, 6 if day < 4 else 12) == []


def test_a_new_actor_is_judged_against_the_team_alone() -> None:
    """No own history yet (first shifts): 2x the peers' rate pages on the team's evidence."""
    state, found = MemoryState(), detector()
    peers_work(state, found, range(4))
    paged = sustained(found, state, "agent-1", 4, 12)
    assert paged and paged[0].evidence["own_median_per_hour"] is None
    assert paged[0].evidence["shifts"] == 1


def test_the_evidence_survives_the_store_s_json() -> None:
    evidence = Evidence()
    evidence.close(1000, 4.5)
    evidence.peers = Reference(6.1, 0.2)
    loaded = Evidence.load(orjson.loads(orjson.dumps(evidence.dump())))
    assert loaded.dump() == evidence.dump() and loaded.peers == Reference(6.1, 0.2)
    assert (loaded.total, loaded.since, loaded.shifts) == (4.5, 1000, 1)

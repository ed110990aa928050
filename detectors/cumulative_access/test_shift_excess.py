"""cumulative_access's shift-excess rule on the in-process state: a shift's distinct
customers per hour against peers' shifts and the actor's own usual shifts."""

from __future__ import annotations

from dataclasses import replace

from detectors.cumulative_access import CumulativeAccess, CumulativeAccessConfig
from detectors.event import Event
from detectors.state import MemoryState
from detectors.tuning import Tuning
from tests.detectors.helpers import MIN, T0, run

HOUR = 60 * MIN
DAY = 24 * HOUR
DETECTOR = CumulativeAccess(Tuning(CumulativeAccessConfig()))
PEERS = [f"agent-{n}" for n in range(2, 10)]


def shift(actor: str, day: int, per_hour: int, covered: bool = False) -> list:
    """An 8-hour shift from 08:00: `per_hour` customers an hour, each with two record views;
    `covered`: each customer inside a short interaction (start, views, end)."""
    events: list[Event] = []
    base = T0 + day * DAY + 8 * HOUR
    for hour in range(8):
        for k in range(per_hour):
            ts = base + hour * HOUR + k * (HOUR // per_hour)
            customer = f"cust-{actor}-{day}-{hour}-{k}"
            actions = ["record.view", "record.view"]
            if covered:
                actions = ["interaction.start", *actions, "interaction.end"]
            for j, action in enumerate(actions):
                event_id = f"e-{actor}-{day}-{len(events)}"
                events.append(
                    Event(event_id, ts + j * 1000, "acme", "voice", actor, action,
                          actor_team="t-1", customer_id=customer,
                          resource_id=f"rec-{customer}-{j}")
                )  # fmt: skip
    return events


def work(state: MemoryState, days: int, per_hour: int = 6) -> None:
    """`days` ordinary days of the peers, shift by shift (no finding on the way)."""
    for day in range(days):
        for peer in PEERS:
            assert run(DETECTOR, state, shift(peer, day, per_hour)) == []


def by_hour(events: list[Event]) -> list[list[Event]]:
    """A shift's events as the worker sees them: batch after batch."""
    hours: dict[int, list[Event]] = {}
    for e in events:
        hours.setdefault(e.ts_ms // HOUR, []).append(e)
    return list(hours.values())


def test_a_shift_well_above_the_peers_is_paged_within_the_shift() -> None:
    state = MemoryState()
    work(state, 4)  # a peer's shift enters the sample when its next one starts: 24 shifts
    paged = []
    for batch in by_hour(shift("agent-1", 4, 15, covered=True)):
        paged += [f for f in run(DETECTOR, state, batch) if f.evidence["rule"] == "shift_excess"]
    assert paged, "the collector's shift was not paged"
    first = paged[0]
    assert first.actor == "agent-1" and first.evidence["set_by"] == "team"
    assert first.evidence["peers"] == len(PEERS) and first.evidence["team_shifts"] == 24
    assert 6.0 <= first.evidence["team_median_per_hour"] <= 6.2  # 48 customers in 7.8 h
    assert first.evidence["interactions"] > 0 and first.evidence["customers_per_interaction"] == 1
    hours_in = (first.window_end_ms - first.window_start_ms) / HOUR
    assert 2 <= hours_in < 3, "judged from two hours into the shift, paged at the first chance"


def test_ordinary_shifts_and_slightly_busier_ones_stay_quiet() -> None:
    state = MemoryState()
    work(state, 4)
    for batch in by_hour(shift("agent-1", 4, 6) + shift("agent-2", 4, 9)):
        assert run(DETECTOR, state, batch) == []


def test_nothing_is_judged_before_enough_peers_have_shifts() -> None:
    state = MemoryState()
    for day in range(3):
        for peer in PEERS[:3]:  # three peers: fewer than shift_min_peers
            run(DETECTOR, state, shift(peer, day, 6))
    assert run(DETECTOR, state, shift("agent-1", 3, 30)) == []


def test_the_actors_own_usual_rate_raises_its_bar() -> None:
    state = MemoryState()
    work(state, 4)
    for day in range(4):  # a busy specialist: 20 customers an hour, day after day
        run(DETECTOR, state, shift("agent-1", day, 20))
    found = [f for f in run(DETECTOR, state, shift("agent-1", 4, 24))
             if f.evidence["rule"] == "shift_excess"]  # fmt: skip
    assert found == []  # 24/h is 1.2x its own 20/h: not news for this actor


def test_a_second_shift_over_raises_the_severity() -> None:
    state = MemoryState()
    work(state, 4)
    first = [f for f in run(DETECTOR, state, shift("agent-1", 4, 15))
             if f.evidence["rule"] == "shift_excess"]  # fmt: skip
    second = [f for f in run(DETECTOR, state, shift("agent-1", 5, 15))
              if f.evidence["rule"] == "shift_excess"]  # fmt: skip
    assert first and second
    assert second[0].evidence["previous_shift_exceeded"] is True
    assert second[0].severity == first[0].severity + 1


def test_claimed_team_and_type_never_choose_the_peers() -> None:
    """Peer shifts follow the trusted team and type only (issue 20): a collector claiming a
    made-up team, or to be a supervisor, is still judged against the tenant's agents."""
    state = MemoryState()
    work(state, 4)
    claims = {"actor_team": "made-up", "actor_type": "supervisor"}
    paged = []
    for batch in by_hour(shift("agent-1", 4, 15, covered=True)):
        batch = [replace(e, **claims) for e in batch]
        paged += [f for f in run(DETECTOR, state, batch) if f.evidence["rule"] == "shift_excess"]
    assert paged and paged[0].evidence["peers"] == len(PEERS)


def test_a_trusted_type_has_its_own_peers() -> None:
    """A trusted type does choose them: a trusted supervisor's shift is not judged against
    the agents' shifts (no supervisor peers yet: nothing to judge against)."""
    state = MemoryState()
    work(state, 4)
    paged = []
    for batch in by_hour(shift("agent-1", 4, 15, covered=True)):
        batch = [replace(e, trusted_type="supervisor") for e in batch]
        paged += [f for f in run(DETECTOR, state, batch) if f.evidence["rule"] == "shift_excess"]
    assert paged == []

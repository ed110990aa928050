"""cumulative_access: distinct records per day summed over 7 days, against the team's sums."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from detectors.base import DAY_MS
from detectors.cumulative_access import CumulativeAccess, CumulativeAccessConfig
from detectors.state import MemoryState
from detectors.tuning import Allowlist, Tuning
from tests.detectors.helpers import HOUR, MIN, T0, Case, ev, run, views

D0 = (T0 // DAY_MS + 1) * DAY_MS
DETECTOR = CumulativeAccess(Tuning(CumulativeAccessConfig()))
PEERS = [f"peer-{n}" for n in range(6)]


def day_of_work(day: int, per_actor: dict[str, int], first: int) -> list:
    """Each actor views `count` distinct records of its own on that day."""
    events = []
    for actor, count in per_actor.items():
        for i in range(count):
            ts = D0 + day * DAY_MS + 9 * 60 * MIN + i * 10_000
            events.append(
                ev(
                    first + len(events),
                    "record.view",
                    ts,
                    actor=actor,
                    resource_id=f"{actor}-{day}-{i}",
                )
            )
    return events


def run_days(detector: CumulativeAccess, state: MemoryState, days: int, leaker: int):
    """`days` days: peers view 200 records a day, agent-1 `leaker` a day; agent-1's findings
    per day. Each actor's day is its own batch, peers first: agent-1 is judged against the
    team's sums of that day."""
    out = []
    for day in range(days):
        counts = dict.fromkeys(PEERS, 200) | {"agent-1": leaker}
        events = day_of_work(day, counts, day * 100_000)
        findings = []
        for actor in counts:
            findings += run(detector, state, [e for e in events if e.actor_id == actor])
        out.append(findings)
    return out


def test_low_and_slow_fires_against_the_team() -> None:
    days = run_days(DETECTOR, MemoryState(), 4, 420)
    assert days[0] == [] and days[1] == []  # 840 distinct < min_observed 1000
    [finding] = days[2]
    assert finding.actor == "agent-1" and finding.observed == 1260
    evidence = finding.evidence
    assert evidence["rule"] == "team_baseline" and evidence["team_peers"] == 6
    assert evidence["team_median"] == 600 and evidence["team_mad"] == 0
    assert finding.threshold == 1200  # 2 x the team median binds
    assert evidence["ratio"] == 1.05 and evidence["days"] == 7


def test_ordinary_work_stays_quiet_for_a_week() -> None:
    assert all(findings == [] for findings in run_days(DETECTOR, MemoryState(), 8, 230))


def test_sum_covers_seven_days_only() -> None:
    state = MemoryState()
    run_days(DETECTOR, state, 8, 200)
    late = day_of_work(8, {"agent-1": 1}, 900_000)
    detector = CumulativeAccess(Tuning(CumulativeAccessConfig(static_threshold=1_200)))
    # days 2..8 hold 6 x 200 + 1 = 1201 distinct records; day 1 fell out of the sum
    [finding] = run(detector, state, late)
    assert finding.observed == 1201 and finding.evidence["rule"] == "static_threshold"


def test_static_floor_needs_no_peers() -> None:
    detector = CumulativeAccess(Tuning(CumulativeAccessConfig(static_threshold=500)))
    [finding] = run(detector, MemoryState(), day_of_work(0, {"agent-1": 500}, 0))
    assert finding.evidence["rule"] == "static_threshold" and finding.observed == 500


def test_no_team_rule_without_enough_peers() -> None:
    state = MemoryState()
    for day in range(3):
        assert (
            run(DETECTOR, state, day_of_work(day, {"agent-1": 900, "peer-1": 100}, day * 10_000))
            == []
        )


def test_redelivery_and_repeated_records_count_once() -> None:
    state = MemoryState()
    detector = CumulativeAccess(Tuning(CumulativeAccessConfig(static_threshold=100)))
    events = day_of_work(0, {"agent-1": 60}, 0)
    again = [
        ev(500 + i, "record.view", D0 + i, resource_id=e.resource_id) for i, e in enumerate(events)
    ]
    assert run(detector, state, events + events) == []
    assert run(detector, state, again) == []


def test_allowlisted_actor_is_neither_judged_nor_a_peer() -> None:
    allow = Allowlist(actors=frozenset({"agent-1"}))
    detector = CumulativeAccess(Tuning(CumulativeAccessConfig(), allowlist=allow))
    assert all(findings == [] for findings in run_days(detector, MemoryState(), 4, 2000))


def exactness_case(tmp: Path) -> Case:
    return (
        lambda p: CumulativeAccess(Tuning(CumulativeAccessConfig(static_threshold=50)), p),
        [views(0, T0, 30), views(30, T0 + HOUR, 30)],
    )


def parity_detector(prefix: str, roster: Path, clock: Callable[[], int]) -> CumulativeAccess:
    config = CumulativeAccessConfig(static_threshold=40, min_observed=1, share_every=1)
    return CumulativeAccess(Tuning(config), prefix)


def test_a_claimed_team_is_still_judged_against_the_tenant_s_peers() -> None:
    """Peer groups follow the trusted team only (issue 20): the low-and-slow collector whose
    events claim a made-up team (a team of one: no peers, no team rule) is still paged
    against the tenant's sums."""
    state, found = MemoryState(), []
    for day in range(4):
        counts = dict.fromkeys(PEERS, 200) | {"agent-1": 420}
        events = day_of_work(day, counts, day * 100_000)
        for actor in counts:
            mine = [e for e in events if e.actor_id == actor]
            if actor == "agent-1":
                mine = [replace(e, actor_team="made-up") for e in mine]
            found += run(DETECTOR, state, mine)
    team_rule = [f for f in found if f.evidence["rule"] == "team_baseline"]
    assert team_rule and team_rule[0].evidence["team_peers"] == 6

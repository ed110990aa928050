"""access_burst: views/searches per actor per window against a static floor and baselines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from detectors.access_burst import AccessBurst, AccessBurstConfig
from detectors.base import Finding
from detectors.state import MemoryState
from detectors.tuning import Allowlist, Tuning
from tests.detectors.helpers import MIN, T0, Case, ev, run
from tests.detectors.helpers import views as distinct_views

WINDOW = 5 * MIN
W0 = (T0 // WINDOW + 1) * WINDOW  # a window boundary
CONFIG = AccessBurstConfig(warmup_windows=24, team_min_samples=50)
DETECTOR = AccessBurst(Tuning(CONFIG))
PEERS = ("agent-1", "agent-2", "agent-3", "agent-4")


class Counter:
    """Unique event numbers across a test."""

    n = 0

    def __call__(self) -> int:
        self.n += 1
        return self.n


def views(number: Counter, actor: str, window: int, count: int, offset_s: int = 0) -> list:
    start = W0 + window * WINDOW + offset_s * 1000
    return [
        ev(number(), "record.view", start + i * 1000, actor=actor, resource_id=f"r-{i}")
        for i in range(count)
    ]


def warm_up(
    detector: AccessBurst, state: MemoryState, number: Counter, windows: int, per_window: int
) -> None:
    """`windows` windows of ordinary work by the actor and its peers; no finding on the way."""
    for w in range(windows):
        batch = [e for actor in PEERS for e in views(number, actor, w, per_window)]
        assert run(detector, state, batch) == []


def burst(state: MemoryState, number: Counter, window: int, count: int) -> list[Finding]:
    return run(DETECTOR, state, views(number, "agent-1", window, count, offset_s=30))


def test_static_floor_fires_on_day_one() -> None:
    [finding] = burst(MemoryState(), Counter(), 0, 150)
    assert finding.detector == "access_burst" and finding.actor == "agent-1"
    assert finding.evidence["rule"] == "static_threshold"
    assert finding.observed == 150 and finding.threshold == 150 and finding.severity == 3


def test_no_baseline_rule_during_warm_up() -> None:
    state, number = MemoryState(), Counter()
    warm_up(DETECTOR, state, number, 10, 5)
    assert burst(state, number, 10, 100) == []


def test_fires_far_above_the_actor_and_team_baselines() -> None:
    state, number = MemoryState(), Counter()
    warm_up(DETECTOR, state, number, 30, 5)
    [finding] = burst(state, number, 31, 60)
    evidence = finding.evidence
    assert evidence["rule"] == "baseline"
    assert evidence["baseline_median"] == 5 and evidence["baseline_mad"] == 0
    assert evidence["team_median"] == 5 and evidence["k"] == 6.0
    assert evidence["observed"] == 60 and finding.threshold == 40  # min_observed binds
    assert evidence["ratio"] == 1.5 and finding.team == "t-1"


def test_quiet_when_the_whole_team_works_that_fast() -> None:
    state, number = MemoryState(), Counter()
    warm_up(DETECTOR, state, number, 30, 30)
    assert burst(state, number, 31, 100) == []


def test_quiet_below_min_observed_even_far_above_a_tiny_baseline() -> None:
    state, number = MemoryState(), Counter()
    warm_up(DETECTOR, state, number, 30, 1)
    assert burst(state, number, 31, 30) == []


def test_severity_grows_with_the_excess() -> None:
    state, number = MemoryState(), Counter()
    warm_up(DETECTOR, state, number, 30, 2)
    [finding] = burst(state, number, 31, 140)
    assert finding.evidence["rule"] == "baseline" and finding.severity == 4  # 140/40 >= 2


def test_late_event_lands_in_its_window() -> None:
    state, number = MemoryState(), Counter()
    warm_up(DETECTOR, state, number, 30, 5)
    assert burst(state, number, 31, 35) == []
    assert run(DETECTOR, state, views(number, "agent-1", 32, 1)) == []
    # ten more views of window 31 arrive after an event of window 32 (within 5 min)
    [finding] = run(DETECTOR, state, views(number, "agent-1", 31, 10, offset_s=200))
    assert finding.observed == 45


def test_redelivered_events_do_not_count_twice() -> None:
    state, number = MemoryState(), Counter()
    batch = views(number, "agent-1", 0, 100)
    assert run(DETECTOR, state, batch) == []
    assert run(DETECTOR, state, batch + batch) == []


def test_allowlisted_actor_is_not_judged() -> None:
    allow = Allowlist(actors=frozenset({"agent-1"}))
    detector = AccessBurst(Tuning(CONFIG, allowlist=allow))
    assert run(detector, MemoryState(), views(Counter(), "agent-1", 0, 200)) == []


def test_per_tenant_static_floor() -> None:
    tuned = AccessBurst(Tuning(CONFIG, tenants={"acme": AccessBurstConfig(static_threshold=50)}))
    [finding] = run(tuned, MemoryState(), views(Counter(), "agent-1", 0, 60))
    assert finding.threshold == 50 and finding.evidence["rule"] == "static_threshold"


def test_history_and_team_sample_are_capped() -> None:
    capped = AccessBurst(
        Tuning(
            AccessBurstConfig(
                warmup_windows=5, history_windows=10, team_sample=20, team_min_samples=20
            )
        )
    )
    state, number = MemoryState(), Counter()
    warm_up(capped, state, number, 30, 5)
    [finding] = run(capped, state, views(number, "agent-1", 31, 60, offset_s=30))
    assert finding.evidence["baseline_windows"] == 10 and finding.evidence["team_windows"] == 20


def exactness_case(tmp: Path) -> Case:
    return (
        lambda p: AccessBurst(Tuning(AccessBurstConfig(static_threshold=40)), p),
        [distinct_views(0, T0, 25), distinct_views(25, T0 + 60_000, 20)],
    )


def parity_detector(prefix: str, roster: Path, clock: Callable[[], int]) -> AccessBurst:
    config = AccessBurstConfig(
        static_threshold=3,
        min_observed=2,
        warmup_windows=2,
        team_min_samples=2,
        history_windows=6,
        team_sample=15,
    )
    return AccessBurst(Tuning(config), prefix)


def test_a_claimed_team_never_takes_the_actor_out_of_the_tenant_s_peers() -> None:
    """Peer groups follow the trusted team only (issue 20): an insider whose events claim a
    made-up team, or none, is still compared with the tenant's peers and paged; before, the
    empty sample of the claimed team switched the team comparison, and so the rule, off."""
    for claimed in ("made-up", None):
        state, number = MemoryState(), Counter()
        warm_up(DETECTOR, state, number, 30, 5)
        batch = views(number, "agent-1", 31, 60, offset_s=30)
        [finding] = run(DETECTOR, state, [replace(e, actor_team=claimed) for e in batch])
        assert finding.evidence["rule"] == "baseline", claimed
        assert finding.evidence["team_windows"] >= CONFIG.team_min_samples


def test_a_trusted_team_is_the_peer_group() -> None:
    """A trusted team (assignments file, channel trusted for it) does choose the group: an
    actor of another trusted team is not compared with these peers' windows."""
    state, number = MemoryState(), Counter()
    for w in range(30):
        batch = [e for actor in PEERS for e in views(number, actor, w, 5)]
        assert run(DETECTOR, state, [replace(e, trusted_team="t-1") for e in batch]) == []
    batch = views(number, "agent-1", 31, 60, offset_s=30)
    [finding] = run(DETECTOR, state, [replace(e, trusted_team="t-1") for e in batch])
    assert finding.evidence["team_windows"] >= CONFIG.team_min_samples
    other = views(number, "agent-9", 31, 60, offset_s=30)
    assert run(DETECTOR, state, [replace(e, trusted_team="t-2") for e in other]) == []

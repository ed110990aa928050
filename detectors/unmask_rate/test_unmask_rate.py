"""unmask_rate: pii.unmask per actor per hour against a static floor and the actor's baseline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from detectors.state import MemoryState
from detectors.tuning import Allowlist, Tuning
from detectors.unmask_rate import UnmaskRate, UnmaskRateConfig
from tests.detectors.helpers import MIN, T0, Case, ev, run

HOUR = 60 * MIN
H0 = (T0 // HOUR + 1) * HOUR
DETECTOR = UnmaskRate(Tuning(UnmaskRateConfig()))


def unmasks(first: int, hour: int, count: int, actor: str = "agent-1", offset_min: int = 0):
    return [
        ev(first + i, "pii.unmask", H0 + hour * HOUR + (offset_min + i) * 20_000, actor=actor,
           resource_id=f"r-{i}")
        for i in range(count)
    ]  # fmt: skip


def warm_up(state: MemoryState, hours: int, per_hour: int) -> int:
    number = 0
    for h in range(hours):
        assert run(DETECTOR, state, unmasks(number, h, per_hour)) == []
        number += per_hour
    return number


def test_static_floor_fires_on_day_one() -> None:
    [finding] = run(DETECTOR, MemoryState(), unmasks(0, 0, 30))
    assert finding.detector == "unmask_rate" and finding.evidence["rule"] == "static_threshold"
    assert finding.observed == 30 and finding.severity == 3


def test_baseline_waits_for_warm_up_then_fires() -> None:
    state = MemoryState()
    number = warm_up(state, 10, 2)
    assert run(DETECTOR, state, unmasks(number, 10, 20)) == []  # 10 hours < 16 of warm-up
    state = MemoryState()
    number = warm_up(state, 20, 2)
    [finding] = run(DETECTOR, state, unmasks(number, 20, 20))
    evidence = finding.evidence
    assert evidence["rule"] == "baseline" and evidence["baseline_median"] == 2
    # hours close once the watermark of the batches before, less the lateness, passes
    # them: the last two hours are still open for late events
    assert evidence["baseline_windows"] == 18
    assert finding.threshold == 12 and evidence["ratio"] == round(20 / 12, 2)
    assert "team_median" not in evidence


def test_quiet_at_the_actors_usual_rate() -> None:
    state = MemoryState()
    number = warm_up(state, 20, 8)
    assert run(DETECTOR, state, unmasks(number, 20, 25)) == []  # < 4 x median 8


def test_allowlisted_team_is_not_judged() -> None:
    detector = UnmaskRate(Tuning(UnmaskRateConfig(), allowlist=Allowlist(teams=frozenset({"t-1"}))))
    trusted = [replace(e, trusted_team="t-1") for e in unmasks(0, 0, 60)]
    assert run(detector, MemoryState(), trusted) == []
    # A team the event only claims (actor_team, not from a trusted source) allowlists nothing.
    assert run(detector, MemoryState(), unmasks(0, 0, 60)) != []


def test_late_unmasks_land_in_their_hour() -> None:
    state = MemoryState()
    assert run(DETECTOR, state, unmasks(0, 0, 25, offset_min=0)) == []
    assert run(DETECTOR, state, unmasks(100, 1, 1)) == []
    # 50 minutes behind the actor's newest: within an hour of allowed lateness
    [finding] = run(DETECTOR, state, unmasks(200, 0, 5, offset_min=150), lateness_ms=HOUR)
    assert finding.observed == 30


def exactness_case(tmp: Path) -> Case:
    return (
        lambda p: UnmaskRate(Tuning(UnmaskRateConfig()), p),
        [[ev(i, "pii.unmask", T0 + i * MIN, resource_id=f"r{i}") for i in range(20)],
         [ev(i, "pii.unmask", T0 + i * MIN, resource_id=f"r{i}") for i in range(20, 32)]],
    )  # fmt: skip


def parity_detector(prefix: str, roster: Path, clock: Callable[[], int]) -> UnmaskRate:
    config = UnmaskRateConfig(window_minutes=10, static_threshold=3, min_observed=2)
    return UnmaskRate(Tuning(config), prefix)

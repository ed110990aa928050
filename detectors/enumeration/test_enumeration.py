"""enumeration: distinct records per actor in a sliding event-time window."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from detectors.enumeration import Enumeration, EnumerationConfig
from detectors.state import MemoryState
from detectors.tuning import Tuning
from tests.detectors.helpers import MIN, T0, Case, ev, run
from tests.detectors.helpers import views as distinct_views

DETECTOR = Enumeration(Tuning(EnumerationConfig(threshold_distinct=300, window_minutes=60)))


def views(start: int, count: int, first: int = 0, step_ms: int = 1000, actor: str = "agent-1"):
    return [
        ev(
            first + i,
            "record.view",
            start + i * step_ms,
            actor=actor,
            resource_id=f"rec-{first + i}",
        )
        for i in range(count)
    ]


def test_fires_on_many_distinct_records() -> None:
    state = MemoryState()
    [finding] = run(DETECTOR, state, views(T0, 300))
    assert finding.detector == "enumeration" and finding.observed == 300
    assert finding.evidence["distinct_records"] == 300
    assert len(finding.sample_records) == 5


def test_repeated_views_of_the_same_records_do_not_count() -> None:
    state = MemoryState()
    same = [ev(i, "record.view", T0 + i, resource_id=f"rec-{i % 50}") for i in range(1000)]
    assert run(DETECTOR, state, same) == []


def test_redelivery_is_idempotent() -> None:
    state = MemoryState()
    batch = views(T0, 299)
    assert run(DETECTOR, state, batch) == []
    assert run(DETECTOR, state, batch) == []


def test_window_slides_in_event_time() -> None:
    state = MemoryState()
    assert run(DETECTOR, state, views(T0, 200)) == []
    assert run(DETECTOR, state, views(T0 + 70 * MIN, 200, first=1000)) == []
    [finding] = run(DETECTOR, state, views(T0 + 80 * MIN, 100, first=2000))
    assert finding.observed == 300


def test_actions_without_record_id_are_ignored() -> None:
    state = MemoryState()
    searches = [ev(i, "record.search", T0 + i) for i in range(500)]
    assert run(DETECTOR, state, searches) == []


def test_a_burst_early_in_a_long_batch_is_judged() -> None:
    """One batch spanning two hours (a replay, a worker catching up): 320 records in its
    first half hour, a trickle after. The window ending in the burst is judged too."""
    batch = views(T0, 320) + views(T0 + 100 * MIN, 5, first=1000, step_ms=MIN)
    [finding] = run(DETECTOR, MemoryState(), batch)
    assert finding.observed == 320


def exactness_case(tmp: Path) -> Case:
    return (
        lambda p: Enumeration(Tuning(EnumerationConfig(threshold_distinct=30)), p),
        [distinct_views(0, T0, 20), distinct_views(20, T0 + 10 * MIN, 15)],
    )


def parity_detector(prefix: str, roster: Path, clock: Callable[[], int]) -> Enumeration:
    return Enumeration(Tuning(EnumerationConfig(threshold_distinct=12)), prefix)

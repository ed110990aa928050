"""recording_access: recordings and transcripts reached outside the actor's interactions,
and far above the actor's own baseline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from detectors.event import Event
from detectors.recording_access import RecordingAccess, RecordingAccessConfig
from detectors.state import MemoryState
from detectors.tuning import Tuning
from tests.detectors.helpers import HOUR, MIN, T0, Case, ev, run


def detector(**overrides: Any) -> RecordingAccess:
    return RecordingAccess(Tuning(RecordingAccessConfig(**overrides)), "t:")


def download(n: int, ts: int, customer: str | None, kind: str = "recording", **f: Any) -> Event:
    fields = {"customer_id": customer} if customer else {}
    return ev(n, "file.download", ts, resource_type=kind, resource_id=f"call-{n}", **fields, **f)


def later(n: int, ts: int) -> Event:
    """Any later event of the actor: its clock passes the grace period."""
    return ev(n, "auth.logout", ts)


def test_recordings_of_customers_never_served_fire_after_the_grace_period() -> None:
    d, state = detector(), MemoryState()
    batch = [download(i, T0 + i * MIN, f"c{i}", "recording" if i % 2 else "transcript")
             for i in range(10)]  # fmt: skip
    assert run(d, state, batch) == []  # still within the grace period
    [finding] = run(d, state, [later(99, T0 + 20 * MIN)])
    assert finding.detector == "recording_access" and finding.evidence["rule"] == (
        "outside_interactions"
    )
    assert finding.observed == 10 and finding.threshold == 10
    assert len(finding.sample_event_ids) == 5 and finding.sample_records[0] == "call-5"


def test_recordings_of_the_actors_own_interactions_do_not_count() -> None:
    d, state = detector(threshold_outside=3), MemoryState()
    events = []
    for i in range(6):
        ts = T0 + i * 10 * MIN
        events += [
            ev(100 + i, "interaction.start", ts, customer_id=f"c{i}"),
            ev(200 + i, "interaction.end", ts + 5 * MIN, customer_id=f"c{i}"),
            download(i, ts + 20 * MIN, f"c{i}"),  # wrap-up: ended 15 min before
        ]
    run(d, state, sorted(events, key=lambda e: e.ts_ms))
    assert run(d, state, [later(99, T0 + 3 * HOUR)]) == []


def test_a_start_processed_after_the_access_still_covers_it() -> None:
    d, state = detector(threshold_outside=1), MemoryState()
    run(d, state, [download(1, T0, "c1")])
    run(d, state, [ev(2, "interaction.start", T0 - 30_000, customer_id="c1")])
    assert run(d, state, [later(3, T0 + 10 * MIN)]) == []


def test_supervisors_are_exempt_and_other_resources_do_not_count() -> None:
    d, state = detector(threshold_outside=2), MemoryState()
    batch = [download(i, T0 + i * MIN, f"c{i}", trusted_type="supervisor") for i in range(5)]
    batch += [download(10 + i, T0 + i * MIN, f"d{i}", kind="attachment") for i in range(5)]
    batch += [ev(20 + i, "record.view", T0 + i * MIN, customer_id=f"e{i}",
                 resource_type="customer_record") for i in range(5)]  # fmt: skip
    run(d, state, batch)
    assert run(d, state, [later(99, T0 + HOUR)]) == []


def test_a_supervisor_type_the_event_claims_exempts_nobody() -> None:
    d, state = detector(threshold_outside=2), MemoryState()
    batch = [download(i, T0 + i * MIN, f"c{i}", actor_type="supervisor") for i in range(5)]
    run(d, state, batch)
    [finding] = run(d, state, [later(99, T0 + HOUR)])
    assert finding.observed >= 2


def test_plays_and_exports_count_like_downloads() -> None:
    d, state = detector(threshold_outside=2), MemoryState()
    batch = [
        ev(1, "record.view", T0, customer_id="c1", resource_type="recording", resource_id="r1"),
        ev(2, "record.export", T0 + MIN, customer_id="c2", resource_type="transcript"),
    ]
    run(d, state, batch)
    [finding] = run(d, state, [later(3, T0 + 10 * MIN)])
    assert finding.observed == 2


def test_far_above_the_actors_own_baseline_fires() -> None:
    d, state = detector(threshold_outside=1000, warmup_windows=3, min_observed=8), MemoryState()
    for hour in range(4):  # two accesses an hour, without customer ids
        run(d, state, [download(10 * hour + i, T0 + hour * HOUR + i * MIN, None) for i in range(2)])
    burst = [download(100 + i, T0 + 5 * HOUR + i * MIN, None) for i in range(20)]
    [finding] = run(d, state, burst)
    assert finding.evidence["rule"] == "baseline" and finding.observed == 20
    # the hour of the batch before is still open (the horizon is that batch's time less
    # the lateness): three hours are history
    assert finding.evidence["baseline_windows"] == 3 and finding.evidence["baseline_median"] == 2


def test_no_baseline_finding_before_warm_up() -> None:
    d, state = detector(threshold_outside=1000, warmup_windows=10, min_observed=8), MemoryState()
    run(d, state, [download(i, T0 + i * MIN, None) for i in range(2)])
    assert (
        run(d, state, [download(100 + i, T0 + 5 * HOUR + i * MIN, None) for i in range(12)]) == []
    )


def exactness_case(tmp: Path) -> Case:
    return (
        lambda p: RecordingAccess(Tuning(RecordingAccessConfig()), p),
        [[download(i, T0 + i * MIN, f"c{i}") for i in range(6)],
         [download(i, T0 + i * MIN, f"c{i}") for i in range(6, 11)],
         [later(50, T0 + 20 * MIN)]],
    )  # fmt: skip


def parity_detector(prefix: str, roster: Path, clock: Callable[[], int]) -> RecordingAccess:
    config = RecordingAccessConfig(
        threshold_outside=2,
        actions=frozenset({"record.view", "record.export", "file.download", "print"}),
        warmup_windows=2,
        min_observed=3,
    )
    return RecordingAccess(Tuning(config), prefix)

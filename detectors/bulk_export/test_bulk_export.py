"""bulk_export: exported records per actor in a sliding event-time window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from detectors.bulk_export import BulkExport, BulkExportConfig
from detectors.state import MemoryState
from detectors.tuning import Allowlist, Tuning
from tests.detectors.helpers import MIN, T0, Case, ev, run

DETECTOR = BulkExport(Tuning(BulkExportConfig(threshold_records=500, window_minutes=15)))


def test_fires_at_the_threshold_with_evidence() -> None:
    state = MemoryState()
    events = [ev(i, "record.export", T0 + i * MIN, records=100) for i in range(5)]
    [finding] = run(DETECTOR, state, events)
    assert (finding.detector, finding.tenant, finding.actor) == ("bulk_export", "acme", "agent-1")
    assert finding.observed == 500 and finding.threshold == 500 and finding.severity == 3
    assert finding.evidence["records_exported"] == 500
    assert finding.window_end_ms == T0 + 4 * MIN
    assert finding.sample_event_ids[0] == "e-0"


def test_stays_quiet_below_threshold_and_for_other_actions() -> None:
    state = MemoryState()
    events = [ev(i, "record.export", T0 + i * MIN, records=99) for i in range(5)]
    events += [ev(100 + i, "record.view", T0, records=1000, resource_id="r") for i in range(3)]
    assert run(DETECTOR, state, events) == []


def test_counts_every_export_like_action_across_batches() -> None:
    state = MemoryState()
    assert run(DETECTOR, state, [ev(1, "report.export", T0, records=200)]) == []
    assert run(DETECTOR, state, [ev(2, "file.download", T0 + MIN, records=200)]) == []
    [finding] = run(DETECTOR, state, [ev(3, "print", T0 + 2 * MIN, records=100)])
    assert finding.observed == 500


def test_redelivered_events_do_not_count_twice() -> None:
    state = MemoryState()
    batch = [ev(i, "record.export", T0 + i, records=100) for i in range(4)]
    assert run(DETECTOR, state, batch) == []
    assert run(DETECTOR, state, batch) == []
    assert run(DETECTOR, state, batch + batch) == []


def test_exports_outside_the_window_fall_out() -> None:
    state = MemoryState()
    assert run(DETECTOR, state, [ev(1, "record.export", T0, records=400)]) == []
    late = T0 + 16 * MIN
    assert run(DETECTOR, state, [ev(2, "record.export", late, records=400)]) == []


def test_out_of_order_event_lands_in_its_window() -> None:
    state = MemoryState()
    assert run(DETECTOR, state, [ev(1, "record.export", T0 + 10 * MIN, records=300)]) == []
    [finding] = run(DETECTOR, state, [ev(2, "record.export", T0 + 7 * MIN, records=250)])
    assert finding.observed == 550


def test_severity_grows_with_the_excess() -> None:
    state = MemoryState()
    [finding] = run(DETECTOR, state, [ev(1, "record.export", T0, records=5000)])
    assert finding.severity == 5


def test_actors_are_counted_apart() -> None:
    state = MemoryState()
    events = [
        ev(1, "record.export", T0, actor="a", records=300),
        ev(2, "record.export", T0, actor="b", records=300),
    ]
    assert run(DETECTOR, state, events) == []


def test_threshold_comes_from_config() -> None:
    state = MemoryState()
    strict = BulkExport(Tuning(BulkExportConfig(threshold_records=50)))
    [finding] = run(strict, state, [ev(1, "record.export", T0, records=60)])
    assert finding.threshold == 50


def test_per_tenant_threshold() -> None:
    tuned = BulkExport(
        Tuning(BulkExportConfig(), tenants={"acme": BulkExportConfig(threshold_records=50)})
    )
    [finding] = run(tuned, MemoryState(), [ev(1, "record.export", T0, records=60)])
    assert finding.threshold == 50 and finding.tenant == "acme"


def test_team_allowlist_reads_only_the_trusted_team() -> None:
    """The runner drops findings of an allowlisted team only when the team comes from a
    trusted source (Event.trusted_team); actor.team as the event claims it (the helper's
    events all claim t-1) allowlists nothing."""
    allow = Allowlist(teams=frozenset({"t-1"}))
    detector = BulkExport(Tuning(BulkExportConfig(threshold_records=500), allowlist=allow))
    claimed = [ev(i, "record.export", T0 + i * MIN, records=100) for i in range(5)]
    assert len(run(detector, MemoryState(), claimed)) == 1
    trusted = [replace(e, trusted_team="t-1") for e in claimed]
    assert run(detector, MemoryState(), trusted) == []
    other = [replace(e, trusted_team="t-2") for e in claimed]
    assert len(run(detector, MemoryState(), other)) == 1


def exactness_case(tmp: Path) -> Case:
    return (
        lambda p: BulkExport(Tuning(BulkExportConfig()), p),
        [[ev(i, "record.export", T0 + i * MIN, records=100) for i in range(3)],
         [ev(i, "record.export", T0 + i * MIN, records=100) for i in range(3, 7)]],
    )  # fmt: skip


def parity_detector(prefix: str, roster: Path, clock: Callable[[], int]) -> BulkExport:
    return BulkExport(Tuning(BulkExportConfig(threshold_records=60)), prefix)

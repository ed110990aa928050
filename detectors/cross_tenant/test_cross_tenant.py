"""cross_tenant on the in-process state: records of tenants the actor is not assigned to."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from detectors.cross_tenant import CrossTenant, CrossTenantConfig
from detectors.state import MemoryState
from detectors.tuning import Tuning
from tests.detectors.helpers import MIN, T0, Case, ev, run


def detector(**overrides: object) -> CrossTenant:
    return CrossTenant(Tuning(CrossTenantConfig(**overrides)), "t:")  # type: ignore[arg-type]


def view(n: int, ts: int, record_tenant: str, tenants: tuple[str, ...] = ("acme",)):
    return ev(
        n,
        "record.view",
        ts,
        resource_id=f"rec-{n}",
        resource_tenant=record_tenant,
        actor_tenants=tenants,
    )


def test_own_tenant_records_are_quiet() -> None:
    d, state = detector(), MemoryState()
    events = [view(1, T0, "acme"), view(2, T0 + MIN, "globex", ("acme", "globex"))]
    assert run(d, state, events) == []


def test_a_foreign_record_fires_and_names_both_tenants() -> None:
    d, state = detector(), MemoryState()
    [finding] = run(d, state, [view(1, T0, "globex")])
    assert finding.tenant == "globex" and finding.actor == "agent-1"
    assert finding.evidence["record_tenants"] == ["globex"]
    assert finding.evidence["assigned_tenants"] == ["acme"]
    assert finding.evidence["assignment_from"] == "event"
    assert finding.sample_records == ("rec-1",) and finding.severity == 3


def test_severity_grows_with_foreign_records_in_the_window() -> None:
    d, state = detector(), MemoryState()
    run(d, state, [view(i, T0 + i * MIN, "globex") for i in range(3)])
    [finding] = run(d, state, [view(10 + i, T0 + 10 * MIN + i, "globex") for i in range(3)])
    assert finding.observed == 6 and finding.severity == 5
    # an hour later the window has moved on
    [later] = run(d, state, [view(20, T0 + 2 * 60 * MIN, "globex")])
    assert later.observed == 1


def test_events_without_assignment_use_the_last_one_seen() -> None:
    d, state = detector(), MemoryState()
    assert run(d, state, [view(1, T0, "acme")]) == []
    [finding] = run(d, state, [view(2, T0 + MIN, "globex", tenants=())])
    assert finding.evidence["assignment_from"] == "last_seen"
    assert finding.evidence["assigned_tenants"] == ["acme"]
    assert run(d, state, [view(3, T0 + 2 * MIN, "acme", tenants=())]) == []


def test_newer_assignment_wins_over_a_late_older_one() -> None:
    d, state = detector(), MemoryState()
    run(d, state, [view(1, T0 + 10 * MIN, "acme", ("acme", "globex"))])
    run(d, state, [view(2, T0, "acme", ("acme",))])  # late event with the old assignment
    assert run(d, state, [view(3, T0 + 11 * MIN, "globex", tenants=())]) == []


def test_no_assignment_known_is_silent() -> None:
    d, state = detector(), MemoryState()
    assert run(d, state, [view(1, T0, "globex", tenants=())]) == []


def test_redelivery_counts_once() -> None:
    d, state = detector(), MemoryState()
    batch = [view(1, T0, "globex"), view(2, T0 + 1, "globex")]
    [finding] = run(d, state, batch)
    assert finding.observed == 2
    assert run(d, state, batch) == []  # nothing new: the alert engine republishes, not us
    [finding] = run(d, state, [*batch, view(3, T0 + 2, "globex")])
    assert finding.observed == 3


def test_shared_tenants_and_per_tenant_threshold() -> None:
    d, state = detector(shared_tenants=frozenset({"kb"})), MemoryState()
    assert run(d, state, [view(1, T0, "kb")]) == []
    tuning = Tuning(CrossTenantConfig(), {"globex": CrossTenantConfig(threshold_records=3)})
    d2, state2 = CrossTenant(tuning, "t:"), MemoryState()
    assert run(d2, state2, [view(i, T0 + i, "globex") for i in range(2)]) == []
    assert run(d2, state2, [view(5, T0 + 5, "globex")]) != []


def exactness_case(tmp: Path) -> Case:
    return (
        lambda p: CrossTenant(Tuning(CrossTenantConfig()), p),
        [[ev(0, "auth.login", T0, actor_tenants=("acme",))],
         [ev(1, "record.view", T0 + MIN, resource_id="g1", resource_tenant="globex")]],
    )  # fmt: skip


def parity_detector(prefix: str, roster: Path, clock: Callable[[], int]) -> CrossTenant:
    return CrossTenant(Tuning(CrossTenantConfig()), prefix)

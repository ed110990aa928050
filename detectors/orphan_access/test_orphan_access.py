"""orphan_access on the in-process state: views of customers without an interaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from detectors.event import Event
from detectors.orphan_access import OrphanAccess, OrphanAccessConfig
from detectors.state import MemoryState
from detectors.tuning import Tuning
from tests.detectors.helpers import HOUR, MIN, T0, Case, ev, run


def detector(**overrides: object) -> OrphanAccess:
    return OrphanAccess(Tuning(OrphanAccessConfig(**overrides)), "t:")  # type: ignore[arg-type]


def view(n: int, ts: int, customer: str, action: str = "record.view", **kw: object) -> Event:
    return ev(n, action, ts, customer_id=customer, resource_id=f"rec-{customer}", **kw)


def start(n: int, ts: int, customer: str, channel: str = "voice") -> Event:
    e = ev(n, "interaction.start", ts, customer_id=customer)
    return replace(e, channel=channel)


def end(n: int, ts: int, customer: str) -> Event:
    return ev(n, "interaction.end", ts, customer_id=customer)


def tick(n: int, ts: int) -> Event:
    """Any later event of the actor: moves its event-time clock."""
    return ev(n, "auth.logout", ts)


def test_views_without_interaction_fire_after_the_grace_period() -> None:
    d, state = detector(), MemoryState()
    views = [
        view(i, T0 + i * MIN, f"c{i}", "pii.unmask" if i % 2 else "record.view") for i in range(6)
    ]
    assert run(d, state, views) == []  # still inside the grace period
    [finding] = run(d, state, [tick(100, T0 + 11 * MIN)])
    assert finding.observed == 6 and finding.threshold == 5
    assert finding.severity == 3
    assert finding.evidence["over_threshold_by"] == 1
    assert finding.window_end_ms == T0 + 5 * MIN
    assert set(finding.sample_records) <= {f"rec-c{i}" for i in range(6)}
    assert "c1" not in finding.title and "c1" not in str(finding.evidence)


def test_severity_grows_past_the_threshold() -> None:
    d, state = detector(), MemoryState()
    views = [view(i, T0 + i * 1000, f"c{i}") for i in range(25)]
    [finding] = run(d, state, [*views, tick(100, T0 + 10 * MIN)])
    assert finding.observed == 25 and finding.severity == 5


def test_views_inside_an_interaction_or_its_wrap_up_are_quiet() -> None:
    d, state = detector(), MemoryState()
    events = []
    for i in range(8):
        c, t = f"c{i}", T0 + i * 10 * MIN
        events += [
            start(10 * i, t, c),
            view(10 * i + 1, t + MIN, c),
            end(10 * i + 2, t + 3 * MIN, c),
        ]
        events.append(view(10 * i + 3, t + 25 * MIN, c))  # wrap-up, 22 min after the end
    assert run(d, state, [*events, tick(999, T0 + 3 * 60 * MIN)]) == []


def test_views_long_after_the_interaction_ended_are_orphans() -> None:
    d, state = detector(), MemoryState()
    events = []
    for i in range(5):
        c = f"c{i}"
        events += [start(10 * i, T0, c), end(10 * i + 1, T0 + MIN, c)]
        events.append(view(10 * i + 2, T0 + 40 * MIN, c))
    [finding] = run(d, state, [*events, tick(999, T0 + 50 * MIN)])
    assert finding.observed == 5


def test_a_late_interaction_start_within_the_grace_covers_the_views() -> None:
    """The start on voice is processed in a later batch than the backoffice views."""
    d, state = detector(), MemoryState()
    views = [view(i, T0 + MIN + i * 1000, "c1") for i in range(6)]
    assert run(d, state, views) == []
    assert run(d, state, [start(50, T0, "c1", channel="voice")]) == []
    assert run(d, state, [tick(100, T0 + 20 * MIN)]) == []


def test_a_start_later_than_the_grace_period_is_too_late() -> None:
    d, state = detector(), MemoryState()
    views = [view(i, T0 + MIN + i * 1000, f"c{i}") for i in range(6)]
    assert run(d, state, [*views, tick(100, T0 + 10 * MIN)]) != []
    d2, state2 = detector(grace_minutes=15), MemoryState()
    assert run(d2, state2, [*views, tick(100, T0 + 10 * MIN)]) == []
    starts = [start(50 + i, T0, f"c{i}") for i in range(6)]  # 10 min behind: allowed lateness
    assert run(d2, state2, starts, lateness_ms=HOUR) == []
    assert run(d2, state2, [tick(101, T0 + 30 * MIN)]) == []


def test_out_of_order_views_land_in_their_window() -> None:
    d, state = detector(), MemoryState()
    recent = [view(i, T0 + 30 * MIN + i * 1000, f"c{i}") for i in range(3)]
    assert run(d, state, [*recent, tick(90, T0 + 36 * MIN)]) == []
    late = [view(10 + i, T0 + 20 * MIN + i * 1000, f"d{i}") for i in range(3)]
    [finding] = run(d, state, [*late, tick(91, T0 + 40 * MIN)], lateness_ms=HOUR)
    assert finding.observed == 6


def test_windows_an_hour_apart_do_not_add_up() -> None:
    d, state = detector(), MemoryState()
    first = [view(i, T0 + i * 1000, f"c{i}") for i in range(3)]
    second = [view(10 + i, T0 + 90 * MIN + i * 1000, f"d{i}") for i in range(3)]
    assert run(d, state, [*first, tick(90, T0 + 10 * MIN)]) == []
    assert run(d, state, [*second, tick(91, T0 + 100 * MIN)]) == []


def test_redelivered_views_count_once() -> None:
    d, state = detector(), MemoryState()
    views = [view(i, T0 + i * 1000, f"c{i}") for i in range(4)]
    run(d, state, [*views, tick(90, T0 + 10 * MIN)])
    assert run(d, state, [*views, tick(91, T0 + 11 * MIN)]) == []


def test_views_without_a_customer_are_not_judged() -> None:
    d, state = detector(), MemoryState()
    views = [ev(i, "record.view", T0 + i * 1000, resource_id=f"r{i}") for i in range(10)]
    assert run(d, state, [*views, tick(90, T0 + 10 * MIN)]) == []


def test_per_tenant_threshold_override() -> None:
    base = OrphanAccessConfig()
    tuning = Tuning(base, {"acme": OrphanAccessConfig(threshold_views=10)})
    d, state = OrphanAccess(tuning, "t:"), MemoryState()
    views = [view(i, T0 + i * 1000, f"c{i}") for i in range(6)]
    assert run(d, state, [*views, tick(90, T0 + 10 * MIN)]) == []


def test_supervisors_views_are_not_judged_by_default() -> None:
    """QA reviews and callbacks are a supervisor's job: customers without an interaction
    of their own. `exempt_actor_types: []` judges them like anyone."""
    views = [view(i, T0 + i * MIN, f"c{i}", trusted_type="supervisor") for i in range(6)]
    tick_later = tick(100, T0 + 11 * MIN)
    assert run(detector(), MemoryState(), [*views, tick_later]) == []
    strict = detector(exempt_actor_types=frozenset())
    assert run(strict, MemoryState(), [*views, tick_later]) != []


def test_a_supervisor_type_the_event_claims_exempts_nobody() -> None:
    """Only a trusted type (assignments file, channel trusted for it) exempts: an event
    that calls its own actor a supervisor is judged like anyone's."""
    views = [view(i, T0 + i * MIN, f"c{i}", actor_type="supervisor") for i in range(6)]
    assert run(detector(), MemoryState(), [*views, tick(100, T0 + 11 * MIN)]) != []


def exactness_case(tmp: Path) -> Case:
    return (
        lambda p: OrphanAccess(Tuning(OrphanAccessConfig()), p),
        [[ev(i, "record.view", T0 + i * MIN, customer_id=f"c{i}", resource_id=f"r{i}")
          for i in range(6)], [ev(50, "auth.logout", T0 + 12 * MIN)]],
    )  # fmt: skip


def parity_detector(prefix: str, roster: Path, clock: Callable[[], int]) -> OrphanAccess:
    return OrphanAccess(Tuning(OrphanAccessConfig(threshold_views=2)), prefix)

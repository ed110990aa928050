"""new_device on the in-process state: first-seen devices and IPs after warm-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from detectors.new_device import NewDevice, NewDeviceConfig
from detectors.state import MemoryState
from detectors.tuning import Tuning
from tests.detectors.helpers import HOUR, MIN, T0, Case, ev, run


def detector(**overrides: object) -> NewDevice:
    """The plain first-seen rule (no team, no corroboration) unless told otherwise."""
    plain = {"team_devices": False, "corroborate": False}
    return NewDevice(Tuning(NewDeviceConfig(**{**plain, **overrides})), "t:")  # type: ignore[arg-type]


def login(n: int, ts: int, device: str = "dev-a", ip: str = "10.0.0.1", actor: str = "agent-1"):
    return ev(n, "auth.login", ts, actor=actor, device_id=device, source_ip=ip)


def test_the_first_devices_of_an_actor_are_not_news() -> None:
    d, state = detector(warmup_hours=24), MemoryState()
    assert run(d, state, [login(1, T0)]) == []
    assert run(d, state, [login(2, T0 + HOUR, device="dev-b", ip="10.0.0.2")]) == []
    assert run(d, state, [login(3, T0 + 48 * HOUR)]) == []
    assert run(d, state, [login(4, T0 + 49 * HOUR, device="dev-b", ip="10.0.0.2")]) == []


def test_a_new_device_after_warm_up_fires() -> None:
    d, state = detector(warmup_hours=24), MemoryState()
    run(d, state, [login(1, T0)])
    [finding] = run(d, state, [login(2, T0 + 30 * HOUR, device="dev-x")])
    assert finding.detector == "new_device" and finding.actor == "agent-1"
    assert finding.evidence["new_attributes"] == ["device"]
    assert finding.evidence["new_device"] == "dev-x"
    assert finding.severity == 3 and finding.sample_event_ids == ("e-2",)


def test_a_new_device_and_ip_together_rank_higher() -> None:
    d, state = detector(warmup_hours=24, attributes=frozenset({"device", "ip"})), MemoryState()
    run(d, state, [login(1, T0)])
    [finding] = run(d, state, [login(2, T0 + 30 * HOUR, device="dev-x", ip="185.1.2.3")])
    assert finding.observed == 2 and finding.severity == 4
    assert finding.evidence["new_attributes"] == ["device", "ip"]


def test_a_repeat_of_the_new_device_does_not_fire_again() -> None:
    d, state = detector(warmup_hours=24), MemoryState()
    run(d, state, [login(1, T0)])
    batch = [
        login(2, T0 + 30 * HOUR, device="dev-x"),
        login(3, T0 + 30 * HOUR + MIN, device="dev-x"),
    ]
    assert len(run(d, state, batch)) == 1
    assert run(d, state, batch) == []  # re-delivered: already known


def test_first_seen_sets_are_bounded_per_actor() -> None:
    d, state = (
        detector(warmup_hours=1, max_per_actor=3, attributes=frozenset({"device"})),
        MemoryState(),
    )
    run(d, state, [login(i, T0 + i * MIN, device=f"dev-{i}") for i in range(10)])
    assert len(state.actors["agent-1"].slots["new_device"].seen.seen) == 3
    # the oldest was forgotten, so it is new again
    assert run(d, state, [login(20, T0 + 2 * HOUR, device="dev-0")]) != []


def test_values_unseen_for_remember_days_are_forgotten() -> None:
    d, state = detector(warmup_hours=1, remember_days=1), MemoryState()
    run(d, state, [login(1, T0)])
    assert run(d, state, [login(2, T0 + 3 * HOUR)]) == []
    assert run(d, state, [login(3, T0 + 60 * HOUR)]) != []


def test_per_tenant_warm_up_override() -> None:
    tuning = Tuning(NewDeviceConfig(warmup_hours=24), {"acme": NewDeviceConfig(warmup_hours=100)})
    d, state = NewDevice(tuning, "t:"), MemoryState()
    run(d, state, [login(1, T0)])
    assert run(d, state, [login(2, T0 + 30 * HOUR, device="dev-x")]) == []


def shipped() -> NewDevice:
    """The shipped rule: a device no teammate used, corroborated within the hour."""
    return NewDevice(Tuning(NewDeviceConfig(warmup_hours=24, attributes=frozenset({"device"}))))


def used(n: int, ts: int, device: str, actor: str, action: str = "record.view", **kw: object):
    return ev(n, action, ts, actor=actor, device_id=device, resource_id=f"r-{n}", **kw)


def test_a_teammates_desk_is_not_news() -> None:
    d, state = shipped(), MemoryState()
    run(d, state, [used(1, T0, "desk-1", "agent-1"), used(2, T0, "desk-9", "agent-2")])
    found = run(d, state, [used(3, T0 + 30 * HOUR, "desk-9", "agent-1", "record.export",
                                records=500, country="CO")])  # fmt: skip
    assert found == []  # agent-2 works at desk-9: hot-desking, even with an export


def test_a_new_device_alone_waits_for_corroboration_then_is_learned() -> None:
    d, state = shipped(), MemoryState()
    run(d, state, [used(1, T0, "desk-1", "agent-1", country="CO")])
    assert run(d, state, [used(2, T0 + 30 * HOUR, "laptop-1", "agent-1", country="CO")]) == []
    later = T0 + 30 * HOUR + 2 * HOUR  # past the hour: the laptop is the actor's now
    out = used(3, later, "laptop-1", "agent-1", "record.export", records=100, country="CO")
    assert run(d, state, [out]) == []


def test_records_moved_out_from_a_new_device_page() -> None:
    d, state = shipped(), MemoryState()
    run(d, state, [used(1, T0, "desk-1", "agent-1", country="CO")])
    start = T0 + 30 * HOUR
    assert run(d, state, [used(2, start, "dev-x", "agent-1", "auth.login", country="CO")]) == []
    [finding] = run(d, state, [used(3, start + 10 * MIN, "dev-x", "agent-1", "record.export",
                                     records=25, country="CO")])  # fmt: skip
    assert finding.evidence["rule"] == "new_device_corroborated"
    assert finding.evidence["corroborated_by"] == "records_out"
    assert finding.evidence["records_out"] == 25 and finding.evidence["new_device"] == "dev-x"
    assert finding.sample_event_ids == ("e-2", "e-3")


def test_a_new_device_from_a_new_country_pages_at_once() -> None:
    d, state = shipped(), MemoryState()
    run(d, state, [used(1, T0, "desk-1", "agent-1", country="CO")])
    [finding] = run(d, state, [used(2, T0 + 30 * HOUR, "dev-x", "agent-1", "auth.login",
                                     country="RU")])  # fmt: skip
    assert finding.evidence["corroborated_by"] == "new_country"
    assert finding.severity == 4  # corroborated: one step above a bare new device


def test_a_new_device_read_before_the_actors_first_events_still_pages() -> None:
    """Read first, the laptop looks like one of a new actor's first devices; the desk a
    day earlier, read after it (within the allowed lateness), puts it past the warm-up."""
    d, state, late = shipped(), MemoryState(), 31 * HOUR
    start = T0 + 30 * HOUR
    assert run(d, state, [used(2, start, "laptop", "agent-1", "auth.login")], late) == []
    assert run(d, state, [used(1, T0, "desk-1", "agent-1")], late) == []
    [finding] = run(d, state, [used(3, start + 10 * MIN, "laptop", "agent-1", "record.export",
                                     records=25)], late)  # fmt: skip
    assert finding.evidence["corroborated_by"] == "records_out"
    assert finding.evidence["first_seen_ms"] == start


def test_records_moved_out_before_the_first_events_are_read_page_when_they_are() -> None:
    d, state, late = shipped(), MemoryState(), 31 * HOUR
    start = T0 + 30 * HOUR
    login = used(2, start, "laptop", "agent-1", "auth.login")
    out = used(3, start + 10 * MIN, "laptop", "agent-1", "record.export", records=25)
    batch = [login, out]
    assert run(d, state, batch, late) == []  # a new actor's first device, so far
    [finding] = run(d, state, [used(1, T0, "desk-1", "agent-1")], late)
    assert finding.evidence["records_out"] == 25 and finding.evidence["new_device"] == "laptop"
    assert finding.sample_event_ids == ("e-2", "e-3")
    assert finding.window_end_ms == start + 10 * MIN
    assert run(d, state, [used(4, start + 20 * MIN, "laptop", "agent-1")], late) == []


def exactness_case(tmp: Path) -> Case:
    return (
        lambda p: NewDevice(Tuning(NewDeviceConfig(warmup_hours=1)), p),
        [[ev(0, "auth.login", T0, device_id="desk", source_ip="10.0.0.1")],
         [ev(1, "auth.login", T0 + 2 * HOUR, device_id="laptop", source_ip="10.0.0.1")],
         [ev(2, "record.export", T0 + 2 * HOUR + 5 * MIN, device_id="laptop",
             source_ip="10.0.0.1", records=40)]],
    )  # fmt: skip


def parity_detector(prefix: str, roster: Path, clock: Callable[[], int]) -> NewDevice:
    both = frozenset({"device", "ip"})  # addresses too: new ones are frequent in random traffic
    config = NewDeviceConfig(warmup_hours=1, max_per_actor=4, attributes=both)
    return NewDevice(Tuning(config), prefix)


def test_a_claimed_team_never_makes_a_device_a_teammate_s() -> None:
    """The team's devices are the trusted team's (issue 20): claiming the team of a
    colleague whose desk one uses does not make the desk known; the tenant-wide group does
    (no trusted team: every actor's devices are the tenant's), so the claim changes nothing."""
    d = shipped()
    event = used(1, T0, "desk-1", "agent-1")
    assert d.team_key(replace(event, actor_team="t-made-up")) == d.team_key(event)
    assert d.team_key(replace(event, actor_team=None)) == d.team_key(event)
    assert d.team_key(replace(event, trusted_team="t-9")) != d.team_key(event)

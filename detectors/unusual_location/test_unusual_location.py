"""unusual_location on the in-process state: new countries and impossible travel."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from detectors.state import MemoryState
from detectors.tuning import Tuning
from detectors.unusual_location import UnusualLocation, UnusualLocationConfig
from tests.detectors.helpers import HOUR, MIN, T0, Case, ev, run

BOGOTA = ("CO", 4.711, -74.072)
MEDELLIN = ("CO", 6.244, -75.581)  # ~250 km from Bogota
MOSCOW = ("RU", 55.756, 37.617)


def detector(**overrides: object) -> UnusualLocation:
    return UnusualLocation(Tuning(UnusualLocationConfig(**overrides)), "t:")  # type: ignore[arg-type]


def at(n: int, ts: int, place: tuple[str, float, float] | None, country: str | None = None):
    if place is None:
        return ev(n, "record.search", ts, country=country)
    return ev(n, "record.search", ts, country=place[0], lat=place[1], lon=place[2])


def test_impossible_travel_between_batches() -> None:
    d, state = detector(), MemoryState()
    assert run(d, state, [at(1, T0, BOGOTA)]) == []
    [finding] = run(d, state, [at(2, T0 + 30 * MIN, MOSCOW)])
    assert finding.evidence["rule"] == "impossible_travel"
    assert finding.evidence["from_country"] == "CO" and finding.evidence["to_country"] == "RU"
    assert finding.evidence["distance_km"] > 10_000
    assert finding.observed > 20 * 900 and finding.severity == 5
    assert finding.sample_event_ids == ("e-1", "e-2")


def test_plausible_travel_is_quiet() -> None:
    d, state = detector(), MemoryState()
    run(d, state, [at(1, T0, BOGOTA)])
    assert run(d, state, [at(2, T0 + HOUR, MEDELLIN)]) == []  # 250 km/h: a flight
    assert run(d, state, [at(3, T0 + 20 * HOUR, MOSCOW)]) == []  # 11,000 km in 19 h


def test_a_hop_just_over_the_limit_is_medium_severity() -> None:
    d, state = detector(), MemoryState()
    [finding] = run(d, state, [at(1, T0, BOGOTA), at(2, T0 + 10 * MIN, MEDELLIN)])
    assert 900 < finding.observed < 1800 and finding.severity == 3


def test_jitter_below_the_minimum_distance_is_ignored() -> None:
    d, state = detector(), MemoryState()
    near = ("CO", 4.75, -74.1)
    assert run(d, state, [at(1, T0, BOGOTA), at(2, T0 + 1000, near)]) == []


def test_country_change_without_coordinates() -> None:
    d, state = detector(), MemoryState()
    run(d, state, [at(1, T0, None, country="CO")])
    [finding] = run(d, state, [at(2, T0 + 6 * MIN, None, country="PH")])
    assert finding.evidence["rule"] == "impossible_travel" and finding.severity == 5
    assert run(d, state, [at(3, T0 + 5 * HOUR, None, country="CO")]) == []


def test_late_event_is_compared_with_the_newest_point() -> None:
    d, state = detector(), MemoryState()
    run(d, state, [at(1, T0 + 30 * MIN, BOGOTA)])
    assert run(d, state, [at(2, T0, MOSCOW)], lateness_ms=HOUR) != []
    assert run(d, state, [at(3, T0 + 31 * MIN, BOGOTA)]) == []  # newest point kept


def test_new_country_after_warm_up() -> None:
    d, state = detector(warmup_hours=24), MemoryState()
    assert run(d, state, [at(1, T0, BOGOTA)]) == []
    findings = run(d, state, [at(2, T0 + 48 * HOUR, MOSCOW)])
    assert [f.evidence["rule"] for f in findings] == ["new_country"]
    assert findings[0].evidence["country"] == "RU"


def test_per_tenant_speed_override() -> None:
    tuning = Tuning(UnusualLocationConfig(), {"acme": UnusualLocationConfig(max_speed_kmh=2000.0)})
    d, state = UnusualLocation(tuning, "t:"), MemoryState()
    assert run(d, state, [at(1, T0, BOGOTA), at(2, T0 + 10 * MIN, MEDELLIN)]) == []


def exactness_case(tmp: Path) -> Case:
    return (
        lambda p: UnusualLocation(Tuning(UnusualLocationConfig(warmup_hours=1)), p),
        [[ev(0, "auth.login", T0, country="CO", lat=4.7, lon=-74.0)],
         [ev(1, "auth.login", T0 + 2 * HOUR, country="CO", lat=4.7, lon=-74.0),
          ev(2, "auth.login", T0 + 2 * HOUR + 20 * MIN, country="PH", lat=14.6, lon=121.0)]],
    )  # fmt: skip


def parity_detector(prefix: str, roster: Path, clock: Callable[[], int]) -> UnusualLocation:
    config = UnusualLocationConfig(warmup_hours=1, max_per_actor=2)
    return UnusualLocation(Tuning(config), prefix)

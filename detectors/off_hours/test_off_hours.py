"""off_hours: activity outside a rostered shift or a learned hour-of-week profile."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from detectors.off_hours import OffHours, OffHoursConfig
from detectors.state import MemoryState
from detectors.tuning import Allowlist, Tuning
from monitor.service.config import ConfigError, load_detectors
from tests.detectors.helpers import HOUR, MIN, T0, Case, ev, run, views

DAY = 24 * HOUR
MONDAY = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp() * 1000)
ROSTER = """
- {id: agent-1, tz: UTC, shift_start_hour: 9, shift_hours: 8, days_off: [5, 6]}
- {id: agent-2, shift_start_hour: 9, shift_hours: 8, days_off: []}
- {id: agent-3, tz: UTC, shift_start_hour: 22, shift_hours: 8, days_off: []}
"""


@pytest.fixture
def roster(tmp_path: Path) -> str:
    path = tmp_path / "roster.yaml"
    path.write_text(ROSTER)
    return str(path)


def activity(first: int, start: int, count: int, actor: str = "agent-1") -> list:
    return [
        ev(first + i, "record.view", start + i * MIN, actor=actor, resource_id=f"r-{i}")
        for i in range(count)
    ]


def detector(roster: str = "", **overrides: object) -> OffHours:
    return OffHours(Tuning(OffHoursConfig(roster_file=roster, **overrides)))  # type: ignore[arg-type]


def test_rostered_actor_outside_the_shift_fires(roster: str) -> None:
    [finding] = run(detector(roster), MemoryState(), activity(0, MONDAY + DAY + 3 * HOUR, 5))
    assert finding.detector == "off_hours" and finding.actor == "agent-1"
    evidence = finding.evidence
    assert evidence["rule"] == "roster_shift" and evidence["shift_start_hour"] == 9
    assert evidence["timezone"] == "UTC" and finding.observed == 5 and finding.threshold == 5


def test_quiet_on_shift_within_grace_and_below_min_events(roster: str) -> None:
    state, off = MemoryState(), detector(roster)
    assert run(off, state, activity(0, MONDAY + 10 * HOUR, 30)) == []
    assert run(off, state, activity(100, MONDAY + 17 * HOUR + 5 * MIN, 20)) == []  # grace
    assert run(off, state, activity(200, MONDAY + DAY + 3 * HOUR, 4)) == []


def test_day_off_is_off_hours(roster: str) -> None:
    saturday = MONDAY + 5 * DAY + 10 * HOUR
    [finding] = run(detector(roster), MemoryState(), activity(0, saturday, 6))
    assert finding.evidence["days_off"] == [5, 6]


def test_shift_in_the_tenant_time_zone(roster: str) -> None:
    tuned = OffHours(
        Tuning(
            OffHoursConfig(roster_file=roster),
            tenants={"acme": OffHoursConfig(roster_file=roster, timezone="America/New_York")},
        )
    )
    state = MemoryState()
    # 14:00 UTC is 10:00 in New York (on shift); 03:00 UTC is 23:00 the day before
    assert run(tuned, state, activity(0, MONDAY + 14 * HOUR, 10, actor="agent-2")) == []
    [finding] = run(tuned, state, activity(100, MONDAY + DAY + 3 * HOUR, 5, actor="agent-2"))
    assert finding.evidence["timezone"] == "America/New_York"


def test_night_shift_across_midnight(roster: str) -> None:
    state, off = MemoryState(), detector(roster)
    assert len(run(off, state, activity(100, MONDAY + 12 * HOUR, 5, actor="agent-3"))) == 1
    assert run(off, state, activity(0, MONDAY + DAY + 2 * HOUR, 10, actor="agent-3")) == []


def work_days(off: OffHours, state: MemoryState, days: int, actor: str = "agent-9") -> None:
    """Weekdays 09:00-17:00 UTC, a view every 10 minutes, no finding on the way."""
    for day in range(days):
        start = MONDAY + day * DAY + 9 * HOUR
        events = [
            ev(day * 1000 + i, "record.view", start + i * 10 * MIN, actor=actor, resource_id="r")
            for i in range(48)
        ]
        assert run(off, state, events) == []


def test_learned_profile_fires_at_an_hour_never_worked() -> None:
    state, off = MemoryState(), detector()
    work_days(off, state, 19)
    night = MONDAY + 19 * DAY + 3 * HOUR
    [finding] = run(off, state, activity(50_000, night, 6, actor="agent-9"))
    evidence = finding.evidence
    assert evidence["rule"] == "learned_profile" and evidence["profile_span_days"] == 19
    assert evidence["hour_of_week"] == 5 * 24 + 3  # a Saturday (day 19 = third Saturday)


def test_learned_profile_quiet_at_usual_or_neighbouring_hours() -> None:
    state, off = MemoryState(), detector()
    work_days(off, state, 14)
    # day 14 is a Monday again: 08:00 neighbours the usual 09:00
    assert run(off, state, activity(50_000, MONDAY + 14 * DAY + 8 * HOUR, 10, "agent-9")) == []
    assert run(off, state, activity(60_000, MONDAY + 14 * DAY + 11 * HOUR, 10, "agent-9")) == []


def test_learned_profile_waits_for_warm_up() -> None:
    state, off = MemoryState(), detector()
    work_days(off, state, 12)  # 12 days < 14
    assert run(off, state, activity(50_000, MONDAY + 12 * DAY + 3 * HOUR, 10, "agent-9")) == []


def test_silent_for_actors_with_neither_shift_nor_profile() -> None:
    state, off = MemoryState(), detector(learn_profile=False)
    work_days(off, state, 12)
    assert run(off, state, activity(50_000, MONDAY + 12 * DAY + 3 * HOUR, 30, "agent-9")) == []


def test_redelivery_counts_once_and_allowlist_silences(roster: str) -> None:
    state, off = MemoryState(), detector(roster)
    night = activity(0, MONDAY + DAY + 3 * HOUR, 4)
    assert run(off, state, night + night) == []
    allow = OffHours(
        Tuning(
            OffHoursConfig(roster_file=roster), allowlist=Allowlist(actors=frozenset({"agent-1"}))
        )
    )
    assert run(allow, MemoryState(), activity(0, MONDAY + DAY + 3 * HOUR, 20)) == []


def test_config_rejects_unknown_time_zone_and_bad_roster(tmp_path: Path) -> None:
    bad_roster = tmp_path / "roster.yaml"
    bad_roster.write_text("- {id: a, shift_start_hour: 25}\n")
    config = tmp_path / "detectors.yaml"
    config.write_text(
        "detectors:\n  off_hours:\n    tenants:\n      acme: {timezone: Mars/Olympus}\n"
    )
    with pytest.raises(ConfigError, match=r"off_hours\.tenants\.acme: unknown time zone"):
        load_detectors(config)
    config.write_text("detectors:\n  off_hours:\n    roster_file: roster.yaml\n")
    with pytest.raises(ConfigError, match="entry 0: shift_start_hour must be 0-23"):
        load_detectors(config)
    bad_roster.write_text("- {id: a, shift_start_hour: 7}\n")
    settings = load_detectors(config)  # the roster path is relative to the config file
    assert settings.configs["off_hours"].default.roster["a"].start_hour == 7


def test_staying_late_after_a_shift_is_overtime_not_off_hours(roster: str) -> None:
    """An unbroken session from 16:00 to 19:00 (shift 9-17, grace 30 min): overtime. The
    same work after a break longer than the grace starts an off-shift session: it pages."""
    state, off = MemoryState(), detector(roster)
    late = activity(0, MONDAY + 16 * HOUR, 180)  # a view a minute, on past the shift
    assert run(off, state, late) == []
    back = activity(500, MONDAY + 20 * HOUR, 6)  # an hour after the last: a new session
    [finding] = run(off, state, back)
    assert finding.observed == 6
    counted = detector(roster, overtime_is_not_off_hours=False)
    assert run(counted, MemoryState(), late) != []  # the rule off: every late minute counts


def exactness_case(tmp: Path) -> Case:
    roster = tmp / "roster.yaml"
    roster.write_text("- {id: agent-1, tz: UTC, shift_start_hour: 9, shift_hours: 8}\n")
    night = T0 // (24 * HOUR) * (24 * HOUR) + 26 * HOUR  # 02:00 UTC the next day
    return (
        lambda p: OffHours(Tuning(OffHoursConfig(roster_file=str(roster))), p),
        [views(0, night - 10 * HOUR, 3),
         [ev(10 + i, "record.search", night + i * MIN) for i in range(6)]],
    )  # fmt: skip


def parity_detector(prefix: str, roster: Path, clock: Callable[[], int]) -> OffHours:
    config = OffHoursConfig(roster_file=str(roster), profile_min_days=1, min_events=2)
    return OffHours(Tuning(config), prefix)

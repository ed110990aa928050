"""Configured shifts: who works when, from a roster file, and whether a moment is on shift.

A roster is a YAML (or JSON) list of actors, the shape of `Population.roster()`:
`id`, optional `tz` (IANA name; defaults to the tenant's time zone), `shift_start_hour`
(0-23), `shift_hours` (1-24) and `days_off` (weekday numbers, Monday = 0, of the day the
shift starts). Other keys are ignored.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS


@dataclass(frozen=True, slots=True)
class Shift:
    """One actor's configured working hours."""

    tz: str | None
    start_hour: int
    hours: int
    days_off: frozenset[int] = frozenset()


def zone(name: str) -> ZoneInfo:
    """The named time zone; ValueError naming it if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


@functools.lru_cache(maxsize=16)
def load_roster(path: str) -> dict[str, Shift]:
    """Actor id → Shift from a roster file; ValueError saying which entry is wrong."""
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise ValueError(f"roster {path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError:
        raise ValueError(f"roster {path}: not valid YAML") from None
    if not isinstance(doc, list):
        raise ValueError(f"roster {path}: must be a list of actors")
    return dict(_entry(path, n, item) for n, item in enumerate(doc))


def _entry(path: str, n: int, item: object) -> tuple[str, Shift]:
    where = f"roster {path}: entry {n}"
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        raise ValueError(f"{where}: needs an id")
    tz = item.get("tz")
    if tz is not None:
        zone(str(tz))
    start, hours = item.get("shift_start_hour"), item.get("shift_hours", 8)
    if type(start) is not int or not 0 <= start <= 23:
        raise ValueError(f"{where}: shift_start_hour must be 0-23")
    if type(hours) is not int or not 1 <= hours <= 24:
        raise ValueError(f"{where}: shift_hours must be 1-24")
    days_off = item.get("days_off") or []
    if not isinstance(days_off, list) or not all(type(d) is int and 0 <= d <= 6 for d in days_off):
        raise ValueError(f"{where}: days_off must be weekday numbers 0-6")
    return item["id"], Shift(tz, start, hours, frozenset(days_off))


@functools.lru_cache(maxsize=65_536)
def on_shift(shift: Shift, tz: str, minute: int, grace_minutes: int) -> bool:
    """Whether epoch minute `minute` falls in a shift (widened by the grace) in zone `tz`."""
    zone_info = zone(shift.tz or tz)
    ts_ms = minute * MINUTE_MS
    grace = grace_minutes * MINUTE_MS
    today = datetime.fromtimestamp(ts_ms / 1000, zone_info).date()
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        if day.weekday() in shift.days_off:
            continue
        begin = datetime.combine(day, time(shift.start_hour), zone_info).timestamp() * 1000
        if begin - grace <= ts_ms < begin + shift.hours * HOUR_MS + grace:
            return True
    return False


@functools.lru_cache(maxsize=65_536)
def local_hour(tz: str, quarter: int) -> tuple[int, int]:
    """(hour of week 0-167 with Monday 00h = 0, local day number) of an epoch quarter-hour."""
    moment = datetime.fromtimestamp(quarter * 900, zone(tz))
    return moment.weekday() * 24 + moment.hour, moment.toordinal()

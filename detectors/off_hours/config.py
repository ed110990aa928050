"""Settings of off_hours (detectors.yaml → detectors.off_hours), with their defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detectors.base import SlidingWindow
from detectors.off_hours.roster import Shift, load_roster, zone
from detectors.tuning import param

NAME = "off_hours"

# What ships besides the defaults: the simulator's tenants and their time zones.
SHIPPED: dict[str, Any] = {
    "tenants": {
        "acme-bank": {"timezone": "America/New_York"},
        "telco-one": {"timezone": "Europe/Madrid"},
        "shopmart": {"timezone": "America/Mexico_City"},
        "healthplus": {"timezone": "America/Chicago"},
        "insura-co": {"timezone": "Europe/London"},
        "travelgo": {"timezone": "America/Bogota"},
        "utilipower": {"timezone": "America/Los_Angeles"},
        "fintech-pay": {"timezone": "Asia/Manila"},
    }
}


@dataclass(frozen=True)
class OffHoursConfig(SlidingWindow):
    """Parameters of off_hours."""

    timezone: str = param("UTC", "the tenant's time zone (IANA name); set it per tenant")
    roster_file: str = param(
        "",
        "configured shifts: a YAML list of {id, tz?, shift_start_hour, shift_hours, "
        "days_off}, relative to the config directory (empty: no roster)",
    )
    grace_minutes: int = param(30, "minutes around a rostered shift still on shift")
    min_events: int = param(
        5, "events off shift in the window (roster), or in one unseen clock hour (profile)"
    )
    window_minutes: int = param(60, "the roster rule's sliding window")
    bucket_minutes: int = param(5, "bucket width (the window's resolution)")
    overtime_is_not_off_hours: bool = param(
        True, "activity continuing a session begun on shift (no gap over grace_minutes) is "
        "overtime; a session that begins off shift is off-hours",
    )  # fmt: skip
    learn_profile: bool = param(True, "judge actors not on the roster by a learned profile")
    profile_min_days: int = param(
        14, "days since first seen before the profile judges (every hour of the week twice)"
    )
    profile_days: int = param(56, "how long an idle profile is kept")

    def __post_init__(self) -> None:
        zone(self.timezone)
        if self.roster_file:
            load_roster(self.roster_file)

    @property
    def roster(self) -> dict[str, Shift]:
        return load_roster(self.roster_file) if self.roster_file else {}

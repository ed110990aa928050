"""Settings of new_device (detectors.yaml → detectors.new_device), with their defaults."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.tuning import param

NAME = "new_device"


@dataclass(frozen=True)
class NewDeviceConfig:
    """Settings for new_device. State is per actor across tenants; overrides follow the
    tenant of the actor's first event in a batch."""

    warmup_hours: int = param(168, "time since an actor was first seen before new values fire")
    remember_days: int = param(90, "values unseen this long are forgotten (seen again: new)")
    max_per_actor: int = param(50, "values remembered per actor (least recently seen go)")
    attributes: frozenset[str] = param(
        frozenset({"device"}),
        "device and/or ip; a known device on a new address (home broadband) is daily life, "
        "new countries are unusual_location's",
    )
    team_devices: bool = param(True, "a device a teammate used is the team's, not news")
    corroborate: bool = param(
        True, "page only when a new country or records moved out follow on the new device"
    )
    corroborate_minutes: int = param(60, "how long after its first sighting a device is watched")
    min_records_out: int = param(20, "records exported, downloaded or printed that corroborate")
    team_cap: int = param(2000, "devices kept per team")
    out_actions: frozenset[str] = param(
        frozenset({"record.export", "report.export", "file.download", "print"}),
        "actions that move records out",
    )

"""Every detector blindar knows: one folder under detectors/ each, one line each here.

The folder `detectors/<name>/` holds everything about the detector (see
docs/adding-a-detector.md); its package exports CONFIG (the config dataclass), DETECTOR
(the class, built from a Tuning of that config and a key prefix), NAME and RULES. The
order below is the order detectors run in and are listed in docs and config.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, NamedTuple

NAMES = (
    "bulk_export",
    "enumeration",
    "orphan_access",
    "new_device",
    "unusual_location",
    "cross_tenant",
    "exfil_sequence",
    "channel_silence",
    "access_burst",
    "unmask_rate",
    "auth_failures",
    "cumulative_access",
    "off_hours",
    "recording_access",
)


class Entry(NamedTuple):
    """One detector of the catalog: its config dataclass and its class, from its folder."""

    config: type
    detector: Any
    package: ModuleType

    @property
    def rules(self) -> dict[str, str]:
        """Rule name (the `rule` of a finding's evidence) -> when it fires."""
        return dict(self.package.RULES)

    @property
    def folder(self) -> str:
        """The detector's folder, relative to the repository root."""
        return f"detectors/{self.package.NAME}"


def load(name: str) -> Entry:
    """The catalog entry of the detector in detectors/<name>/."""
    package = importlib.import_module(f"detectors.{name}")
    if name != package.NAME:
        raise ValueError(f"detectors/{name}: NAME is {package.NAME!r}, not the folder's name")
    return Entry(package.CONFIG, package.DETECTOR, package)


CATALOG: dict[str, Entry] = {name: load(name) for name in NAMES}

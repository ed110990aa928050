"""Every detector blindar knows, by the name used in config and alerts."""

from __future__ import annotations

from typing import Any

from detectors.access_burst import AccessBurst, AccessBurstConfig
from detectors.auth_failures import AuthFailures, AuthFailuresConfig
from detectors.bulk_export import BulkExport, BulkExportConfig
from detectors.cumulative_access import CumulativeAccess, CumulativeAccessConfig
from detectors.enumeration import Enumeration, EnumerationConfig
from detectors.off_hours import OffHours, OffHoursConfig
from detectors.unmask_rate import UnmaskRate, UnmaskRateConfig

# name -> (config dataclass, detector class taking (config, key_prefix))
CATALOG: dict[str, tuple[type, Any]] = {
    "bulk_export": (BulkExportConfig, BulkExport),
    "enumeration": (EnumerationConfig, Enumeration),
    "access_burst": (AccessBurstConfig, AccessBurst),
    "unmask_rate": (UnmaskRateConfig, UnmaskRate),
    "auth_failures": (AuthFailuresConfig, AuthFailures),
    "cumulative_access": (CumulativeAccessConfig, CumulativeAccess),
    "off_hours": (OffHoursConfig, OffHours),
}

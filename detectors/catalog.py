"""Every detector blindar knows, by the name used in config and alerts."""

from __future__ import annotations

from typing import Any

from detectors.access_burst import AccessBurst, AccessBurstConfig
from detectors.auth_failures import AuthFailures, AuthFailuresConfig
from detectors.bulk_export import BulkExport, BulkExportConfig
from detectors.channel_silence import ChannelSilence, ChannelSilenceConfig
from detectors.cross_tenant import CrossTenant, CrossTenantConfig
from detectors.cumulative_access import CumulativeAccess, CumulativeAccessConfig
from detectors.enumeration import Enumeration, EnumerationConfig
from detectors.exfil_sequence import ExfilSequence, ExfilSequenceConfig
from detectors.new_device import NewDevice, NewDeviceConfig
from detectors.off_hours import OffHours, OffHoursConfig
from detectors.orphan_access import OrphanAccess, OrphanAccessConfig
from detectors.unmask_rate import UnmaskRate, UnmaskRateConfig
from detectors.unusual_location import UnusualLocation, UnusualLocationConfig

# name -> (config dataclass, detector class taking (config, key_prefix))
CATALOG: dict[str, tuple[type, Any]] = {
    "bulk_export": (BulkExportConfig, BulkExport),
    "enumeration": (EnumerationConfig, Enumeration),
    "orphan_access": (OrphanAccessConfig, OrphanAccess),
    "new_device": (NewDeviceConfig, NewDevice),
    "unusual_location": (UnusualLocationConfig, UnusualLocation),
    "cross_tenant": (CrossTenantConfig, CrossTenant),
    "exfil_sequence": (ExfilSequenceConfig, ExfilSequence),
    "channel_silence": (ChannelSilenceConfig, ChannelSilence),
    "access_burst": (AccessBurstConfig, AccessBurst),
    "unmask_rate": (UnmaskRateConfig, UnmaskRate),
    "auth_failures": (AuthFailuresConfig, AuthFailures),
    "cumulative_access": (CumulativeAccessConfig, CumulativeAccess),
    "off_hours": (OffHoursConfig, OffHours),
}

"""Every detector blindar knows, by the name used in config and alerts."""

from __future__ import annotations

from typing import Any

from detectors.bulk_export import BulkExport, BulkExportConfig
from detectors.enumeration import Enumeration, EnumerationConfig

# name -> (config dataclass, detector class taking (config, key_prefix))
CATALOG: dict[str, tuple[type, Any]] = {
    "bulk_export": (BulkExportConfig, BulkExport),
    "enumeration": (EnumerationConfig, Enumeration),
}

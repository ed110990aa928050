"""bulk_export: one actor exports, downloads or prints many records in a short window."""

from detectors.bulk_export.config import NAME, BulkExportConfig
from detectors.bulk_export.detector import RULES, BulkExport

CONFIG, DETECTOR = BulkExportConfig, BulkExport  # what the catalog builds

__all__ = ["CONFIG", "DETECTOR", "NAME", "RULES", "BulkExport", "BulkExportConfig"]

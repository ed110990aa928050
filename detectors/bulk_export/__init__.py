"""bulk_export: one actor exports, downloads or prints many records in a short window."""

from detectors.bulk_export.detector import NAME, BulkExport, BulkExportConfig

__all__ = ["NAME", "BulkExport", "BulkExportConfig"]

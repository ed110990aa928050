"""Settings of bulk_export (detectors.yaml → detectors.bulk_export), with their defaults."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import SlidingWindow
from detectors.tuning import param

NAME = "bulk_export"


@dataclass(frozen=True)
class BulkExportConfig(SlidingWindow):
    """Thresholds for bulk_export."""

    threshold_records: int = param(500, "records exported in one window that fire")
    window_minutes: int = param(15, "sliding window length")
    bucket_minutes: int = param(1, "bucket width (the window's resolution)")
    actions: frozenset[str] = param(
        frozenset({"record.export", "report.export", "file.download", "print"}),
        "actions whose `records` count",
    )

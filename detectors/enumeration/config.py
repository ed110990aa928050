"""Settings of enumeration (detectors.yaml → detectors.enumeration), with their defaults."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import SlidingWindow
from detectors.tuning import param

NAME = "enumeration"


@dataclass(frozen=True)
class EnumerationConfig(SlidingWindow):
    """Thresholds for enumeration."""

    threshold_distinct: int = param(300, "distinct records touched in one window that fire")
    window_minutes: int = param(60, "sliding window length")
    bucket_minutes: int = param(5, "bucket width (the window's resolution)")
    max_tracked: int = param(
        5000, "distinct records kept per actor and bucket (the count saturates there)"
    )
    actions: frozenset[str] = param(
        frozenset({"record.view", "record.search", "record.update", "record.export", "pii.unmask"}),
        "actions whose `resource.id` counts",
    )

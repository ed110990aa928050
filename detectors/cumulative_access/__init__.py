"""cumulative_access: low and slow, an actor touches far more distinct records than peers."""

from detectors.cumulative_access.detector import NAME, CumulativeAccess, CumulativeAccessConfig

__all__ = ["NAME", "CumulativeAccess", "CumulativeAccessConfig"]

"""cumulative_access: low and slow, an actor touches far more distinct records than peers."""

from detectors.cumulative_access.config import NAME, CumulativeAccessConfig
from detectors.cumulative_access.detector import RULES, CumulativeAccess

CONFIG, DETECTOR = CumulativeAccessConfig, CumulativeAccess  # what the catalog builds

__all__ = ["CONFIG", "DETECTOR", "NAME", "RULES", "CumulativeAccess", "CumulativeAccessConfig"]

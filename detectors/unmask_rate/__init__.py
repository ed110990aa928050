"""unmask_rate: one actor reveals masked personal data far more often than allowed or usual."""

from detectors.unmask_rate.config import NAME, UnmaskRateConfig
from detectors.unmask_rate.detector import RULES, UnmaskRate

CONFIG, DETECTOR = UnmaskRateConfig, UnmaskRate  # what the catalog builds

__all__ = ["CONFIG", "DETECTOR", "NAME", "RULES", "UnmaskRate", "UnmaskRateConfig"]

"""unmask_rate: one actor reveals masked personal data far more often than allowed or usual."""

from detectors.unmask_rate.detector import NAME, UnmaskRate, UnmaskRateConfig

__all__ = ["NAME", "UnmaskRate", "UnmaskRateConfig"]

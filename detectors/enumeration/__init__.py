"""enumeration: one actor touches many distinct customer records within an hour."""

from detectors.enumeration.config import NAME, EnumerationConfig
from detectors.enumeration.detector import RULES, Enumeration

CONFIG, DETECTOR = EnumerationConfig, Enumeration  # what the catalog builds

__all__ = ["CONFIG", "DETECTOR", "NAME", "RULES", "Enumeration", "EnumerationConfig"]

"""enumeration: one actor touches many distinct customer records within an hour."""

from detectors.enumeration.detector import NAME, Enumeration, EnumerationConfig

__all__ = ["NAME", "Enumeration", "EnumerationConfig"]

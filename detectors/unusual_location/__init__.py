"""unusual_location: an actor past warm-up appears in a new country, or travels impossibly."""

from detectors.unusual_location.config import NAME, UnusualLocationConfig
from detectors.unusual_location.detector import RULES, UnusualLocation

CONFIG, DETECTOR = UnusualLocationConfig, UnusualLocation  # what the catalog builds

__all__ = ["CONFIG", "DETECTOR", "NAME", "RULES", "UnusualLocation", "UnusualLocationConfig"]

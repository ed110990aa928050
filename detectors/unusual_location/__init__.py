"""unusual_location: an actor past warm-up appears in a new country, or travels impossibly."""

from detectors.unusual_location.detector import NAME, UnusualLocation, UnusualLocationConfig

__all__ = ["NAME", "UnusualLocation", "UnusualLocationConfig"]

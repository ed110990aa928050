"""new_device: an actor past warm-up works from a device no teammate uses, and it shows."""

from detectors.new_device.config import NAME, NewDeviceConfig
from detectors.new_device.detector import RULES, NewDevice

CONFIG, DETECTOR = NewDeviceConfig, NewDevice  # what the catalog builds

__all__ = ["CONFIG", "DETECTOR", "NAME", "RULES", "NewDevice", "NewDeviceConfig"]

"""new_device: an actor past warm-up works from a device no teammate uses, and it shows."""

from detectors.new_device.detector import NAME, NewDevice, NewDeviceConfig

__all__ = ["NAME", "NewDevice", "NewDeviceConfig"]

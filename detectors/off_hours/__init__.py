"""off_hours: an actor works outside their shift, or at hours of the week they never work."""

from detectors.off_hours.detector import NAME, OffHours, OffHoursConfig

__all__ = ["NAME", "OffHours", "OffHoursConfig"]

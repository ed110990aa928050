"""off_hours: an actor works outside their shift, or at hours of the week they never work."""

from detectors.off_hours.config import NAME, OffHoursConfig
from detectors.off_hours.detector import RULES, OffHours

CONFIG, DETECTOR = OffHoursConfig, OffHours  # what the catalog builds

__all__ = ["CONFIG", "DETECTOR", "NAME", "RULES", "OffHours", "OffHoursConfig"]

"""orphan_access: an actor views or unmasks customers they are not serving."""

from detectors.orphan_access.config import NAME, OrphanAccessConfig
from detectors.orphan_access.detector import RULES, OrphanAccess

CONFIG, DETECTOR = OrphanAccessConfig, OrphanAccess  # what the catalog builds

__all__ = ["CONFIG", "DETECTOR", "NAME", "RULES", "OrphanAccess", "OrphanAccessConfig"]

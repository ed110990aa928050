"""orphan_access: an actor views or unmasks customers they are not serving."""

from detectors.orphan_access.detector import NAME, OrphanAccess, OrphanAccessConfig

__all__ = ["NAME", "OrphanAccess", "OrphanAccessConfig"]

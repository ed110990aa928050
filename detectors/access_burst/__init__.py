"""access_burst: one actor views or searches records far faster than usual, for them and their
team.
"""

from detectors.access_burst.detector import NAME, AccessBurst, AccessBurstConfig

__all__ = ["NAME", "AccessBurst", "AccessBurstConfig"]

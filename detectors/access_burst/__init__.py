"""access_burst: one actor views or searches records far faster than usual, for them and their
team.
"""

from detectors.access_burst.config import NAME, AccessBurstConfig
from detectors.access_burst.detector import RULES, AccessBurst

CONFIG, DETECTOR = AccessBurstConfig, AccessBurst  # what the catalog builds

__all__ = ["CONFIG", "DETECTOR", "NAME", "RULES", "AccessBurst", "AccessBurstConfig"]

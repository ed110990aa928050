"""auth_failures: bursts of failed logins on one account or from one address; a success after."""

from detectors.auth_failures.config import NAME, AuthFailuresConfig
from detectors.auth_failures.detector import RULES, AuthFailures

CONFIG, DETECTOR = AuthFailuresConfig, AuthFailures  # what the catalog builds

__all__ = ["CONFIG", "DETECTOR", "NAME", "RULES", "AuthFailures", "AuthFailuresConfig"]

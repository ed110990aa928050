"""auth_failures: bursts of failed logins on one account or from one address; a success after."""

from detectors.auth_failures.detector import NAME, AuthFailures, AuthFailuresConfig

__all__ = ["NAME", "AuthFailures", "AuthFailuresConfig"]

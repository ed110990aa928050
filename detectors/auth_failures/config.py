"""Settings of auth_failures (detectors.yaml → detectors.auth_failures), with their defaults."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import SlidingWindow
from detectors.tuning import param

NAME = "auth_failures"


@dataclass(frozen=True)
class AuthFailuresConfig(SlidingWindow):
    """Parameters of auth_failures: failed auth.login per actor, and per source IP."""

    threshold_failures: int = param(10, "failures in the window that fire")
    success_after_failures: int = param(
        5, "failures in the window before a successful login that make it suspicious"
    )
    window_minutes: int = param(5, "sliding window length")
    bucket_minutes: int = param(1, "bucket width (the window's resolution)")
    by_source_ip: bool = param(True, "also count failures per source IP (password spraying)")

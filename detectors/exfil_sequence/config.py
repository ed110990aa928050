"""Settings of exfil_sequence (detectors.yaml → detectors.exfil_sequence), with their
defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detectors.base import LATE_KEEP_MS, MINUTE_MS
from detectors.tuning import param

NAME = "exfil_sequence"
# Shipped besides the defaults: the allowlist's destination_domains, which this detector reads.
SHIPPED: dict[str, Any] = {"allowlist": {"destination_domains": []}}


@dataclass(frozen=True)
class ExfilSequenceConfig:
    """Settings for exfil_sequence. The allowlist's `destination_domains`: sends to these
    domains (and their subdomains) are not exits."""

    window_minutes: int = param(10, "view-to-exit window")
    min_sensitive_views: int = param(1, "sensitive views before the exit that fire")
    classifications: frozenset[str] = param(
        frozenset({"pii", "pci", "phi"}), "sensitive classifications"
    )
    view_actions: frozenset[str] = param(
        frozenset({"record.view", "pii.unmask"}), "what counts as a view"
    )
    exit_actions: frozenset[str] = param(
        frozenset({"clipboard.copy", "screen.capture"}),
        "actions that are exits (besides message.send to an external destination)",
    )
    exit_destinations: frozenset[str] = param(
        frozenset({"usb", "cloud"}), "destination kinds that are exits"
    )
    max_kept: int = param(10_000, "views and exits kept per actor (the window's)")

    @property
    def window_ms(self) -> int:
        return self.window_minutes * MINUTE_MS

    @property
    def ttl_ms(self) -> int:
        return self.window_minutes * MINUTE_MS + LATE_KEEP_MS

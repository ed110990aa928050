"""What an alert sink is: it turns alerts into HTTP request bodies; delivery posts them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from detectors.base import Finding
from monitor.alerts import Alert


class Sink(Protocol):
    """An HTTP destination for alerts. Pure: no I/O, so it is unit-testable without a server."""

    name: str
    url: str

    def bodies(
        self, alerts: Sequence[Alert], findings: Sequence[Finding], now_ms: int
    ) -> list[bytes]:
        """Request bodies to post for one processed batch (its alerts and all its findings)."""
        ...

    def due(self, now_ms: int) -> list[bytes]:
        """Request bodies owed on a periodic tick (repeats, resolutions); may be empty."""
        ...

    def headers(self, body: bytes) -> dict[str, str]:
        """Headers for one attempt to post `body` (computed per attempt, e.g. signatures)."""
        ...

"""What an alert sink is: it turns alerts into HTTP request bodies; delivery posts them.

The worker feeds a sink two ways (monitor/service/sinks/delivery.py): each alert record read from
`dlp.alerts` by the sink's own consumer group (`page`: what must survive a crash), and
each processed batch from memory (`track`: what a sink keeps in memory, such as the
alerts Alertmanager must be told again and again are still firing)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from detectors.base import Finding
from monitor.service.alerts import Alert


class Sink(Protocol):
    """An HTTP destination for alerts. Pure: no I/O, so it is unit-testable without a server."""

    name: str
    url: str

    def bodies(
        self, alerts: Sequence[Alert], findings: Sequence[Finding], now_ms: int
    ) -> list[bytes]:
        """Request bodies to post for one processed batch (its alerts and all its findings)."""
        ...

    def track(
        self, alerts: Sequence[Alert], findings: Sequence[Finding], now_ms: int
    ) -> list[bytes]:
        """Request bodies one processed batch owes besides its alerts' own pages (these
        come through `page`): e.g. repeats keeping an alert firing."""
        ...

    def page(self, record: bytes, now_ms: int) -> list[bytes]:
        """Request bodies for one alert record (its OCSF JSON) read from `dlp.alerts`."""
        ...

    def due(self, now_ms: int) -> list[bytes]:
        """Request bodies owed on a periodic tick (repeats, resolutions); may be empty."""
        ...

    def headers(self, body: bytes) -> dict[str, str]:
        """Headers for one attempt to post `body` (computed per attempt, e.g. signatures)."""
        ...

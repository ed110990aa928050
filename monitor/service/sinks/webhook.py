"""Generic webhook: each alert's OCSF JSON, signed with HMAC-SHA256.

The header `X-Blindar-Signature: t=<unix seconds>,v1=<hex>` carries the time of the
attempt and HMAC-SHA256(secret, "<t>." + body). A receiver recomputes it over the raw
body, compares in constant time and rejects stale timestamps (replays); `verify`
below does exactly that.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Sequence

import orjson

from detectors.base import Finding
from monitor.service.alerts import Alert

SIGNATURE_HEADER = "X-Blindar-Signature"
DEFAULT_TOLERANCE_S = 300


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(
    secret: bytes,
    body: bytes,
    header: str,
    now: float | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """True when `header` is a valid signature of `body` made within `tolerance_s`."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp).rpartition("v1=")[2]
    return hmac.compare_digest(expected, given)


def dedupe_key(body: bytes) -> tuple[str, int, int]:
    """What a receiver dedupes on (posts are at least once, docs/operations.md): the
    alert's uid, its type (new or update) and its count."""
    doc = orjson.loads(body)
    return doc["finding_info"]["uid"], doc["type_uid"], doc["count"]


class WebhookSink:
    """Posts every published alert (new pages and updates) as its OCSF document."""

    name = "webhook"

    def __init__(self, url: str, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        self.url = url
        self.secret = secret
        self.clock = clock

    def bodies(
        self, alerts: Sequence[Alert], findings: Sequence[Finding], now_ms: int
    ) -> list[bytes]:
        return [orjson.dumps(alert.document) for alert in alerts]

    def track(
        self, alerts: Sequence[Alert], findings: Sequence[Finding], now_ms: int
    ) -> list[bytes]:
        return []

    def page(self, record: bytes, now_ms: int) -> list[bytes]:
        """The record as it is on `dlp.alerts`: the alert's OCSF document."""
        return [record]

    def due(self, now_ms: int) -> list[bytes]:
        return []

    def headers(self, body: bytes) -> dict[str, str]:
        timestamp = int(self.clock())
        return {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.secret, body, timestamp),
        }

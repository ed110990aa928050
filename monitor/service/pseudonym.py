"""Keyed pseudonyms for personal data (customer and record ids) in alerts, logs and metrics."""

from __future__ import annotations

import hashlib
import hmac


class Pseudonymizer:
    """HMAC-SHA256 of a value under a secret key: stable per key, not reversible without it."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __call__(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
        return f"ps_{digest[:24]}"

    def uid(self, alert_uid: str) -> str:
        """The keyed form of an alert uid (`finding_info.uid` on dlp.alerts): what the ledger
        and the report carry. The unkeyed uid is a hash of (detector, tenant, actor, window),
        so anyone could test candidate actors against it; this one needs the key. A separate
        domain from the pseudonyms above, so it is never equal to one of them."""
        raw = f"alert-uid\x1f{alert_uid}".encode()
        return f"au_{hmac.new(self._key, raw, hashlib.sha256).hexdigest()[:32]}"

    def __repr__(self) -> str:
        return "Pseudonymizer(key=***)"

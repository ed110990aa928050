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

    def __repr__(self) -> str:
        return "Pseudonymizer(key=***)"

"""Alert sink settings, from environment variables (a sink is on when its URL is set).

| variable | default | meaning |
|---|---|---|
| BLINDAR_ALERTMANAGER_URL | (off) | Alertmanager base URL; alerts go to `<url>/api/v2/alerts` |
| BLINDAR_ALERTMANAGER_RESEND_SECONDS | 60 | how often active alerts are posted again |
| BLINDAR_RUNBOOK_BASE_URL | detectors | runbook link = `<base>/<detector>/runbook.md` |
| BLINDAR_WEBHOOK_URL | (off) | generic webhook receiving each alert's OCSF JSON |
| BLINDAR_WEBHOOK_SECRET or BLINDAR_WEBHOOK_SECRET_FILE | (required with a webhook) | HMAC key |
| BLINDAR_DELIVERY_QUEUE_SIZE | 1000 | alerts waiting per sink (then reading pauses) |
| BLINDAR_DELIVERY_RETRIES | 5 | retries per request after the first attempt |
| BLINDAR_DELIVERY_TIMEOUT_SECONDS | 5 | timeout of one HTTP attempt |
| BLINDAR_DELIVERY_BACKOFF_SECONDS | 0.5 | first retry delay, doubled per retry (at least 0.1 s) |
| BLINDAR_DELIVERY_BACKOFF_MAX_SECONDS | 30 | longest retry delay |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from monitor.service.retry import Backoff
from monitor.service.settings import SettingsError, secret_bytes

MIN_SECRET_BYTES = 16


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected a number, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name}: must not be negative")
    return value


def _secret() -> bytes:
    secret = secret_bytes("BLINDAR_WEBHOOK_SECRET")
    if len(secret) < MIN_SECRET_BYTES:
        raise SettingsError(
            f"BLINDAR_WEBHOOK_SECRET (or _FILE) must hold at least {MIN_SECRET_BYTES} bytes "
            "when BLINDAR_WEBHOOK_URL is set"
        )
    return secret


@dataclass(frozen=True)
class SinkSettings:
    """Which optional alert sinks are on, and how hard delivery tries."""

    alertmanager_url: str = ""
    alertmanager_resend_s: float = 60.0
    runbook_base_url: str = "detectors"  # the detector folders of the repository
    webhook_url: str = ""
    webhook_secret: bytes = field(default=b"", repr=False)
    queue_size: int = 1000
    retries: int = 5
    timeout_s: float = 5.0
    backoff_s: float = 0.5
    backoff_max_s: float = 30.0

    @classmethod
    def from_env(cls) -> SinkSettings:
        webhook_url = os.environ.get("BLINDAR_WEBHOOK_URL", "")
        return cls(
            alertmanager_url=os.environ.get("BLINDAR_ALERTMANAGER_URL", ""),
            alertmanager_resend_s=_number("BLINDAR_ALERTMANAGER_RESEND_SECONDS", 60.0) or 60.0,
            runbook_base_url=os.environ.get("BLINDAR_RUNBOOK_BASE_URL", "detectors"),
            webhook_url=webhook_url,
            webhook_secret=_secret() if webhook_url else b"",
            queue_size=max(1, int(_number("BLINDAR_DELIVERY_QUEUE_SIZE", 1000))),
            retries=int(_number("BLINDAR_DELIVERY_RETRIES", 5)),
            timeout_s=_number("BLINDAR_DELIVERY_TIMEOUT_SECONDS", 5.0) or 5.0,
            backoff_s=_number("BLINDAR_DELIVERY_BACKOFF_SECONDS", 0.5),
            backoff_max_s=_number("BLINDAR_DELIVERY_BACKOFF_MAX_SECONDS", 30.0),
        )

    @property
    def backoff(self) -> Backoff:
        """The delivery retry policy (monitor/service/retry.py)."""
        return Backoff(self.backoff_s, self.backoff_max_s, floor_s=0.1)

    @property
    def enabled(self) -> bool:
        return bool(self.alertmanager_url or self.webhook_url)

"""Process settings from environment variables, with safe local defaults."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from monitor.retry import Backoff
from monitor.security import (
    KafkaSecurity,
    RedisAuth,
    SecurityError,
    secret_bytes_from_env,
    secret_from_env,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_DIR = REPO_ROOT / "deploy" / "config"
DEV_PSEUDONYM_KEY = b"blindar-development-key-not-for-production"
# Kafka's default `message.max.bytes` (1 MiB + 12): librdkafka's default record batch
# (`batch.size` 1,000,000) and the Java client's fit. Kafka applies the limit to a whole
# record batch; the 64 KiB contract limit is the worker's to enforce (monitor/events.py).
INPUT_MAX_MESSAGE_BYTES = 1_048_588


@dataclass(frozen=True)
class RetrySettings:
    """How long the worker waits between attempts (monitor/retry.py)."""

    # a Redis outage: the call is retried forever, 50 ms doubled up to 5 s apart
    state: Backoff = field(default_factory=lambda: Backoff(first_s=0.05, max_s=5.0))
    # a failing batch (monitor/safety.py): 0.5 s doubled up to 10 s apart; held forever
    # while the state store is out, else split into single messages after `batch_attempts`
    batch: Backoff = field(default_factory=lambda: Backoff(first_s=0.5, max_s=10.0))
    batch_attempts: int = 3


RETRY = RetrySettings()


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


def _security() -> tuple[KafkaSecurity, RedisAuth, str]:
    try:
        return KafkaSecurity.from_env(), RedisAuth.from_env(), secret_from_env("BLINDAR_WEB_TOKEN")
    except SecurityError as exc:
        raise SettingsError(str(exc)) from None


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = os.environ.get(name) or default
    if value not in allowed:
        raise SettingsError(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected an integer, got {raw!r}") from None


def _assignments_file() -> Path | None:
    named = os.environ.get("BLINDAR_ASSIGNMENTS_FILE")
    if named:
        return Path(named)
    config_dir = Path(_env("BLINDAR_CONFIG_DIR", str(DEFAULT_CONFIG_DIR)))
    found = [config_dir / f"assignments.{ext}" for ext in ("yaml", "csv")]
    return next((path for path in found if path.is_file()), None)


def _tenants_file() -> Path | None:
    """BLINDAR_TENANTS_FILE (set but empty: no registry), else tenants.yaml in the config
    directory if present (monitor/tenants.py)."""
    named = os.environ.get("BLINDAR_TENANTS_FILE")
    if named is not None:
        return Path(named) if named else None
    path = Path(_env("BLINDAR_CONFIG_DIR", str(DEFAULT_CONFIG_DIR))) / "tenants.yaml"
    return path if path.is_file() else None


def _input_limit() -> int:
    limit = _int_env("BLINDAR_INPUT_MAX_MESSAGE_BYTES", INPUT_MAX_MESSAGE_BYTES)
    if limit < INPUT_MAX_MESSAGE_BYTES:
        raise SettingsError(
            f"BLINDAR_INPUT_MAX_MESSAGE_BYTES: at least {INPUT_MAX_MESSAGE_BYTES} (Kafka's "
            f"default; below it default producers' batches are refused), got {limit}"
        )
    return limit


def _positive_env(name: str, default: int) -> int:
    value = _int_env(name, default)
    if value <= 0:
        raise SettingsError(f"{name}: must be a positive integer, got {value}")
    return value


def secret_bytes(name: str) -> bytes:
    """NAME or the content of NAME_FILE, as bytes (HMAC keys); errors as SettingsError."""
    try:
        return secret_bytes_from_env(name)
    except SecurityError as exc:
        raise SettingsError(str(exc)) from None


def _pseudonym_key(production: bool) -> bytes:
    """The HMAC key for pseudonyms: BLINDAR_PSEUDONYM_KEY or the file in ..._KEY_FILE."""
    key = secret_bytes("BLINDAR_PSEUDONYM_KEY")
    if key:
        if len(key) < 16:
            raise SettingsError("BLINDAR_PSEUDONYM_KEY: must be at least 16 bytes")
        return key
    if production:
        raise SettingsError(
            "BLINDAR_PSEUDONYM_KEY or BLINDAR_PSEUDONYM_KEY_FILE must be set in production mode"
        )
    return DEV_PSEUDONYM_KEY


def is_loopback(host: str) -> bool:
    """Whether a bind address reaches this host only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name or "" (every interface)
        return False


@dataclass(frozen=True)
class Settings:
    """Where blindar connects and how it names things; read once at start-up."""

    kafka_bootstrap: str = "127.0.0.1:9092"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: str = "auto"  # auto (ask the server), yes, no
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    namespace: str = ""
    config_dir: Path = DEFAULT_CONFIG_DIR
    production: bool = False
    pseudonym_key: bytes = field(default=DEV_PSEUDONYM_KEY, repr=False)
    group_id: str = "blindar"
    redis_key_prefix: str | None = None
    batch_size: int = 2000
    batch_within_s: float = 0.25
    kafka_security: KafkaSecurity = field(default_factory=KafkaSecurity)
    redis_auth: RedisAuth = field(default_factory=RedisAuth)
    session_timeout_s: float = 60.0
    # Bearer token required by /metrics and /health when set (BLINDAR_WEB_TOKEN[_FILE]).
    web_token: str = field(default="", repr=False)
    # `max.message.bytes` of the input topics (BLINDAR_INPUT_MAX_MESSAGE_BYTES): at least
    # Kafka's default, so that default producers' record batches fit; raised on existing
    # topics below it, never lowered (monitor/topics.py).
    input_max_message_bytes: int = INPUT_MAX_MESSAGE_BYTES
    # Trusted actor assignments (BLINDAR_ASSIGNMENTS_FILE, else assignments.yaml or .csv in
    # the config directory if present; monitor/assignments.py).
    assignments_file: Path | None = None
    # The registered tenants (BLINDAR_TENANTS_FILE, else tenants.yaml in the config directory
    # if present; None: not configured, every tenant accepted; monitor/tenants.py).
    tenants_file: Path | None = None
    # The assurance ledger (monitor/ledger.py): days kept after each day ends, and alerts
    # itemized per tenant and day (more are counted, not listed).
    ledger_retention_days: int = 400
    ledger_max_alerts: int = 2000
    ledger_max_tenants: int = (
        1000  # tenants one worker's ledger counts (BLINDAR_LEDGER_MAX_TENANTS)
    )

    @classmethod
    def from_env(cls) -> Settings:
        production = _env("BLINDAR_ENV", "development") == "production"
        namespace = _env("BLINDAR_NAMESPACE", "")
        kafka_security, redis_auth, web_token = _security()
        return cls(
            kafka_bootstrap=_env("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
            redis_url=_env("REDIS_URL", "redis://127.0.0.1:6379/0"),
            redis_cluster=_choice("BLINDAR_REDIS_CLUSTER", "auto", ("auto", "yes", "no")),
            web_host=_env("BLINDAR_WEB_HOST", "127.0.0.1"),
            web_port=_int_env("BLINDAR_WEB_PORT", 6066),
            namespace=namespace,
            config_dir=Path(_env("BLINDAR_CONFIG_DIR", str(DEFAULT_CONFIG_DIR))),
            production=production,
            pseudonym_key=_pseudonym_key(production),
            group_id=_env("BLINDAR_GROUP_ID", f"{namespace}blindar"),
            redis_key_prefix=os.environ.get("BLINDAR_REDIS_PREFIX"),
            batch_size=_int_env("BLINDAR_BATCH_SIZE", 2000),
            batch_within_s=_int_env("BLINDAR_BATCH_WITHIN_MS", 250) / 1000,
            kafka_security=kafka_security,
            redis_auth=redis_auth,
            session_timeout_s=_int_env("BLINDAR_KAFKA_SESSION_TIMEOUT_MS", 60_000) / 1000,
            web_token=web_token,
            input_max_message_bytes=_input_limit(),
            assignments_file=_assignments_file(),
            tenants_file=_tenants_file(),
            ledger_retention_days=_positive_env("BLINDAR_LEDGER_RETENTION_DAYS", 400),
            ledger_max_alerts=_positive_env("BLINDAR_LEDGER_MAX_ALERTS", 2000),
            ledger_max_tenants=_positive_env("BLINDAR_LEDGER_MAX_TENANTS", 1000),
        )

    def check_web_guard(self) -> None:
        """A production worker whose pages are reachable from other hosts must require the
        bearer token; raises SettingsError otherwise (the worker refuses to start)."""
        if self.production and not self.web_token and not is_loopback(self.web_host):
            raise SettingsError(
                f"BLINDAR_WEB_HOST={self.web_host!r} serves /metrics and /health beyond this "
                "host: production mode requires BLINDAR_WEB_TOKEN or BLINDAR_WEB_TOKEN_FILE "
                "(or BLINDAR_WEB_HOST=127.0.0.1)"
            )

    def topic(self, name: str) -> str:
        """A topic name in this deployment's namespace (empty namespace: unchanged)."""
        return f"{self.namespace}{name}"

    @property
    def alerts_topic(self) -> str:
        return self.topic("dlp.alerts")

    @property
    def deadletter_topic(self) -> str:
        return self.topic("dlp.deadletter")

    @property
    def redis_prefix(self) -> str:
        """Prefix of every Redis key: BLINDAR_REDIS_PREFIX, else the namespace."""
        return self.namespace if self.redis_key_prefix is None else self.redis_key_prefix

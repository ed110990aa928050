"""Process settings from environment variables, with safe local defaults.

`Environment` (pydantic) reads and validates the variables by name: an invalid one is
named in the SettingsError with what it must be. `Settings` (a plain frozen dataclass,
read at start-up) holds each default once; a variable that is unset keeps it."""

from __future__ import annotations

import ipaddress
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError

from monitor.service.retry import Backoff
from monitor.service.security import (
    KafkaSecurity,
    RedisAuth,
    SecurityError,
    secret_bytes_from_env,
    secret_from_env,
)
from monitor.service.validation import fail, reason

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_DIR = REPO_ROOT / "deploy" / "config"
DEV_PSEUDONYM_KEY = b"blindar-development-key-not-for-production"
DEV_CANARY_KEY = b"blindar-development-canary-key-not-for-production"
# Kafka's default `message.max.bytes` (1 MiB + 12): librdkafka's default record batch
# (`batch.size` 1,000,000) and the Java client's fit. Kafka applies the limit to a whole
# record batch; the 64 KiB contract limit is the worker's to enforce (monitor/service/events.py).
INPUT_MAX_MESSAGE_BYTES = 1_048_588


@dataclass(frozen=True)
class RetrySettings:
    """How long the worker waits between attempts (monitor/service/retry.py)."""

    # a Redis outage: the call is retried forever, 50 ms doubled up to 5 s apart
    state: Backoff = field(default_factory=lambda: Backoff(first_s=0.05, max_s=5.0))
    # a failing batch (monitor/service/safety.py): 0.5 s doubled up to 10 s apart; held forever
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


def _files(config_dir: Path, env: Environment) -> tuple[Path | None, Path | None]:
    """(assignments file, tenants file): named by their variable (BLINDAR_TENANTS_FILE set
    but empty: no registry), else assignments.yaml/.csv and tenants.yaml in the config
    directory if present (monitor/service/assignments.py, monitor/service/tenants.py)."""
    found = [config_dir / f"assignments.{ext}" for ext in ("yaml", "csv")]
    assignments = env.assignments_file or next((p for p in found if p.is_file()), None)
    if env.tenants_file is not None:
        tenants = Path(env.tenants_file) if env.tenants_file else None
    else:
        path = config_dir / "tenants.yaml"
        tenants = path if path.is_file() else None
    return (Path(assignments) if assignments else None), tenants


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


def _canary_key(production: bool) -> bytes:
    """The HMAC key canaries are signed with: BLINDAR_CANARY_KEY or the file in
    ..._KEY_FILE; in production without one, no event verifies as a canary (every claim is
    judged as a forgery) and `blindar canary` refuses to run."""
    key = secret_bytes("BLINDAR_CANARY_KEY")
    if key:
        if len(key) < 16:
            raise SettingsError("BLINDAR_CANARY_KEY: must be at least 16 bytes")
        return key
    return b"" if production else DEV_CANARY_KEY


def is_loopback(host: str) -> bool:
    """Whether a bind address reaches this host only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name or "" (every interface)
        return False


def _integer(value: Any) -> int | None:
    if value == "":
        return None  # set but empty: the default
    try:
        return int(value)
    except ValueError:
        fail(f"expected an integer, got {value!r}")


def _positive(value: Any) -> int | None:
    number = _integer(value)
    if number is not None and number <= 0:
        fail(f"must be a positive integer, got {number}")
    return number


def _input_limit(value: Any) -> int | None:
    limit = _integer(value)
    if limit is not None and limit < INPUT_MAX_MESSAGE_BYTES:
        fail(
            f"at least {INPUT_MAX_MESSAGE_BYTES} (Kafka's default; below it default producers' "
            f"batches are refused), got {limit}"
        )
    return limit


def _cluster(value: Any) -> str | None:
    if value == "":
        return None
    if value not in CLUSTER_MODES:
        fail(f"expected one of {', '.join(CLUSTER_MODES)}, got {value!r}")
    return str(value)


CLUSTER_MODES = ("auto", "yes", "no")
Integer = Annotated[int | None, PlainValidator(_integer)]
Positive = Annotated[int | None, PlainValidator(_positive)]


class Environment(BaseModel):
    """The environment variables blindar reads (by name). Unset ones are None: the setting
    keeps its default, written once, in `Settings`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kafka_bootstrap: str | None = Field(None, alias="KAFKA_BOOTSTRAP")
    redis_url: str | None = Field(None, alias="REDIS_URL")
    redis_cluster: Annotated[str | None, PlainValidator(_cluster)] = Field(
        None, alias="BLINDAR_REDIS_CLUSTER"
    )
    web_host: str | None = Field(None, alias="BLINDAR_WEB_HOST")
    web_port: Integer = Field(None, alias="BLINDAR_WEB_PORT")
    namespace: str | None = Field(None, alias="BLINDAR_NAMESPACE")
    config_dir: str | None = Field(None, alias="BLINDAR_CONFIG_DIR")
    mode: str | None = Field(None, alias="BLINDAR_ENV")  # production, else development
    group_id: str | None = Field(None, alias="BLINDAR_GROUP_ID")  # default: <namespace>blindar
    redis_key_prefix: str | None = Field(None, alias="BLINDAR_REDIS_PREFIX")
    batch_size: Integer = Field(None, alias="BLINDAR_BATCH_SIZE")
    batch_within_ms: Integer = Field(None, alias="BLINDAR_BATCH_WITHIN_MS")
    session_timeout_ms: Integer = Field(None, alias="BLINDAR_KAFKA_SESSION_TIMEOUT_MS")
    input_max_message_bytes: Annotated[int | None, PlainValidator(_input_limit)] = Field(
        None, alias="BLINDAR_INPUT_MAX_MESSAGE_BYTES"
    )
    assignments_file: str | None = Field(None, alias="BLINDAR_ASSIGNMENTS_FILE")
    tenants_file: str | None = Field(None, alias="BLINDAR_TENANTS_FILE")
    ledger_retention_days: Positive = Field(None, alias="BLINDAR_LEDGER_RETENTION_DAYS")
    ledger_max_alerts: Positive = Field(None, alias="BLINDAR_LEDGER_MAX_ALERTS")
    ledger_max_tenants: Positive = Field(None, alias="BLINDAR_LEDGER_MAX_TENANTS")

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> Environment:
        """The variables from `environ`; every invalid one is named in the SettingsError."""
        try:
            return cls.model_validate(dict(environ))
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            raise SettingsError("\n".join(f"{e['loc'][0]}: {reason(e)}" for e in errors)) from None

    def given(self, *names: str) -> dict[str, Any]:
        """Those of `names` that are set (the others keep their defaults)."""
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


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
    canary_key: bytes = field(default=DEV_CANARY_KEY, repr=False)
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
    # topics below it, never lowered (monitor/tools/topics.py).
    input_max_message_bytes: int = INPUT_MAX_MESSAGE_BYTES
    # Trusted actor assignments (BLINDAR_ASSIGNMENTS_FILE, else assignments.yaml or .csv in
    # the config directory if present; monitor/service/assignments.py).
    assignments_file: Path | None = None
    # The registered tenants (BLINDAR_TENANTS_FILE, else tenants.yaml in the config directory
    # if present; None: not configured, every tenant accepted; monitor/service/tenants.py).
    tenants_file: Path | None = None
    # The assurance ledger (monitor/service/ledger.py): days kept after each day ends, and alerts
    # itemized per tenant and day (more are counted, not listed).
    ledger_retention_days: int = 400
    ledger_max_alerts: int = 2000
    ledger_max_tenants: int = (
        1000  # tenants one worker's ledger counts (BLINDAR_LEDGER_MAX_TENANTS)
    )

    @property
    def faust_datadir(self) -> Path:
        """Faust's data directory. blindar keeps no Faust table, so nothing lasting goes
        there: it lives under the system's temporary directory, never the working one."""
        return Path(tempfile.gettempdir()) / f"blindar-faust-{self.group_id}"

    @classmethod
    def from_env(cls) -> Settings:
        env = Environment.read(os.environ)
        production = env.mode == "production"
        namespace = env.namespace or ""
        config_dir = Path(env.config_dir) if env.config_dir is not None else DEFAULT_CONFIG_DIR
        kafka_security, redis_auth, web_token = _security()
        assignments_file, tenants_file = _files(config_dir, env)
        timing = {
            name: ms / 1000
            for name, ms in (
                ("batch_within_s", env.batch_within_ms),
                ("session_timeout_s", env.session_timeout_ms),
            )
            if ms is not None
        }
        return cls(
            namespace=namespace,
            config_dir=config_dir,
            production=production,
            pseudonym_key=_pseudonym_key(production),
            canary_key=_canary_key(production),
            group_id=env.group_id if env.group_id is not None else f"{namespace}{cls.group_id}",
            kafka_security=kafka_security,
            redis_auth=redis_auth,
            web_token=web_token,
            assignments_file=assignments_file,
            tenants_file=tenants_file,
            **timing,
            **env.given(
                "kafka_bootstrap",
                "redis_url",
                "redis_cluster",
                "web_host",
                "web_port",
                "redis_key_prefix",
                "batch_size",
                "input_max_message_bytes",
                "ledger_retention_days",
                "ledger_max_alerts",
                "ledger_max_tenants",
            ),
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

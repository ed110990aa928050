"""Transport security for Kafka and Redis, from one set of environment variables.

Kafka: the same settings give the confluent-kafka (librdkafka) config of the admin,
producer and tools, and the faust/aiokafka credentials of the worker's consumer.
Redis: a password (and ACL user) kept out of the URL, and a CA file for `rediss://`.
Secrets never appear in a repr, a log line or an error message.
"""

from __future__ import annotations

import os
import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class SecurityError(ValueError):
    """A security setting is missing or invalid; the message names the variable."""


def secret_bytes_from_env(name: str) -> bytes:
    """NAME, or the content of the file NAME_FILE (surrounding whitespace dropped); b"" if
    neither."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_bytes().strip()
        except OSError as exc:
            raise SecurityError(f"{name}_FILE: cannot read: {exc.strerror}") from None
    return os.environ.get(name, "").encode()


def secret_from_env(name: str) -> str:
    """secret_bytes_from_env as text (passwords, tokens)."""
    try:
        return secret_bytes_from_env(name).decode()
    except UnicodeDecodeError:
        raise SecurityError(f"{name}: not UTF-8 text") from None


def _readable(name: str) -> str | None:
    path = os.environ.get(name) or None
    if path is not None and not Path(path).is_file():
        raise SecurityError(f"{name}: no such file: {path}")
    return path


@dataclass(frozen=True)
class KafkaSecurity:
    """How clients authenticate to Kafka and verify it (KAFKA_SECURITY_PROTOCOL etc.)."""

    protocol: str = "PLAINTEXT"
    mechanism: str = "SCRAM-SHA-512"
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    check_hostname: bool = True

    @classmethod
    def from_env(cls) -> KafkaSecurity:
        protocol = os.environ.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper()
        if protocol not in PROTOCOLS:
            raise SecurityError(
                f"KAFKA_SECURITY_PROTOCOL: must be one of {', '.join(PROTOCOLS)}, got {protocol!r}"
            )
        mechanism = os.environ.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512").upper()
        if mechanism not in MECHANISMS:
            raise SecurityError(
                f"KAFKA_SASL_MECHANISM: must be one of {', '.join(MECHANISMS)}, got {mechanism!r}"
            )
        security = cls(
            protocol=protocol,
            mechanism=mechanism,
            username=os.environ.get("KAFKA_SASL_USERNAME", ""),
            password=secret_from_env("KAFKA_SASL_PASSWORD"),
            ca_file=_readable("KAFKA_SSL_CAFILE"),
            cert_file=_readable("KAFKA_SSL_CERTFILE"),
            key_file=_readable("KAFKA_SSL_KEYFILE"),
            check_hostname=os.environ.get("KAFKA_SSL_CHECK_HOSTNAME", "true").lower() != "false",
        )
        if security.sasl and not (security.username and security.password):
            raise SecurityError(
                f"KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or _FILE) are required "
                f"with KAFKA_SECURITY_PROTOCOL={protocol}"
            )
        return security

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    def librdkafka(self) -> dict[str, Any]:
        """confluent-kafka settings (empty for PLAINTEXT)."""
        config: dict[str, Any] = {}
        if self.protocol == "PLAINTEXT":
            return config
        config["security.protocol"] = self.protocol.lower()
        if self.sasl:
            config.update(
                {
                    "sasl.mechanism": self.mechanism,
                    "sasl.username": self.username,
                    "sasl.password": self.password,
                }
            )
        if self.tls:
            if self.ca_file:
                config["ssl.ca.location"] = self.ca_file
            if self.cert_file:
                config["ssl.certificate.location"] = self.cert_file
            if self.key_file:
                config["ssl.key.location"] = self.key_file
            config["ssl.endpoint.identification.algorithm"] = (
                "https" if self.check_hostname else "none"
            )
        return config

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=self.ca_file)
        context.check_hostname = self.check_hostname
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def faust_options(self) -> dict[str, Any]:
        """`faust.App` keyword arguments (broker_credentials) for the aiokafka driver."""
        import faust

        context = self.ssl_context()
        if self.sasl:
            credentials = faust.SASLCredentials(
                username=self.username,
                password=self.password,
                ssl_context=context,
                mechanism=self.mechanism,
            )
            return {"broker_credentials": credentials}
        if context is not None:
            return {"broker_credentials": faust.SSLCredentials(context)}
        return {}


@dataclass(frozen=True)
class RedisAuth:
    """Redis credentials and TLS trust kept outside REDIS_URL (REDIS_USERNAME, REDIS_PASSWORD…)."""

    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str | None = None

    @classmethod
    def from_env(cls) -> RedisAuth:
        return cls(
            username=os.environ.get("REDIS_USERNAME", ""),
            password=secret_from_env("REDIS_PASSWORD"),
            ca_file=_readable("REDIS_TLS_CA_FILE"),
        )

    def client_options(self, url: str) -> dict[str, Any]:
        """redis-py keyword arguments for `url` (they override credentials in the URL)."""
        options: dict[str, Any] = {}
        if self.username:
            options["username"] = self.username
        if self.password:
            options["password"] = self.password
        if self.ca_file and url.startswith("rediss://"):
            options["ssl_ca_certs"] = self.ca_file
        return options


# Query parameters that carry a credential (matched as a part of the lowercased name).
SECRET_PARAM = re.compile(
    r"pass|pwd|token|secret|key|auth|credential|signature|sig$|session|cookie|jwt|bearer"
)
MASK = "***"


def redact_url(url: str) -> str:
    """`url` for logs: the password or bare token of its userinfo, and the value of every
    credential-like query parameter (`password=`, `token=`, `api_key=`…), masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK  # unparseable: say nothing of it
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        # "user:password@" keeps the user; a bare "token@" may be a secret: all masked.
        netloc = f"{user}:{MASK}@{host}" if colon and user else f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, MASK if SECRET_PARAM.search(k.lower()) else v) for k, v in pairs], safe="*"
        )
    fragment = MASK if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))

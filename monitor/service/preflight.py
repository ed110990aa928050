"""Checks before the worker starts: wrong credentials are a configuration error, not an outage.

A Kafka or Redis that does not answer yet is waited for by the worker itself (it retries);
one that answers and refuses our credentials or certificate never will, so the worker
stops at once with a message naming the setting to fix (and never the secret).
"""

from __future__ import annotations

import contextlib

import redis
from confluent_kafka import KafkaError
from confluent_kafka.admin import AdminClient

from monitor.service.kafka_io import client_config
from monitor.service.security import redact_url
from monitor.service.settings import Settings, SettingsError

FATAL_KAFKA = {
    KafkaError._AUTHENTICATION: "SASL authentication failed: check KAFKA_SASL_USERNAME, "
    "KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM",
    KafkaError._SSL: "TLS handshake failed: check KAFKA_SSL_CAFILE and the broker certificate",
}


def check_kafka(settings: Settings, timeout_s: float = 10) -> None:
    errors: list[KafkaError] = []
    admin = AdminClient(
        client_config(settings, error_cb=errors.append, log_level=0, **{"socket.timeout.ms": 5000})
    )
    # Unreachable brokers are waited for by the worker; only refused credentials are fatal.
    with contextlib.suppress(Exception):
        admin.list_topics(timeout=timeout_s)
    admin.poll(1)  # error callbacks are served here
    for error in errors:
        reason = FATAL_KAFKA.get(error.code())
        if reason:
            raise SettingsError(f"Kafka at {settings.kafka_bootstrap}: {reason}")


def check_redis(settings: Settings) -> None:
    options = settings.redis_auth.client_options(settings.redis_url)
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5, **options)
    where = redact_url(settings.redis_url)
    try:
        client.ping()
    except redis.AuthenticationError:
        raise SettingsError(
            f"Redis at {where}: authentication failed: check REDIS_USERNAME and REDIS_PASSWORD"
        ) from None
    except redis.ResponseError as exc:
        if "NOPERM" in str(exc) or "NOAUTH" in str(exc):
            raise SettingsError(f"Redis at {where}: {str(exc).split(' ', 1)[0]}") from None
    except (redis.ConnectionError, OSError) as exc:
        if "SSL" in type(exc).__name__ or "certificate" in str(exc).lower():
            raise SettingsError(
                f"Redis at {where}: TLS handshake failed: check REDIS_TLS_CA_FILE"
            ) from None
    finally:
        client.close()


def preflight(settings: Settings) -> None:
    check_kafka(settings)
    check_redis(settings)

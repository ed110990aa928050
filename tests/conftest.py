"""Shared fixtures. Service-backed tests use the real local Kafka and Redis that
`make test` starts; if they are not answering, those tests fail with a clear message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from confluent_kafka.admin import AdminClient

from monitor.kafka_io import client_config
from monitor.settings import Settings
from tests.harness import (
    WorkerProcess,
    drop_namespace,
    isolated_settings,
    provision,
    running_worker,
)


@pytest.fixture(scope="session")
def services() -> Settings:
    base = Settings.from_env()
    try:
        AdminClient(client_config(base)).list_topics(timeout=10)
        redis.Redis.from_url(base.redis_url, socket_connect_timeout=3).ping()
    except Exception as exc:  # pragma: no cover - environment problem, reported plainly
        pytest.fail(f"Kafka/Redis not reachable ({exc}); run `make up` or `make test`")
    return base


@pytest.fixture
def settings(services: Settings) -> Iterator[Settings]:
    """Settings in a fresh namespace with its topics created; Redis keys dropped after."""
    isolated = isolated_settings()
    provision(isolated)
    yield isolated
    drop_namespace(isolated)


@pytest.fixture
def worker(settings: Settings, tmp_path: Path) -> Iterator[WorkerProcess]:
    with running_worker(settings, tmp_path / "worker.log") as proc:
        yield proc

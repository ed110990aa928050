"""Fixtures for fault tests: a private Kafka and Redis per test module (faults stop, kill
and wipe them; the shared servers are never touched), and a fresh namespace per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.service.settings import Settings
from tests.faults.servers import KafkaServer, RedisServer
from tests.harness import drop_namespace, isolated_settings, provision


@pytest.fixture(scope="module")
def private_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaServer]:
    server = KafkaServer(tmp_path_factory.mktemp("kafka")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def private(private_kafka: KafkaServer, private_redis: RedisServer) -> Iterator[Settings]:
    """Settings in a fresh namespace on the private servers, topics created."""
    if private_kafka.proc is None or private_kafka.proc.poll() is not None:
        private_kafka.start()
    if private_redis.proc is None or private_redis.proc.poll() is not None:
        private_redis.start()
    settings = isolated_settings(
        kafka_bootstrap=private_kafka.bootstrap, redis_url=private_redis.url
    )
    provision(settings)
    yield settings
    drop_namespace(settings)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return tmp_path

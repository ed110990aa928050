"""Shared fixtures. Service-backed tests use the real local Kafka and Redis that
`make test` starts; if they are not answering, those tests fail with a clear message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from confluent_kafka.admin import AdminClient

from monitor.service.kafka_io import client_config
from monitor.service.settings import Settings
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
def worker(
    settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[WorkerProcess]:
    with running_worker(settings, tmp_path / "worker.log") as proc:
        yield proc
    print_logs_if_failed(request, [proc])


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    """Keep each phase's report on the item, so a fixture can tell the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def started(request: pytest.FixtureRequest) -> Iterator[list[WorkerProcess]]:
    """Workers a test starts itself (several, or with an environment of its own): each is
    stopped after the test, and its log's tail printed if the test failed."""
    procs: list[WorkerProcess] = []
    yield procs
    for proc in procs:
        proc.stop()
    print_logs_if_failed(request, procs)


def print_logs_if_failed(request: pytest.FixtureRequest, procs: list[WorkerProcess]) -> None:
    """Print the tail of each worker's log when the test failed (shown in its report)."""
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for proc in procs:
            print(f"--- {proc.log_path} (last 80 lines)\n{proc.log_tail(80)}")

"""Test harness for the real local Kafka and Redis: isolated namespaces, a worker
subprocess, producing and consuming helpers. Every wait is a wait-for-condition."""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import redis
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from monitor.service.health import Health
from monitor.service.kafka_io import client_config, producer_config
from monitor.service.settings import REPO_ROOT, Settings
from monitor.service.state import RedisStore
from monitor.tools.topics import create_topics


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    check: Callable[[], Any], timeout: float = 60, interval: float = 0.1, what: str = "condition"
) -> Any:
    """Poll `check` until it returns a truthy value; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def xdist_worker() -> str:
    """The pytest-xdist worker running this test ("gw0", "gw1", ...; "" without xdist)."""
    return os.environ.get("PYTEST_XDIST_WORKER", "")


def isolated_settings(**overrides: Any) -> Settings:
    """Settings with a fresh namespace (topics, Redis keys, consumer group) and a free web
    port. The namespace names the xdist worker too, so parallel runs over the shared Kafka
    and Redis never meet, and a leftover topic or key tells which worker made it."""
    namespace = f"t{xdist_worker()}{uuid.uuid4().hex[:10]}."
    base = Settings.from_env()
    return replace(
        base, namespace=namespace, group_id=f"{namespace}blindar", web_port=free_port(), **overrides
    )


def worker_env(settings: Settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "REDIS_URL": settings.redis_url,
            "BLINDAR_NAMESPACE": settings.namespace,
            "BLINDAR_GROUP_ID": settings.group_id,
            "BLINDAR_WEB_PORT": str(settings.web_port),
            "BLINDAR_CONFIG_DIR": str(settings.config_dir),
            # Tests name tenants of their own ("acme", ...): no tenant registry unless a
            # test names one (tests/e2e/test_bad_input.py checks the shipped behaviour).
            "BLINDAR_TENANTS_FILE": "",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


class WorkerUnreachable(AssertionError):
    """The worker's web server did not answer (not started, crashed or hung)."""


class WorkerProcess:
    """`blindar worker` as a real subprocess; its output goes to a log file."""

    def __init__(self, settings: Settings, log_path: Path, extra_env: dict[str, str] | None = None):
        self.settings = settings
        self.log_path = log_path
        self.extra_env = extra_env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "worker"],
            cwd=REPO_ROOT,
            env=worker_env(self.settings, self.extra_env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.settings.web_port}{path}"

    def get(self, path: str, token: str | None = None) -> tuple[int, bytes]:
        """Status and body of a page; a worker that does not answer fails the test
        (WorkerUnreachable), it never reads as an empty page."""
        import urllib.error
        import urllib.request

        request = urllib.request.Request(self.url(path))
        token = (self.extra_env or {}).get("BLINDAR_WEB_TOKEN") if token is None else token
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except OSError as exc:
            raise WorkerUnreachable(f"{path}: {exc}\n{self.log_tail()}") from exc

    def health(self) -> dict[str, Any]:
        """The /health report (the process answers: 200 with ?probe=live)."""
        status, body = self.get("/health?probe=live")
        assert status == 200, f"/health?probe=live answered {status}: {body[:200]!r}"
        return orjson.loads(body)

    def wait_ready(self, timeout: float = 90) -> None:
        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.log_tail()}")
            try:
                return self.health().get("assigned_partitions", 0) > 0
            except WorkerUnreachable:  # still starting
                return False

        wait_until(ready, timeout, 0.2, "worker to be assigned partitions")

    def metric(self, name: str, **labels: str) -> float:
        """Sum of a metric's samples whose labels include `labels` (0 if the worker exports
        none: a worker that does not answer, or answers an error, fails the test)."""
        status, body = self.get("/metrics")
        assert status == 200, f"/metrics answered {status}: {body[:200]!r}"
        total = 0.0
        for line in body.decode().splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.killpg(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(10)


class Deliveries:
    """Delivery reports of a test producer: a message Kafka refused fails the test."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def __call__(self, err: Any, _msg: Any) -> None:
        if err is not None:
            self.errors.append(err.name())

    def check(self, producer: Producer, timeout: float = 30) -> None:
        assert producer.flush(timeout) == 0, "produce did not complete"
        assert not self.errors, f"Kafka refused {len(self.errors)} messages: {self.errors[:3]}"


@contextmanager
def running_worker(
    settings: Settings, log_path: Path, extra_env: dict[str, str] | None = None
) -> Iterator[WorkerProcess]:
    """A started worker, ready (assigned partitions), stopped on exit."""
    worker = WorkerProcess(settings, log_path, extra_env).start()
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


@contextmanager
def worker_in_namespace(
    log_path: Path, **overrides: Any
) -> Iterator[tuple[Settings, WorkerProcess]]:
    """A fresh namespace (settings `overrides`, topics created) and a ready worker in it;
    both go away on exit."""
    settings = isolated_settings(**overrides)
    provision(settings)
    try:
        with running_worker(settings, log_path) as worker:
            yield settings, worker
    finally:
        drop_namespace(settings)


def produce(
    settings: Settings,
    channel: str,
    events: Iterable[dict[str, Any] | bytes],
    key: bytes | None = None,
) -> int:
    """Produce events (dicts are JSON-encoded, bytes sent as is) to a channel's topic."""
    producer = Producer(producer_config(settings, **{"linger.ms": 5}))
    deliveries = Deliveries()
    topic = settings.topic(f"interactions.{channel}")
    count = 0
    for event in events:
        if isinstance(event, dict):
            value = orjson.dumps(event)
            msg_key = key or event.get("actor", {}).get("id", "").encode()
        else:
            value, msg_key = event, key
        producer.produce(topic, value, msg_key, on_delivery=deliveries)
        producer.poll(0)
        count += 1
    deliveries.check(producer)
    return count


def send_keyed(
    producer: Producer, topic: str, event: dict[str, Any], deliveries: Deliveries
) -> None:
    """One contract event to `topic`, keyed by its actor; waits while the local queue is
    full (a burst larger than the producer's buffer)."""
    value, key = orjson.dumps(event), event["actor"]["id"].encode()
    while True:
        try:
            producer.produce(topic, value, key, on_delivery=deliveries)
            break
        except BufferError:
            producer.poll(0.1)
    producer.poll(0)


def produce_events(settings: Settings, events: Iterable[dict[str, Any]]) -> int:
    """Produce contract events in the given order, each to its channel's topic, keyed by actor."""
    producer = Producer(producer_config(settings, **{"linger.ms": 5}))
    deliveries = Deliveries()
    count = 0
    for event in events:
        send_keyed(producer, settings.topic(f"interactions.{event['channel']}"), event, deliveries)
        count += 1
    deliveries.check(producer)
    return count


def blindar(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a `blindar` command against the settings' deployment; its output as text."""
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args],
        cwd=REPO_ROOT,
        env=worker_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


class TopicReader:
    """Reads a whole topic from the beginning, accumulating everything seen so far."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.consumer = Consumer(
            client_config(
                settings,
                **{
                    "group.id": f"reader-{uuid.uuid4().hex[:8]}",
                    "auto.offset.reset": "earliest",
                    "enable.auto.commit": False,
                },
            )
        )
        # A topic created a moment ago may not be in the broker's metadata yet: assigning
        # its (empty) partition list then would read nothing, ever.
        meta = wait_until(lambda: self._partitions(topic), 30, 0.2, f"metadata of {topic}")
        # Explicit beginning: no committed-offset lookup, which a fresh broker can stall.
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta])
        self.messages: list[Any] = []

    def _partitions(self, topic: str) -> list[int]:
        meta = self.consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None:
            return []
        return sorted(meta.partitions)

    def poll(self, seconds: float = 0.5) -> list[Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            msgs = self.consumer.consume(500, 0.1)
            self.messages.extend(m for m in msgs if not m.error())
        return self.messages

    def values(self) -> list[dict[str, Any]]:
        return [orjson.loads(m.value()) for m in self.messages]

    def wait_for(
        self, count: int, timeout: float = 60, settle: float = 0.0
    ) -> list[dict[str, Any]]:
        """Wait until at least `count` messages arrived; then keep reading `settle` s more."""
        wait_until(
            lambda: len(self.poll(0.3)) >= count,
            timeout,
            what=f"{count} messages (have {len(self.messages)})",
        )
        if settle:
            self.poll(settle)
        return self.values()

    def close(self) -> None:
        self.consumer.close()


def provision(settings: Settings) -> None:
    create_topics(settings)


@functools.lru_cache(maxsize=8)
def is_cluster(url: str) -> bool:
    """Whether REDIS_URL names a node of a Redis Cluster (the tests run on both)."""
    info = redis.Redis.from_url(url, socket_connect_timeout=3).info("cluster")
    return bool(info.get("cluster_enabled"))


def redis_client(settings: Settings) -> redis.Redis:
    """A synchronous client for the tests' own reads: cluster-aware on a Redis Cluster."""
    if is_cluster(settings.redis_url):
        return redis.RedisCluster.from_url(settings.redis_url)  # type: ignore[return-value]
    return redis.Redis.from_url(settings.redis_url)


async def open_store(settings: Settings, marker: str | None = None) -> RedisStore:
    """The worker's store on REDIS_URL: a single Redis or a Redis Cluster, found out."""
    return await RedisStore.open(settings.redis_url, Health(), marker=marker)


def drop_namespace(settings: Settings) -> None:
    """Delete the namespace's Redis keys and topics (every partition holds open files in
    the broker: a long test run that left its topics would exhaust them)."""
    client = redis_client(settings)
    keys = list(client.scan_iter(match=f"{settings.redis_prefix}*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
    delete_topics(settings, settings.namespace)


def delete_topics(settings: Settings, prefix: str) -> None:
    """Delete every topic whose name starts with `prefix` (a test namespace)."""
    if not prefix:
        raise ValueError("refusing to delete topics without a namespace prefix")
    admin = AdminClient(client_config(settings))
    names = [t for t in admin.list_topics(timeout=10).topics if t.startswith(prefix)]
    if names:
        for future in admin.delete_topics(names, operation_timeout=30).values():
            future.result()

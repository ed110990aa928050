"""confluent-kafka clients: client settings, topic provisioning, and the output producer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)

from monitor.service import metrics
from monitor.service.health import Health
from monitor.service.settings import Settings

log = logging.getLogger(__name__)


def client_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    """librdkafka settings shared by every confluent-kafka client of this deployment."""
    config: dict[str, Any] = {"bootstrap.servers": settings.kafka_bootstrap}
    config.update(settings.kafka_security.librdkafka())
    config.update(extra)
    return config


def producer_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    """client_config for a producer to the input topics. librdkafka's own batching is
    kept: its default `batch.size` (1,000,000) fits the topics' `max.message.bytes`."""
    return client_config(settings, **extra)


@dataclass(frozen=True)
class TopicSpec:
    """A topic blindar needs, with its partitions and topic-level configs.

    `enforced` configs are set on an existing topic too. `floors` are numeric configs
    (e.g. the input size limit) raised on an existing topic that has less, never lowered:
    a topic that allows more keeps it, with a warning.
    """

    name: str
    partitions: int = 6
    config: tuple[tuple[str, str], ...] = ()
    enforced: tuple[tuple[str, str], ...] = ()
    floors: tuple[tuple[str, int], ...] = ()


def ensure_topics(
    settings: Settings, specs: Iterable[TopicSpec], timeout_s: float = 30
) -> list[str]:
    """Create the missing topics; on existing ones set the `enforced` configs and raise
    the `floors` (other settings of an existing topic are left alone). Returns the names
    created."""
    specs = list(specs)
    admin = AdminClient(client_config(settings))
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    enforce_configs(admin, [s for s in specs if s.name in existing and s.enforced], timeout_s)
    raise_floors(admin, [s for s in specs if s.name in existing and s.floors], timeout_s)
    wanted = [spec for spec in specs if spec.name not in existing]
    if not wanted:
        return []
    new = [
        NewTopic(
            s.name,
            num_partitions=s.partitions,
            replication_factor=-1,
            config=dict(s.config + s.enforced + tuple((k, str(v)) for k, v in s.floors)),
        )
        for s in wanted
    ]
    created = []
    for name, future in admin.create_topics(new, request_timeout=timeout_s).items():
        try:
            future.result()
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return created


def enforce_configs(admin: AdminClient, specs: list[TopicSpec], timeout_s: float) -> None:
    """Set each spec's `enforced` configs on its existing topic (incremental: nothing else
    of the topic changes)."""
    if not specs:
        return
    resources = [
        ConfigResource(
            ConfigResource.Type.TOPIC,
            s.name,
            incremental_configs=[
                ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
                for name, value in s.enforced
            ],
        )
        for s in specs
    ]
    for future in admin.incremental_alter_configs(resources, request_timeout=timeout_s).values():
        future.result()


def raise_floors(admin: AdminClient, specs: list[TopicSpec], timeout_s: float) -> None:
    """Raise each existing topic's `floors` configs that are below the floor. One above it
    is left as it is and logged (WARNING): lowering a limit breaks producers that work."""
    if not specs:
        return
    described = admin.describe_configs(
        [ConfigResource(ConfigResource.Type.TOPIC, s.name) for s in specs],
        request_timeout=timeout_s,
    )
    current = {resource.name: future.result() for resource, future in described.items()}
    changes = []
    for spec in specs:
        raised = [
            ConfigEntry(name, str(floor), incremental_operation=AlterConfigOpType.SET)
            for name, floor in spec.floors
            if _below_floor(spec.name, name, current[spec.name][name].value, floor)
        ]
        if raised:
            changes.append(
                ConfigResource(ConfigResource.Type.TOPIC, spec.name, incremental_configs=raised)
            )
    if changes:
        for future in admin.incremental_alter_configs(changes, request_timeout=timeout_s).values():
            future.result()


def _below_floor(topic: str, name: str, value: str, floor: int) -> bool:
    """Whether `value` must be raised to `floor`; logs what is done either way."""
    have = int(value)
    if have < floor:
        log.info("%s: %s %d raised to %d", topic, name, have, floor)
        return True
    if have > floor:
        log.warning(
            "%s: %s is %d, above blindar's %d: left unchanged (blindar never lowers a "
            "topic's limit; producers may rely on it)",
            topic,
            name,
            have,
            floor,
        )
    return False


def topic_config(settings: Settings, topic: str, timeout_s: float = 10) -> dict[str, str]:
    """A topic's effective configs."""
    admin = AdminClient(client_config(settings))
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    entries = admin.describe_configs([resource], request_timeout=timeout_s)[resource].result()
    return {name: entry.value for name, entry in entries.items()}


def topic_partitions(
    settings: Settings, topics: Iterable[str], timeout_s: float = 10
) -> dict[str, int]:
    """Partition count of each of `topics` that exists in Kafka."""
    wanted = set(topics)
    metadata = AdminClient(client_config(settings)).list_topics(timeout=timeout_s)
    return {
        name: len(meta.partitions)
        for name, meta in metadata.topics.items()
        if name in wanted and meta.error is None
    }


# The output producer's own message limit (librdkafka's default): a dead letter is
# bounded well below it (monitor/service/deadletter.py), an alert is a few KB.
OUTPUT_MAX_BYTES = 1_000_000
TOO_LARGE = frozenset({KafkaError.MSG_SIZE_TOO_LARGE})
MAX_RETRY_DELAY_S = 5.0


@dataclass(frozen=True)
class Outgoing:
    """One output message; `smaller` builds a reduced value if Kafka refuses its size."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] | None = None
    smaller: Callable[[], bytes] | None = None


def failure_kind(err: KafkaError) -> str:
    """A bounded label for a failed delivery: too_large, fatal, retriable or refused."""
    if err.code() in TOO_LARGE:
        return "too_large"
    if err.fatal():
        return "fatal"
    return "retriable" if err.retriable() else "refused"


class OutputProducer:
    """Produces to output topics and waits until every message of a batch is acknowledged.

    A message whose delivery fails is produced again, with backoff, until Kafka takes
    it: the caller acks its input only after `drain()` returns, so nothing is lost and
    the input is held while Kafka refuses. A message refused for its size is re-sent
    smaller when it can be (dead letters); anything else that fails marks `/health`
    degraded (problem `output`), is counted by kind and logged, until it gets through.
    `send` never raises.
    """

    def __init__(self, settings: Settings, health: Health | None = None) -> None:
        self.config = client_config(
            settings,
            **{
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "compression.type": "lz4",
                "message.timeout.ms": 60_000,
                "message.max.bytes": OUTPUT_MAX_BYTES,
            },
        )
        self.producer = Producer(self.config)
        self.health = health or Health()
        # Written by one thread each (send: caller; callbacks: the flushing thread).
        self.sent = 0
        self.delivered = 0
        self.failed: deque[tuple[Outgoing, KafkaError]] = deque()

    @property
    def pending(self) -> int:
        return self.sent - self.delivered

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: list[tuple[str, bytes]] | None = None,
        smaller: Callable[[], bytes] | None = None,
    ) -> None:
        self._produce(Outgoing(topic, key, value, headers, smaller))

    def _produce(self, out: Outgoing) -> None:
        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:  # queued for re-send before it stops counting as pending
                self.failed.append((out, err))
            self.delivered += 1

        while True:
            try:
                self.producer.produce(
                    out.topic, out.value, out.key, headers=out.headers, on_delivery=on_delivery
                )
                self.sent += 1
                return
            except BufferError:
                self.producer.poll(0.05)
            except KafkaException as exc:  # refused before it left: too large, bad topic…
                self.failed.append((out, exc.args[0]))
                return

    async def drain(self) -> None:
        """Wait until everything sent so far is acknowledged by Kafka, re-sending failures."""
        delay = 0.2
        loop = asyncio.get_running_loop()
        while self.pending or self.failed:
            if self.pending:
                await loop.run_in_executor(None, self.producer.flush, 1.0)
            if self.failed and self._resend():
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY_S)
        self.health.clear("output")

    def drain_blocking(self, timeout_s: float = 30) -> bool:
        """Synchronous drain for CLI tools; False if messages are still pending at the timeout."""
        deadline = time.monotonic() + timeout_s
        while (self.pending or self.failed) and time.monotonic() < deadline:
            self.producer.flush(0.5)
            self._resend()
        return not (self.pending or self.failed)

    def _resend(self) -> bool:
        """Produce the failed messages again; True if any must wait (backoff) before it."""
        wait = False
        failures = [self.failed.popleft() for _ in range(len(self.failed))]
        if any(err.fatal() for _, err in failures):
            self._renew()
        for out, err in failures:
            kind = failure_kind(err)
            metrics.PRODUCE_ERRORS.labels(topic=out.topic, kind=kind).inc()
            if kind == "too_large" and out.smaller is not None:
                log.warning(
                    "%s refused a message of %d bytes (%s); re-sent smaller",
                    out.topic,
                    len(out.value),
                    err.name(),
                )
                self._produce(Outgoing(out.topic, out.key, out.smaller(), out.headers))
                continue
            wait = True
            self.health.set("output", f"{out.topic}: {err.name()} ({kind}); input held")
            level = logging.WARNING if kind == "retriable" else logging.ERROR
            log.log(
                level,
                "delivery to %s failed: %s (%s); input held, retrying",
                out.topic,
                err.name(),
                kind,
            )
            self._produce(out)
        return wait

    def _renew(self) -> None:
        """A fatal error leaves the producer unusable: start a new one."""
        log.error("output producer hit a fatal error; starting a new producer")
        self.producer = Producer(self.config)

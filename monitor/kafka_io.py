"""confluent-kafka clients: client settings, topic provisioning, and the output producer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from monitor import metrics
from monitor.settings import Settings

log = logging.getLogger(__name__)


def client_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    """librdkafka settings shared by every confluent-kafka client of this deployment."""
    config: dict[str, Any] = {"bootstrap.servers": settings.kafka_bootstrap}
    config.update(settings.kafka_security.librdkafka())
    config.update(extra)
    return config


@dataclass(frozen=True)
class TopicSpec:
    """A topic blindar needs, with its partitions and topic-level configs."""

    name: str
    partitions: int = 6
    config: tuple[tuple[str, str], ...] = ()


def ensure_topics(
    settings: Settings, specs: Iterable[TopicSpec], timeout_s: float = 30
) -> list[str]:
    """Create the missing topics; existing ones are left alone. Returns the names created."""
    admin = AdminClient(client_config(settings))
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    wanted = [spec for spec in specs if spec.name not in existing]
    if not wanted:
        return []
    new = [
        NewTopic(s.name, num_partitions=s.partitions, replication_factor=-1, config=dict(s.config))
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


Record = tuple[str, bytes | None, bytes, list[tuple[str, bytes]] | None]


class OutputProducer:
    """Produces to output topics and waits until every message of a batch is acknowledged.

    A message whose delivery fails is produced again, with backoff, until Kafka takes
    it: the caller acks its input only after `drain()` returns, so nothing is lost.
    """

    def __init__(self, settings: Settings) -> None:
        self.producer = Producer(
            client_config(
                settings,
                **{
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": 5,
                    "compression.type": "lz4",
                    "message.timeout.ms": 60_000,
                },
            )
        )
        # Written by one thread each (send: caller; callbacks: the flushing thread).
        self.sent = 0
        self.delivered = 0
        self.failed: deque[Record] = deque()

    @property
    def pending(self) -> int:
        return self.sent - self.delivered

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        record = (topic, key, value, headers)

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:  # queued for re-send before it stops counting as pending
                metrics.PRODUCE_ERRORS.labels(topic=topic).inc()
                log.warning("delivery to %s failed: %s; will retry", topic, err.name())
                self.failed.append(record)
            self.delivered += 1

        while True:
            try:
                self.producer.produce(topic, value, key, headers=headers, on_delivery=on_delivery)
                self.sent += 1
                return
            except BufferError:
                self.producer.poll(0.05)

    async def drain(self) -> None:
        """Wait until everything sent so far is acknowledged by Kafka, re-sending failures."""
        delay = 0.2
        loop = asyncio.get_running_loop()
        while self.pending or self.failed:
            if self.pending:
                await loop.run_in_executor(None, self.producer.flush, 1.0)
            if self.failed:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                self._resend()

    def drain_blocking(self, timeout_s: float = 30) -> bool:
        """Synchronous drain for CLI tools; False if messages are still pending at the timeout."""
        deadline = time.monotonic() + timeout_s
        while (self.pending or self.failed) and time.monotonic() < deadline:
            self.producer.flush(0.5)
            self._resend()
        return not (self.pending or self.failed)

    def _resend(self) -> None:
        while self.failed:
            self.send(*self.failed.popleft())

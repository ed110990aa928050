"""`blindar canary`: send the configured canaries through the real topics and decide each
one detected (its flagged alert read back from dlp.alerts before the deadline) or missed.

One run: note where dlp.alerts ends, produce every canary (signed, in its channel's shape,
keyed by its actor like any event), then read dlp.alerts from that point until every
canary was decided or the deadline passed. Results go to the metrics (served by a looping
runner) and to Redis beside the assurance ledger (monitor/service/canary/results.py).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition
from prometheus_client import CollectorRegistry, Counter, Gauge

from monitor.service.canary import results
from monitor.service.canary.config import CanarySettings, Check
from monitor.service.canary.document import is_canary_document
from monitor.service.canary.patterns import build
from monitor.service.canary.shape import shaped
from monitor.service.canary.signing import actor_id, sign
from monitor.service.channels import Channel
from monitor.service.config import DetectorSettings
from monitor.service.health import Health
from monitor.service.kafka_io import client_config, producer_config
from monitor.service.settings import Settings
from monitor.service.state import RedisStore

log = logging.getLogger(__name__)
POLL_S = 0.5

REGISTRY = CollectorRegistry(auto_describe=True)
DETECTED = Counter(
    "blindar_canary_detected_total",
    "Canaries whose alert was decided before the deadline",
    ["channel", "detector"],
    registry=REGISTRY,
)
MISSED = Counter(
    "blindar_canary_missed_total",
    "Canaries with no alert by the deadline: a coverage gap",
    ["channel", "detector"],
    registry=REGISTRY,
)
LAST_RUN = Gauge(
    "blindar_canary_last_run_timestamp_seconds",
    "When the last canary run finished",
    registry=REGISTRY,
)


@dataclass(frozen=True, slots=True)
class Sent:
    check: Check
    actor: str
    produced_ms: int


class CanaryRunner:
    def __init__(
        self,
        settings: Settings,
        canary: CanarySettings,
        channels: dict[str, Channel],
        detectors: DetectorSettings,
    ) -> None:
        self.settings = settings
        self.canary = canary
        self.channels = channels
        self.detectors = detectors
        for check in canary.checks:  # 0 before the first run, so the rule sees a series
            DETECTED.labels(channel=check.channel, detector=check.detector)
            MISSED.labels(channel=check.channel, detector=check.detector)

    def run_once(self, deadline_s: float | None = None) -> list[results.Result]:
        deadline_s = self.canary.miss_deadline_minutes * 60 if deadline_s is None else deadline_s
        consumer = self.alerts_consumer()
        try:
            sent = self.produce()
            decided = self.wait(consumer, sent, time.monotonic() + deadline_s)
        finally:
            consumer.close()
        outcome = [self.result(s, decided.get(s.actor)) for s in sent]
        asyncio.run(self.record(outcome))
        LAST_RUN.set(time.time())
        return outcome

    def alerts_consumer(self) -> Consumer:
        """A reader of dlp.alerts from its current end (its own group, never committing)."""
        s = self.settings
        consumer = Consumer(
            client_config(s, **{"group.id": f"{s.group_id}.canary", "enable.auto.commit": False})
        )
        topic = s.alerts_topic
        metadata = consumer.list_topics(topic, timeout=10)
        parts = [TopicPartition(topic, p) for p in metadata.topics[topic].partitions]
        ends = [
            TopicPartition(topic, p.partition, consumer.get_watermark_offsets(p, timeout=10)[1])
            for p in parts
        ]
        consumer.assign(ends)
        return consumer

    def produce(self) -> list[Sent]:
        s = self.settings
        producer = Producer(producer_config(s, **{"linger.ms": 20}))
        produced_ms = int(time.time() * 1000)
        run = f"{produced_ms}-{secrets.token_hex(4)}"
        sent: list[Sent] = []
        for n, check in enumerate(self.canary.checks):
            actor = actor_id(produced_ms, f"{run[-8:]}{n}")
            channel = self.channels[check.channel]
            events = build(self.detectors, check.detector, check.tenant, actor, produced_ms)
            for i, event in enumerate(events):
                event = {"event_id": f"canary-{run}-{n}-{i}", **event, "channel": check.channel}
                doc = sign(shaped(event, channel.mapping), s.canary_key, run, check.detector)
                producer.produce(s.topic(channel.topic), orjson.dumps(doc), actor.encode())
                producer.poll(0)
            sent.append(Sent(check, actor, produced_ms))
        left = producer.flush(30)
        if left:
            log.warning("canary: %d events not acknowledged by Kafka", left)
        return sent

    def wait(self, consumer: Consumer, sent: list[Sent], until: float) -> dict[str, int]:
        """Decision time (the alert's `time`) per canary actor, until all or the deadline."""
        wanted = {(s.actor, s.check.detector) for s in sent}
        decided: dict[str, int] = {}
        while wanted and time.monotonic() < until:
            message = consumer.poll(POLL_S)
            if message is None or message.error() is not None:
                continue
            try:
                doc = orjson.loads(message.value() or b"")
            except orjson.JSONDecodeError:
                continue
            found = identify(doc)
            if found in wanted:
                wanted.discard(found)
                decided[found[0]] = int(doc.get("time") or time.time() * 1000)
        return decided

    @staticmethod
    def result(sent: Sent, decided_ms: int | None) -> results.Result:
        c = sent.check
        outcome = DETECTED if decided_ms is not None else MISSED
        outcome.labels(channel=c.channel, detector=c.detector).inc()
        if decided_ms is None:
            log.warning("canary MISSED: tenant=%s channel=%s detector=%s",
                        c.tenant, c.channel, c.detector)  # fmt: skip
        return results.Result(c.tenant, c.channel, c.detector, sent.produced_ms, decided_ms)

    async def record(self, outcome: list[results.Result]) -> None:
        s = self.settings
        store = await RedisStore.open(s.redis_url, Health(), s.redis_auth, cluster=s.redis_cluster)
        try:
            await results.record(store.client, s.redis_prefix, outcome, s.ledger_retention_days)
        finally:
            await store.aclose()


def identify(doc: Any) -> tuple[str, str] | None:
    """(canary actor, detector) of a flagged canary alert; None for anything else."""
    if not is_canary_document(doc) or doc.get("activity_id") != 1:
        return None
    try:
        return doc["actor"]["user"]["uid"], doc["finding_info"]["analytic"]["name"]
    except (KeyError, TypeError):
        return None

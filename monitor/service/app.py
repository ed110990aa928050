"""The Faust worker: one agent over every channel topic, batching into the pipeline.

Pitfalls of faust-streaming handled here: concurrency=1 so offsets are never committed
past an event still in flight; `take_events(..., within=...)` so a batch is acked only
after its effects are durable; no exception ever escapes the agent loop. The HTTP pages
(/metrics, /health, probes, the token guard) are monitor/service/web.py's, the periodic jobs
(lag, channel reload, the silence tick, the heap freeze) monitor/service/timers.py's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import faust

from monitor.service import metrics
from monitor.service.alignment import Alignment
from monitor.service.assignments import (
    Assignments,
    AssignmentWatcher,
    load_assignments,
    trusted_kinds,
)
from monitor.service.canary.check import CanaryCheck
from monitor.service.canary.patterns import PATTERNS as CANARY_PATTERNS
from monitor.service.channel_reload import ChannelWatcher
from monitor.service.channels import Registry, load_channels
from monitor.service.config import DetectorSettings, load_detectors
from monitor.service.detection import build_detection
from monitor.service.health import Health
from monitor.service.kafka_io import OutputProducer, client_config
from monitor.service.ledger import LedgerSettings
from monitor.service.pipeline import Message, Pipeline
from monitor.service.safety import process_safely
from monitor.service.security import redact_url
from monitor.service.settings import Settings
from monitor.service.sinks import AlertDelivery, SinkSettings, build_delivery
from monitor.service.state import RedisStore
from monitor.service.subscription import TopicSubscription
from monitor.service.tenants import load_tenants, registry_line
from monitor.service.timers import Timers
from monitor.service.trust_status import TrustStatus
from monitor.service.watermarks import Watermarks
from monitor.service.web import WebPages

log = logging.getLogger("blindar.worker")


class Worker:
    """Everything the Faust app needs, built from settings and validated config."""

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        detectors: DetectorSettings,
        assignments: Assignments | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.assignments = AssignmentWatcher(
            settings.assignments_file, assignments or Assignments()
        )
        self.detector_settings = detectors
        self.tenants = load_tenants(settings.tenants_file)  # errors surface before Faust starts
        self.health = Health()
        self.trust = TrustStatus(detectors, self.health)
        channels = (channel.trusted for channel in registry.channels)
        self.trust.update(trusted_kinds(self.assignments.assignments, channels))  # at start
        self.offsets: dict[tuple[str, int], int] = {}
        self.pipeline: Pipeline | None = None
        self.watcher = ChannelWatcher(settings.config_dir, registry)
        self.sink_settings = SinkSettings.from_env()  # errors surface before Faust starts
        self.delivery: AlertDelivery | None = None
        # Batches and periodic checks share the output producer: one at a time.
        self.busy = asyncio.Lock()
        self.pages = WebPages(
            settings.web_token,
            self.health,
            lambda: self.pipeline is not None,
            lambda: len(self.app.consumer.assignment()),
        )
        timing = detectors.event_time
        self.watermarks = Watermarks(timing.idle_seconds, timing.alignment_minutes * 60_000)
        self.timers = Timers(self)
        self.app = self._make_app()

    @classmethod
    def from_settings(cls, settings: Settings) -> Worker:
        registry = load_channels(settings.config_dir / "channels.yaml")
        detectors = load_detectors(settings.config_dir / "detectors.yaml")
        return cls(settings, registry, detectors, load_assignments(settings.assignments_file))

    def _make_app(self) -> faust.App:
        s = self.settings
        app = faust.App(
            s.group_id,
            broker=f"kafka://{s.kafka_bootstrap}",
            datadir=s.faust_datadir,
            value_serializer="raw",
            key_serializer="raw",
            web_bind=s.web_host,
            web_port=s.web_port,
            web_host=s.web_host,
            topic_disable_leader=True,
            topic_allow_declare=False,
            consumer_auto_offset_reset="earliest",
            # Partitions added to a subscribed topic (or a subscribed topic created late)
            # are seen on the next metadata refresh; faust's default is 5 minutes.
            consumer_metadata_max_age_ms=30_000,
            broker_max_poll_records=s.batch_size,
            # Per partition and fetch: at least the input topics' max.message.bytes, so a
            # record batch as large as the topics admit is fetched whole (faust's default
            # is 1 MiB, 12 bytes under Kafka's default limit).
            consumer_max_fetch_size=s.input_max_message_bytes,
            stream_buffer_maxsize=max(4096, 2 * s.batch_size),
            # Stop (SIGTERM) without waiting for a batch that waits on Redis: the agent is
            # cancelled and the batch stays uncommitted (see _agent).
            stream_wait_empty=False,
            producer_acks=-1,
            # Faust's own pages (router, tables, graph, stats) are off; what remains ("/",
            # ours) passes the bearer-token check of monitor/service/web.py (BLINDAR_WEB_TOKEN).
            web_router_enabled=False,
            web_tables_enabled=False,
            web_graph_enabled=False,
            web_stats_enabled=False,
            web_application_options=self.pages.options(),
            broker_session_timeout=s.session_timeout_s,
            broker_heartbeat_interval=min(3.0, s.session_timeout_s / 3),
            **s.kafka_security.faust_options(),
        )
        self.alignment = Alignment(app, self.watermarks)
        self.subscription = TopicSubscription(app, self.registry.by_topic(s.namespace))
        source = self.subscription.source(value_type=bytes, key_type=bytes)
        app.agent(source, name="blindar-detect", concurrency=1)(self._agent)
        self.pages.register(app)
        self.timers.install(app)
        app.task(self._on_startup)
        app.on_before_shutdown.connect(self._on_shutdown)
        app.on_partitions_assigned.connect(self.alignment.on_assigned)
        app.on_partitions_revoked.connect(self.alignment.on_revoked)
        return app

    async def _on_startup(self) -> None:
        s = self.settings
        prefix = s.redis_prefix
        store = await RedisStore.open(
            s.redis_url,
            self.health,
            s.redis_auth,
            marker=f"{prefix}blindar:state-marker",
            cluster=s.redis_cluster,
        )
        await store.start()
        ledger = LedgerSettings(
            s.ledger_retention_days, s.ledger_max_alerts, max_tenants=s.ledger_max_tenants
        )
        detection = build_detection(
            self.detector_settings, store, s.pseudonym_key, prefix, ledger_settings=ledger
        )
        detectors = detection.runner.detectors
        self.pipeline = Pipeline(
            self.registry.by_topic(s.namespace),
            detection,
            OutputProducer(s, self.health),
            s.alerts_topic,
            s.deadletter_topic,
            delivery=self._start_delivery(),
            assignments=self.assignments.assignments,
            tenants=self.tenants,
            watermarks=self.watermarks,
            canary=CanaryCheck(s.canary_key),
        )
        (log.info if self.tenants is not None else log.warning)(
            "blindar worker: %s", registry_line(self.tenants, s.tenants_file)
        )
        self.trust.update(self.pipeline.trusted)
        log.info(
            "blindar worker: kafka=%s redis=%s detectors=%s channels=%s",
            s.kafka_bootstrap,
            redact_url(s.redis_url),
            [d.name for d in detectors],
            self.registry.names(),
        )
        for topic in (s.alerts_topic, s.deadletter_topic):
            for kind in ("retriable", "too_large", "refused", "fatal"):
                metrics.PRODUCE_ERRORS.labels(topic=topic, kind=kind)  # 0 before the first
        started = time.time()
        for channel in self.registry.names():  # a channel that never sends is silent too
            metrics.LAST_EVENT.labels(channel=channel).set(started)
            metrics.LATE_EVENTS.labels(channel=channel)  # 0 before the first
            metrics.DROPPED_LATE_EVENTS.labels(channel=channel)
            metrics.CANARY_FORGED.labels(channel=channel)
            for detector in CANARY_PATTERNS:  # 0 before the first: its increase shows
                if detector in self.detector_settings.configs:
                    metrics.CANARY_LATENCY.labels(channel=channel, detector=detector)
                    metrics.CANARY_FINDINGS.labels(channel=channel, detector=detector)
        await self.timers.tick()  # before the first batch: silence is judged by the clock
        metrics.UP.set(1)

    def _start_delivery(self) -> AlertDelivery | None:
        delivery = build_delivery(self.sink_settings, self.detector_settings.suppression_minutes)
        if delivery is not None:  # each sink reads dlp.alerts in a group of its own
            s = self.settings
            delivery.start(client_config(s, **{"group.id": s.group_id}), s.alerts_topic)
            log.info("alert sinks: %s", [q.sink.name for q in delivery.queues])
        self.delivery = delivery
        return delivery

    async def _on_shutdown(self, app: faust.App, **_: Any) -> None:
        if self.delivery is not None:
            await self.delivery.stop()

    async def _agent(self, stream: faust.Stream) -> None:
        async for batch in stream.take_events(
            self.settings.batch_size, within=self.settings.batch_within_s
        ):
            # Faust acks a batch when the loop body ends, even by cancellation (SIGTERM):
            # an extra reference per message, dropped only once the batch is done, keeps
            # an unfinished batch uncommitted so it is delivered again after a restart.
            for e in batch:
                e.message.incref()
            metrics.BATCH_IN_FLIGHT.set(len(batch))
            try:
                await self._process(batch)
            except asyncio.CancelledError:
                log.warning("stopped mid-batch: %d messages left uncommitted", len(batch))
                raise
            except Exception:  # nothing may escape the agent: faust would ack the batch
                log.exception("batch of %d not processed; left uncommitted", len(batch))
                self.health.set("processing", "agent error; input held")
                continue
            finally:
                metrics.BATCH_IN_FLIGHT.set(0)
            for e in batch:
                e.message.decref()

    async def _process(self, batch: list[faust.EventT]) -> None:
        while self.pipeline is None:  # startup hook not finished yet
            await asyncio.sleep(0.05)
        messages = [
            Message(
                e.message.topic,
                e.message.partition,
                e.message.offset,
                e.message.key,
                e.message.value,
            )
            for e in batch
        ]
        async with self.busy:
            await process_safely(self.pipeline, messages, self.health)
        for m in messages:
            self.offsets[(m.topic, m.partition)] = m.offset
        self.alignment.apply()
        metrics.HEALTHY.set(1 if self.health.ok else 0)

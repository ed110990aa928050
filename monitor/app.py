"""The Faust worker: one agent over every channel topic, batching into the pipeline.

Pitfalls handled here (DESIGN.md §7): concurrency=1 so offsets are never committed
past an event still in flight; `take_events(..., within=...)` so a batch is acked only
after its effects are durable; no exception ever escapes the agent loop.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from typing import Any

import faust
import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from monitor import metrics
from monitor.alerts import AlertEngine
from monitor.channels import Registry, load_channels
from monitor.config import DetectorSettings, load_detectors
from monitor.health import Health
from monitor.kafka_io import OutputProducer
from monitor.pipeline import Message, Pipeline
from monitor.pseudonym import Pseudonymizer
from monitor.safety import process_safely
from monitor.settings import Settings
from monitor.state import RedisState, connect, redact_url

log = logging.getLogger("blindar.worker")


def unauthorized() -> web.Response:
    return web.Response(
        status=401, text="bearer token required\n", headers={"WWW-Authenticate": "Bearer"}
    )


class Worker:
    """Everything the Faust app needs, built from settings and validated config."""

    def __init__(self, settings: Settings, registry: Registry, detectors: DetectorSettings) -> None:
        self.settings = settings
        self.registry = registry
        self.detector_settings = detectors
        self.health = Health()
        self.offsets: dict[tuple[str, int], int] = {}
        self.pipeline: Pipeline | None = None
        self.app = self._make_app()

    @classmethod
    def from_settings(cls, settings: Settings) -> Worker:
        registry = load_channels(settings.config_dir / "channels.yaml")
        detectors = load_detectors(settings.config_dir / "detectors.yaml")
        return cls(settings, registry, detectors)

    def _make_app(self) -> faust.App:
        s = self.settings
        app = faust.App(
            s.group_id,
            broker=f"kafka://{s.kafka_bootstrap}",
            value_serializer="raw",
            key_serializer="raw",
            web_bind=s.web_host,
            web_port=s.web_port,
            web_host=s.web_host,
            topic_disable_leader=True,
            topic_allow_declare=False,
            consumer_auto_offset_reset="earliest",
            broker_max_poll_records=s.batch_size,
            stream_buffer_maxsize=max(4096, 2 * s.batch_size),
            producer_acks=-1,
            broker_session_timeout=s.session_timeout_s,
            broker_heartbeat_interval=min(3.0, s.session_timeout_s / 3),
            **s.kafka_security.faust_options(),
        )
        topics = list(self.registry.by_topic(s.namespace))
        source = app.topic(*topics, value_type=bytes, key_type=bytes)
        app.agent(source, name="blindar-detect", concurrency=1)(self._agent)
        app.page("/metrics")(self._metrics_page)
        app.page("/health")(self._health_page)
        app.timer(5.0)(self._update_lag)
        app.task(self._on_startup)
        return app

    async def _on_startup(self) -> None:
        s = self.settings
        client = connect(s.redis_url, s.redis_auth)
        prefix = s.redis_prefix
        state = RedisState(client, self.health, marker=f"{prefix}blindar:state-marker")
        await state.start()
        detectors = self.detector_settings.build(prefix)
        engine = AlertEngine(
            client,
            self.health,
            Pseudonymizer(s.pseudonym_key),
            self.detector_settings.suppression_minutes,
            prefix,
        )
        self.pipeline = Pipeline(
            self.registry.by_topic(s.namespace),
            detectors,
            state,
            engine,
            OutputProducer(s),
            s.alerts_topic,
            s.deadletter_topic,
        )
        log.info(
            "blindar worker: kafka=%s redis=%s detectors=%s channels=%s",
            s.kafka_bootstrap,
            redact_url(s.redis_url),
            [d.name for d in detectors],
            self.registry.names(),
        )
        metrics.UP.set(1)

    async def _agent(self, stream: faust.Stream) -> None:
        async for batch in stream.take_events(
            self.settings.batch_size, within=self.settings.batch_within_s
        ):
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
            await process_safely(self.pipeline, messages, self.health)
            for m in messages:
                self.offsets[(m.topic, m.partition)] = m.offset
            metrics.HEALTHY.set(1 if self.health.ok else 0)

    async def _update_lag(self, app: faust.App) -> None:
        consumer = app.consumer
        for tp in consumer.assignment():
            last = self.offsets.get((tp.topic, tp.partition))
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            lag = highwater - (last + 1 if last is not None else 0)
            metrics.CONSUMER_LAG.labels(topic=tp.topic, partition=str(tp.partition)).set(
                max(lag, 0)
            )
        metrics.HEALTHY.set(1 if self.health.ok else 0)

    def _authorized(self, request: Any) -> bool:
        token = self.settings.web_token
        if not token:
            return True
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

    async def _metrics_page(self, request: Any) -> web.Response:
        if not self._authorized(request):
            return unauthorized()
        return web.Response(
            body=generate_latest(metrics.REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _health_page(self, request: Any) -> web.Response:
        if not self._authorized(request):
            return unauthorized()
        report = self.health.report()
        report["time"] = time.time()
        report["ready"] = self.pipeline is not None
        report["assigned_partitions"] = len(self.app.consumer.assignment()) if self.pipeline else 0
        status = 200 if self.health.ok or request.query.get("probe") == "live" else 503
        return web.Response(
            body=orjson.dumps(report), status=status, content_type="application/json"
        )

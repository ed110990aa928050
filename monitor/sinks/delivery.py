"""Best-effort alert delivery that never blocks the stream.

`dlp.alerts` is the durable record (acked before the input is). Each optional sink
gets its own bounded queue and one task posting from it, with retries and
exponential backoff; a dead endpoint fills that sink's queue and nothing else.
What cannot be delivered (queue full, or every retry failed) is logged with the
alert uids and counted; the alert itself stays on `dlp.alerts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

import aiohttp
import orjson

from detectors.base import Finding
from monitor import metrics
from monitor.alerts import Alert
from monitor.sinks.alertmanager import AlertmanagerSink
from monitor.sinks.base import Sink
from monitor.sinks.settings import SinkSettings
from monitor.sinks.webhook import WebhookSink

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 30.0


class DeliveryError(Exception):
    """The endpoint answered with a status that is not 2xx."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        # A client error other than timeout or rate limit will not succeed on retry.
        self.retryable = not (400 <= status < 500 and status not in (408, 429))


def uids_of(body: bytes) -> list[str]:
    """Alert uids a request body carries (for logs): OCSF document or Alertmanager list."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    docs = doc if isinstance(doc, list) else [doc]
    uids = []
    for d in docs:
        uid = d.get("annotations", {}).get("uid") or d.get("finding_info", {}).get("uid")
        if uid:
            uids.append(uid)
    return uids


class SinkQueue:
    """One sink's bounded queue and the task that posts from it."""

    def __init__(self, sink: Sink, settings: SinkSettings) -> None:
        self.sink = sink
        self.settings = settings
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=settings.queue_size)
        for counter in (
            metrics.DELIVERED,
            metrics.DELIVERY_FAILURES,
            metrics.DELIVERY_RETRIES,
            metrics.DELIVERY_DROPPED,
        ):
            counter.labels(sink=sink.name)  # export zeros from the start
        self.depth = metrics.DELIVERY_QUEUE.labels(sink=sink.name)
        self.depth.set(0)

    def enqueue(self, bodies: Sequence[bytes]) -> None:
        for body in bodies:
            try:
                self.queue.put_nowait(body)
            except asyncio.QueueFull:
                metrics.DELIVERY_DROPPED.labels(sink=self.sink.name).inc()
                log.error(
                    "%s queue full (%d): not delivering alerts %s; they stay on dlp.alerts",
                    self.sink.name,
                    self.settings.queue_size,
                    uids_of(body),
                )
        self.depth.set(self.queue.qsize())

    def offer(self, alerts: Sequence[Alert], findings: Sequence[Finding], now_ms: int) -> None:
        """Queue this batch's requests; a failure here is logged and counted, never raised."""
        try:
            bodies = self.sink.bodies(alerts, findings, now_ms)
        except Exception:
            metrics.DELIVERY_FAILURES.labels(sink=self.sink.name).inc()
            log.exception("%s: could not build requests for %d alerts", self.sink.name, len(alerts))
            return
        self.enqueue(bodies)

    async def run(self, session: aiohttp.ClientSession) -> None:
        while True:
            body = await self.queue.get()
            self.depth.set(self.queue.qsize())
            try:
                await self.deliver(session, body)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not stop this sink's deliveries for good
                metrics.DELIVERY_FAILURES.labels(sink=self.sink.name).inc()
                log.exception("%s: delivery of alerts %s failed", self.sink.name, uids_of(body))

    async def deliver(self, session: aiohttp.ClientSession, body: bytes) -> bool:
        """Post with retries; False (logged, counted) once every attempt failed."""
        name = self.sink.name
        delay = self.settings.backoff_s
        attempts = self.settings.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                await self._post(session, body)
            except (aiohttp.ClientError, TimeoutError, DeliveryError) as exc:
                reason = str(exc) if isinstance(exc, DeliveryError) else type(exc).__name__
                final = isinstance(exc, DeliveryError) and not exc.retryable
                if attempt == attempts or final:
                    metrics.DELIVERY_FAILURES.labels(sink=name).inc()
                    log.error(
                        "%s: giving up on alerts %s after %d attempts (%s); "
                        "they stay on dlp.alerts",
                        name,
                        uids_of(body),
                        attempt,
                        reason,
                    )
                    return False
                metrics.DELIVERY_RETRIES.labels(sink=name).inc()
                log.warning(
                    "%s: attempt %d failed (%s); retrying in %.1fs", name, attempt, reason, delay
                )
                await asyncio.sleep(delay)
                delay = min(max(delay * 2, 0.1), MAX_BACKOFF_S)
                continue
            metrics.DELIVERED.labels(sink=name).inc()
            return True
        return False

    async def _post(self, session: aiohttp.ClientSession, body: bytes) -> None:
        async with session.post(self.sink.url, data=body, headers=self.sink.headers(body)) as resp:
            await resp.read()
            if resp.status >= 300:
                raise DeliveryError(resp.status)


class AlertDelivery:
    """Fans alerts out to the enabled sinks; `submit` never waits."""

    def __init__(self, sinks: Sequence[Sink], settings: SinkSettings) -> None:
        self.settings = settings
        self.queues = [SinkQueue(sink, settings) for sink in sinks]
        self.tasks: list[asyncio.Task[None]] = []
        self.session: aiohttp.ClientSession | None = None

    def submit(self, alerts: Sequence[Alert], findings: Sequence[Finding], now_ms: int) -> None:
        """Queue what this batch owes each sink (called after the alerts are on dlp.alerts)."""
        for q in self.queues:
            q.offer(alerts, findings, now_ms)

    def tick(self, now_ms: int) -> None:
        for q in self.queues:
            try:
                q.enqueue(q.sink.due(now_ms))
            except Exception:
                log.exception("%s: periodic re-post failed", q.sink.name)

    def start(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout_s)
        self.session = aiohttp.ClientSession(timeout=timeout)
        self.tasks = [asyncio.create_task(q.run(self.session)) for q in self.queues]
        self.tasks.append(asyncio.create_task(self._ticker()))

    async def stop(self) -> None:
        for q in self.queues:
            if not q.queue.empty():
                log.warning(
                    "%s: stopping with %d requests not delivered; their alerts are on dlp.alerts",
                    q.sink.name,
                    q.queue.qsize(),
                )
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.session is not None:
            await self.session.close()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.settings.alertmanager_resend_s)
            self.tick(int(time.time() * 1000))


def build_delivery(settings: SinkSettings, suppression_minutes: float) -> AlertDelivery | None:
    """The delivery for the sinks `settings` enables, or None when none is."""
    sinks: list[Sink] = []
    if settings.alertmanager_url:
        window_ms = int(suppression_minutes * 60_000)
        sinks.append(
            AlertmanagerSink(settings.alertmanager_url, window_ms, settings.runbook_base_url)
        )
    if settings.webhook_url:
        sinks.append(WebhookSink(settings.webhook_url, settings.webhook_secret))
    return AlertDelivery(sinks, settings) if sinks else None

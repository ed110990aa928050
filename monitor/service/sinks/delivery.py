"""Alert delivery that never blocks the stream and survives a crash of the worker.

`dlp.alerts` is the durable record (acked before the input is). Each optional sink
gets its own queue and one task posting from it, with retries and exponential backoff;
a dead endpoint fills that sink's queue and nothing else. In the worker, each sink reads
the alerts themselves from `dlp.alerts` in a consumer group of its own
(monitor/service/sinks/feed.py), committing an alert only once its delivery finished: an alert
not yet delivered when the worker dies is delivered by the next one. What a sink keeps
in memory (Alertmanager's re-posts of firing alerts) is fed by each batch, bounded by
`queue_size`. What cannot be delivered (every retry failed, or the memory queue full)
is logged with the alert uids and counted; the alert itself stays on `dlp.alerts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import aiohttp
import orjson

from detectors.base import Finding
from monitor.service import metrics
from monitor.service.alerts import Alert
from monitor.service.canary.document import is_canary_record
from monitor.service.retry import retrying
from monitor.service.sinks.alertmanager import AlertmanagerSink
from monitor.service.sinks.base import Sink
from monitor.service.sinks.feed import AlertFeed, Record
from monitor.service.sinks.settings import SinkSettings
from monitor.service.sinks.webhook import WebhookSink

log = logging.getLogger(__name__)
RECENT_RECORDS = 10_000  # documents a sink remembers having taken from its feed


class DeliveryError(Exception):
    """The endpoint answered with a status that is not 2xx."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        # A client error other than timeout or rate limit will not succeed on retry.
        self.retryable = not (400 <= status < 500 and status not in (408, 429))


def reason(exc: BaseException) -> str:
    """What went wrong with one attempt, for logs (the status, or the error's kind)."""
    return str(exc) if isinstance(exc, DeliveryError) else type(exc).__name__


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


Item = tuple[bytes, Record | None]  # a request body, and the alert record it finishes


class SinkQueue:
    """One sink's queue (alerts from its feed, bounded by the feed; posts owed from memory,
    bounded by `queue_size`) and the task that posts from it."""

    def __init__(self, sink: Sink, settings: SinkSettings) -> None:
        self.sink = sink
        self.settings = settings
        self.queue: asyncio.Queue[Item] = asyncio.Queue()
        self.feed: AlertFeed | None = None
        for counter in (
            metrics.DELIVERED,
            metrics.DELIVERY_FAILURES,
            metrics.DELIVERY_RETRIES,
            metrics.DELIVERY_DROPPED,
        ):
            counter.labels(sink=sink.name)  # export zeros from the start
        self.depth = metrics.DELIVERY_QUEUE.labels(sink=sink.name)
        self.depth.set(0)
        self.recent: OrderedDict[bytes, None] = OrderedDict()

    def enqueue(self, bodies: Sequence[bytes]) -> None:
        for body in bodies:
            if self.queue.qsize() >= self.settings.queue_size:
                metrics.DELIVERY_DROPPED.labels(sink=self.sink.name).inc()
                log.error(
                    "%s queue full (%d): not delivering alerts %s; they stay on dlp.alerts",
                    self.sink.name,
                    self.settings.queue_size,
                    uids_of(body),
                )
                continue
            self.queue.put_nowait((body, None))
        self.depth.set(self.queue.qsize())

    def offer(
        self, alerts: Sequence[Alert], findings: Sequence[Finding], now_ms: int, fed: bool
    ) -> None:
        """Queue this batch's requests (`fed`: without the alerts' own pages, which come
        from the feed); a failure here is logged and counted, never raised."""
        try:
            if fed:
                bodies = self.sink.track(alerts, findings, now_ms)
            else:
                bodies = self.sink.bodies(alerts, findings, now_ms)
        except Exception:
            metrics.DELIVERY_FAILURES.labels(sink=self.sink.name).inc()
            log.exception("%s: could not build requests for %d alerts", self.sink.name, len(alerts))
            return
        self.enqueue(bodies)

    def fed(self, record: Record) -> None:
        """An alert read from `dlp.alerts` (on the event loop): its requests are queued,
        the last one finishing the record (then committed). A canary's is skipped."""
        if is_canary_record(record.value) or self.seen(record.value):
            self.finish(record)
            return
        try:
            bodies = self.sink.page(record.value, int(time.time() * 1000))
        except Exception:
            metrics.DELIVERY_FAILURES.labels(sink=self.sink.name).inc()
            log.exception("%s: alert at offset %d not deliverable", self.sink.name, record.offset)
            bodies = []
        if not bodies:
            self.finish(record)
            return
        for n, body in enumerate(bodies, 1):
            self.queue.put_nowait((body, record if n == len(bodies) else None))
        self.depth.set(self.queue.qsize())

    def seen(self, value: bytes) -> bool:
        """True for a document byte-identical to one of the last `RECENT_RECORDS` taken
        from the feed: a batch re-delivered after a crash publishes its alerts again, the
        same documents (docs/operations.md), and one post of each is enough."""
        digest = hashlib.blake2b(value, digest_size=16).digest()
        if digest in self.recent:
            log.info("%s: alerts %s already taken from dlp.alerts", self.sink.name,
                     uids_of(value))  # fmt: skip
            return True
        self.recent[digest] = None
        if len(self.recent) > RECENT_RECORDS:
            self.recent.popitem(last=False)
        return False

    def finish(self, record: Record | None) -> None:
        if record is not None and self.feed is not None:
            self.feed.done(record)

    async def run(self, session: aiohttp.ClientSession) -> None:
        while True:
            body, record = await self.queue.get()
            self.depth.set(self.queue.qsize())
            try:
                await self.deliver(session, body)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not stop this sink's deliveries for good
                metrics.DELIVERY_FAILURES.labels(sink=self.sink.name).inc()
                log.exception("%s: delivery of alerts %s failed", self.sink.name, uids_of(body))
            self.finish(record)  # delivered or given up (logged, counted): committed

    async def deliver(self, session: aiohttp.ClientSession, body: bytes) -> bool:
        """Post with retries; False (logged, counted) once every attempt failed."""
        name = self.sink.name
        attempts = self.settings.retries + 1

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, DeliveryError):
                return exc.retryable
            return isinstance(exc, aiohttp.ClientError | TimeoutError)

        tries = 0

        def before_wait(exc: BaseException, delay: float) -> None:
            metrics.DELIVERY_RETRIES.labels(sink=name).inc()
            log.warning(
                "%s: attempt %d failed (%s); retrying in %.1fs", name, tries, reason(exc), delay
            )

        async def post() -> None:
            nonlocal tries
            tries += 1
            await self._post(session, body)

        try:
            await retrying(
                post, self.settings.backoff, retryable, attempts=attempts, before_wait=before_wait
            )
        except (aiohttp.ClientError, TimeoutError, DeliveryError) as exc:
            metrics.DELIVERY_FAILURES.labels(sink=name).inc()
            log.error(
                "%s: giving up on alerts %s after %d attempts (%s); they stay on dlp.alerts",
                name,
                uids_of(body),
                tries,
                reason(exc),
            )
            return False
        metrics.DELIVERED.labels(sink=name).inc()
        return True

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
        self.feeds: list[AlertFeed] = []

    def submit(self, alerts: Sequence[Alert], findings: Sequence[Finding], now_ms: int) -> None:
        """Queue what this batch owes each sink (called after the alerts are on dlp.alerts;
        with feeds, the alerts themselves are read back from there)."""
        for q in self.queues:
            q.offer(alerts, findings, now_ms, fed=q.feed is not None)

    def tick(self, now_ms: int) -> None:
        for q in self.queues:
            try:
                q.enqueue(q.sink.due(now_ms))
            except Exception:
                log.exception("%s: periodic re-post failed", q.sink.name)

    def start(self, kafka: dict[str, Any] | None = None, topic: str = "") -> None:
        """Start posting. With `kafka` (a confluent-kafka client config whose `group.id`
        is the worker's), each sink reads `topic` (dlp.alerts) in its own group
        `<group.id>.sink.<name>`; without, alerts are taken from `submit` (memory only)."""
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout_s)
        self.session = aiohttp.ClientSession(timeout=timeout)
        if kafka is not None:
            self._start_feeds(kafka, topic)
        self.tasks = [asyncio.create_task(q.run(self.session)) for q in self.queues]
        self.tasks.append(asyncio.create_task(self._ticker()))

    def _start_feeds(self, kafka: dict[str, Any], topic: str) -> None:
        loop = asyncio.get_running_loop()
        for q in self.queues:
            group = f"{kafka['group.id']}.sink.{q.sink.name}"
            config = {**kafka, "group.id": group}
            q.feed = AlertFeed(config, topic, q.fed, loop, self.settings.queue_size, q.sink.name)
            q.feed.start()
            self.feeds.append(q.feed)

    async def stop(self) -> None:
        for q in self.queues:
            if not q.queue.empty():
                log.warning(
                    "%s: stopping with %d requests not delivered; their alerts are on dlp.alerts%s",
                    q.sink.name,
                    q.queue.qsize(),
                    " (delivered after the restart)" if q.feed is not None else "",
                )
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for feed in self.feeds:  # commits what was delivered
            await asyncio.to_thread(feed.stop)
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

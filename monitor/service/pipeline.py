"""One batch through every stage: decode → dead-letter → detectors → state → alerts → outputs.

Independent of Faust so the worker, replay and tests run the same code. `process`
returns only when every effect of the batch is durable (Redis updated, alerts and
dead letters acknowledged by Kafka): the caller may then ack the input messages.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import orjson

from detectors.base import Finding
from detectors.event import Event
from detectors.state.actor import NO_HORIZON
from monitor.service import deadletter, metrics
from monitor.service.alerts import Alert, Alerts
from monitor.service.assignments import TRUSTABLE, Assignments, Trust, trusted_kinds
from monitor.service.canary.check import CanaryCheck
from monitor.service.canary.routing import route
from monitor.service.channels import Channel
from monitor.service.detection import Detection, Outcome
from monitor.service.events import Canary, Rejection, decode_message
from monitor.service.kafka_io import OutputProducer
from monitor.service.latency_log import LatencyLog
from monitor.service.ledger import DeadLetter
from monitor.service.watermarks import Partition, SingleClock, Watermarks

if TYPE_CHECKING:
    from monitor.service.sinks import AlertDelivery

log = logging.getLogger(__name__)

# "Now" in epoch ms for a batch's decisions, given its valid events. The worker uses the
# wall clock; replay passes an event-time clock so suppression and alert times follow the
# file. Contract checks (a timestamp too far in the future) always use the wall clock.
# Events applied in one store call at most (a batch of batch messages is sliced).
MAX_PLAN_EVENTS = 5000

Clock = Callable[[Sequence[Event]], int]


@dataclass(frozen=True, slots=True)
class Message:
    """A raw input message and where it came from."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass
class BatchResult:
    """What one batch did (for tests, replay and logs)."""

    events: int = 0
    rejected: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


class Pipeline:
    """The detection pipeline for a set of channels."""

    def __init__(
        self,
        channels: dict[str, Channel],
        detection: Detection,
        output: OutputProducer | None,
        alerts_topic: str,
        deadletter_topic: str,
        max_batch_elements: int = 1000,
        delivery: AlertDelivery | None = None,
        clock: Clock | None = None,
        assignments: Assignments | None = None,
        trust_events: bool = False,
        watermarks: Watermarks | SingleClock | None = None,
        tenants: frozenset[str] | None = None,
        event_channels: bool | None = None,
        canary: Canary | None = None,
    ) -> None:
        # trust_events (`replay --trust-events`): events' own assignments are taken as they
        # are; event_channels (replay, default: trust_events): so are their channel names
        # (a replayed file has no topic per channel). The worker sets neither.
        self.trust_events = trust_events
        self.tenants = tenants  # the registered tenants (monitor/service/tenants.py; None: any)
        # judges canary claims (monitor/service/canary/check.py); without a key none verifies
        self.canary = canary if canary is not None else CanaryCheck(b"")
        self.event_channels = trust_events if event_channels is None else event_channels
        self.assignments = assignments or Assignments()
        self.detection = detection
        self.set_channels(channels)
        self.alerts: Alerts = detection.alerts
        self.output = output
        self.alerts_topic = alerts_topic
        self.deadletter_topic = deadletter_topic
        self.max_batch_elements = max_batch_elements
        self.max_plan_events = MAX_PLAN_EVENTS
        self.clock = clock
        # event time: the worker's watermark over its partitions, or one clock (replay)
        self.watermarks = watermarks if watermarks is not None else SingleClock()
        self.delivery = delivery  # optional sinks, fed after dlp.alerts acked; never awaited
        self.latency_log = LatencyLog.from_env()  # benchmark only (BLINDAR_LATENCY_LOG)

    def set_channels(self, channels: dict[str, Channel]) -> None:
        """Use this channel registry (by topic) from the next batch on (live reload)."""
        self.mappers = {topic: channel.mapper() for topic, channel in channels.items()}
        self.channel_names = frozenset(channel.name for channel in channels.values())
        self.channels = channels
        self._trust()

    def set_assignments(self, assignments: Assignments) -> None:
        """Use these trusted assignments from the next batch on (live reload)."""
        self.assignments = assignments
        self._trust()

    def _trust(self) -> None:
        self.trusts = {
            topic: Trust(
                self.assignments,
                channel.name,
                "tenants" in channel.trusted,
                "team" in channel.trusted,
                "type" in channel.trusted,
            )
            for topic, channel in self.channels.items()
        }
        self.default_trust = Trust(self.assignments)
        # The kinds of trusted value some source gives (all of them when events are trusted).
        self.trusted = (
            TRUSTABLE
            if self.trust_events
            else trusted_kinds(
                self.assignments, (channel.trusted for channel in self.channels.values())
            )
        )
        if self.detection.ledger is not None:
            self.detection.ledger.channels = self.channel_names
            self.detection.ledger.use_trusted(self.trusted)

    def channel_of(self, topic: str) -> str:
        """The registered channel of a topic; "other" keeps metric labels bounded."""
        channel = self.channels.get(topic)
        return channel.name if channel else "other"

    def label(self, channel: str) -> str:
        return channel if channel in self.channel_names else "other"

    async def process(self, messages: Sequence[Message]) -> BatchResult:
        started = time.time()
        wall_ms = int(started * 1000)
        events, letters, newest = self.decode(messages, wall_ms)
        now_ms = wall_ms if self.clock is None else self.clock(events)
        # the watermark of the batches before: this batch's own events never make it late
        horizon = self.watermarks.advance(started) - self.detection.runner.lateness_ms
        self.watermarks.read(newest, started)
        ledger = self.detection.ledger
        # the dead letters go with the first store call (one of their own if no event is
        # valid), on the day of the pipeline's clock (the wall clock in the worker)
        dead = ledger.dead_letters(letters, now_ms) if ledger is not None and letters else None
        outcome = Outcome()
        for start in range(0, max(len(events), 1), self.max_plan_events):
            part = await self.detection.run(
                events[start : start + self.max_plan_events], now_ms, dead, horizon
            )
            dead = None
            merge(outcome, part)
        alerts = await self.publish(outcome, now_ms)
        self.observe(events, outcome, started, now_ms)
        if self.latency_log is not None:
            self.latency_log.record(events, int(time.time() * 1000))
        rejected = Counter(letter.reason for letter in letters)
        return BatchResult(len(events), len(letters), rejected, outcome.findings, alerts)

    async def record_dead_letters(self, letters: Sequence[DeadLetter], now_ms: int) -> None:
        """Dead letters decided outside a batch (a message that failed processing) into the
        assurance ledger, in a store call of their own."""
        ledger = self.detection.ledger
        if ledger is not None and letters:
            await self.detection.run([], now_ms, ledger.dead_letters(letters, now_ms))

    async def reject(self, message: Message, reason: str, detail: str) -> None:
        """Give up on a message (it failed processing even alone): dead-letter it with
        `reason`, wait for the dead letter to reach Kafka, and count it in the assurance
        ledger under no tenant, if the store takes it (the failure may have been the
        store's own: then it is logged, not raised)."""
        channel = self.channel_of(message.topic)
        rejection = Rejection(reason, detail)
        self.dead_letter(message, channel, [rejection], 0)
        if self.output is not None:
            await self.output.drain()
        letter = dead_letter(message, channel, rejection)
        try:
            await self.record_dead_letters([letter], int(time.time() * 1000))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("dead letter %s not counted in the ledger (%s)", letter.position,
                      type(exc).__name__)  # fmt: skip

    async def tick(self, now_ms: int, channels: Sequence[Channel]) -> list[Alert]:
        """Periodic check for detectors that judge the absence of events (channel_silence)."""
        detectors = [d for d in self.detection.runner.detectors if hasattr(d, "tick")]
        outcome = await self.detection.tick(detectors, now_ms, channels)
        return await self.publish(outcome, now_ms)

    async def publish(self, outcome: Outcome, now_ms: int) -> list[Alert]:
        """Decided alerts go to dlp.alerts; once Kafka acknowledged them they are written to
        the assurance ledger (with the repeats folded into open alerts) and confirmed in the
        store, then handed to the optional sinks. A crash in between publishes them again
        from the store (same uid, same document) and the ledger keeps them once."""
        alerts = [self.alerts.alert(p) for p in outcome.pending]
        self.send(alerts)
        if self.output is not None:
            await self.output.drain()
        paged_ms = int(time.time() * 1000) if self.clock is None else now_ms
        # canary alerts stop here: measured, flagged on dlp.alerts, never for the SOC
        soc = route(alerts, outcome.findings, outcome.repeats, self.detection.owner_key,
                    paged_ms, self.label)  # fmt: skip
        await self.detection.record_alerts(soc.alerts, soc.repeats, paged_ms)
        await self.detection.store.confirm(outcome.pending)
        if self.delivery is not None:
            self.delivery.submit(soc.alerts, soc.findings, now_ms)
        return alerts

    def decode(
        self, messages: Sequence[Message], now_ms: int
    ) -> tuple[list[Event], list[DeadLetter], dict[Partition, int]]:
        """Valid events, every dead-lettered element (sent to dlp.deadletter), and the
        newest event time read from each partition."""
        events: list[Event] = []
        rejected: list[DeadLetter] = []
        newest: dict[Partition, int] = {}
        per_channel: Counter[str] = Counter()
        for message in messages:
            channel = self.channel_of(message.topic)
            per_channel[channel] += 1
            good, bad = decode_message(
                message.value,
                channel,
                now_ms,
                self.mappers.get(message.topic),
                self.max_batch_elements,
                None if self.trust_events else self.trusts.get(message.topic, self.default_trust),
                self.tenants,
                self.canary,
            )
            events.extend(good if self.event_channels else self.registered(good, channel))
            if good:
                tp = (message.topic, message.partition)
                newest[tp] = max(newest.get(tp, NO_HORIZON), max(e.ts_ms for e in good))
            if bad:
                self.dead_letter(message, channel, bad, now_ms)
                rejected.extend(dead_letter(message, channel, rejection) for rejection in bad)
        for channel, count in per_channel.items():
            metrics.MESSAGES.labels(channel=channel).inc(count)
        return events, rejected, newest

    def registered(self, events: list[Event], channel: str) -> list[Event]:
        """Events whose `channel` names no registered channel take their topic's channel
        (counted): invented names never create state or metric labels."""
        names = self.channel_names
        if all(event.channel in names for event in events):
            return events
        fixed = [e if e.channel in names else replace(e, channel=channel) for e in events]
        unregistered = sum(1 for event in events if event.channel not in names)
        metrics.UNREGISTERED_CHANNEL.labels(channel=channel).inc(unregistered)
        return fixed

    def dead_letter(
        self, message: Message, channel: str, rejections: Sequence[Rejection], now_ms: int
    ) -> None:
        """One bounded dead letter for a message, listing each of its bad elements."""
        for rejection in rejections:
            metrics.INVALID.labels(channel=channel, reason=rejection.reason).inc()
        origin = deadletter.Origin(
            message.topic, message.partition, message.offset, channel, message.key, message.value
        )
        if self.output is not None:
            key = None if message.key is None else message.key[: deadletter.MAX_KEY_BYTES]
            self.output.send(
                self.deadletter_topic,
                key,
                deadletter.encode(origin, rejections, now_ms),
                headers=[("reason", rejections[0].reason.encode())],
                smaller=lambda: deadletter.encode(origin, rejections, now_ms, smaller=True),
            )

    def send(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            metrics.ALERTS.labels(
                detector=alert.finding.detector,
                severity=str(alert.finding.severity),
                kind=alert.kind,
            ).inc()
            log.info(
                "alert %s %s tenant=%s actor=%s uid=%s: %s",
                alert.kind,
                alert.finding.detector,
                alert.finding.tenant,
                alert.finding.actor,
                alert.uid,
                alert.finding.title,
            )
            if self.output is not None:
                self.output.send(self.alerts_topic, alert.key, orjson.dumps(alert.document))

    def observe(
        self, events: Sequence[Event], outcome: Outcome, started: float, now_ms: int
    ) -> None:
        """Batch metrics, each metric and label set touched once per batch; the processing
        lag is event time to decision on the pipeline's clock."""
        if outcome.duplicates:
            metrics.DUPLICATE_EVENTS.inc(outcome.duplicates)
        self.count_channels(metrics.EVENT_ID_REUSED, outcome.reused)
        self.count_channels(metrics.LATE_EVENTS, outcome.late)
        self.count_channels(metrics.DROPPED_LATE_EVENTS, outcome.dropped)
        done = time.time()
        decided = now_ms / 1000 + (done - started)
        metrics.BATCH_SIZE.observe(len(events))
        metrics.BATCH_SECONDS.observe(done - started)
        per_action = Counter((e.channel, e.action if e.known_action else "other") for e in events)
        for (channel, action), count in per_action.items():
            metrics.EVENTS.labels(channel=self.label(channel), action=action).inc(count)
        times: dict[str, list[int]] = {}
        for event in events:
            label = self.label(event.channel)
            found = times.get(label)
            if found is None:
                times[label] = [event.ts_ms]
            else:
                found.append(event.ts_ms)
        for channel, stamps in times.items():
            lags = [max(0.0, decided - ts_ms / 1000) for ts_ms in stamps]
            metrics.observe_many(metrics.PROCESSING_LAG.labels(channel=channel), lags)
            newest = max(stamps)
            if newest > 0:
                metrics.LAST_EVENT.labels(channel=channel).set(newest / 1000)

    def count_channels(self, counter: metrics.Counter, events: Sequence[Event]) -> None:
        """One increment per channel label of `counter` for `events`."""
        for channel, count in Counter(self.label(e.channel) for e in events).items():
            counter.labels(channel=channel).inc(count)


def dead_letter(message: Message, channel: str, rejection: Rejection) -> DeadLetter:
    """A rejected element for the ledger: its message's position counts it once."""
    position = f"{message.topic}:{message.partition}:{message.offset}"
    return DeadLetter(position, channel, rejection.reason, rejection.tenant)


def merge(outcome: Outcome, part: Outcome) -> None:
    outcome.findings += part.findings
    outcome.pending += part.pending
    outcome.repeats += part.repeats
    outcome.applied += part.applied
    outcome.duplicates += part.duplicates
    outcome.reused += part.reused
    outcome.late += part.late
    outcome.dropped += part.dropped

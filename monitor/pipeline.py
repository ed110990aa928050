"""One batch through every stage: decode → dead-letter → detectors → state → alerts → outputs.

Independent of Faust so the worker, replay and tests run the same code. `process`
returns only when every effect of the batch is durable (Redis updated, alerts and
dead letters acknowledged by Kafka): the caller may then ack the input messages.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import orjson

from detectors.base import Detector, Finding
from detectors.batch import as_batch
from detectors.event import Event
from detectors.state import Plan, StateStore
from monitor import deadletter, metrics
from monitor.alerts import Alert, AlertEngine
from monitor.assignments import Assignments, Trust
from monitor.channels import Channel
from monitor.events import Rejection, decode_message
from monitor.kafka_io import OutputProducer

if TYPE_CHECKING:
    from monitor.sinks import AlertDelivery

log = logging.getLogger(__name__)

# "Now" in epoch ms for a batch's decisions, given its valid events. The worker uses the
# wall clock; replay passes an event-time clock so suppression and alert times follow the
# file. Contract checks (a timestamp too far in the future) always use the wall clock.
# Events planned into one Redis call at most (a batch of batch messages is sliced).
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


def allowlisted(detector: Detector, finding: Finding, team: str | None) -> bool:
    """True when the finding's actor, or its trusted `team`, is on the detector's allowlist
    for the tenant (a team the event only claimed never allowlists)."""
    tuning = getattr(detector, "tuning", None)
    if tuning is None:
        return False
    return tuning.allowlist_for(finding.tenant).allows_actor(finding.actor, team)


class Pipeline:
    """The detection pipeline for a set of channels."""

    def __init__(
        self,
        channels: dict[str, Channel],
        detectors: Sequence[Detector],
        state: StateStore,
        alerts: AlertEngine,
        output: OutputProducer | None,
        alerts_topic: str,
        deadletter_topic: str,
        max_batch_elements: int = 1000,
        delivery: AlertDelivery | None = None,
        clock: Clock | None = None,
        assignments: Assignments | None = None,
        trust_events: bool = False,
    ) -> None:
        # trust_events (replay of an operator's own file): events' channel names and
        # assignments are taken as they are; the worker never sets it.
        self.trust_events = trust_events
        self.assignments = assignments or Assignments()
        self.set_channels(channels)
        self.detectors = list(detectors)
        self.state = state
        self.alert_engine = alerts
        self.output = output
        self.alerts_topic = alerts_topic
        self.deadletter_topic = deadletter_topic
        self.max_batch_elements = max_batch_elements
        self.max_plan_events = MAX_PLAN_EVENTS
        self.clock = clock
        self.delivery = delivery  # optional sinks, fed after dlp.alerts acked; never awaited

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
            )
            for topic, channel in self.channels.items()
        }
        self.default_trust = Trust(self.assignments)

    def channel_of(self, topic: str) -> str:
        """The registered channel of a topic; "other" keeps metric labels bounded."""
        channel = self.channels.get(topic)
        return channel.name if channel else "other"

    def label(self, channel: str) -> str:
        return channel if channel in self.channel_names else "other"

    async def process(self, messages: Sequence[Message]) -> BatchResult:
        started = time.time()
        wall_ms = int(started * 1000)
        events, rejected = self.decode(messages, wall_ms)
        now_ms = wall_ms if self.clock is None else self.clock(events)
        findings = await self.detect(events)
        alerts = await self.alert_engine.decide(findings, now_ms)
        self.publish(alerts)
        if self.output is not None:
            await self.output.drain()
        await self.alert_engine.confirm(alerts)
        if self.delivery is not None:
            self.delivery.submit(alerts, findings, now_ms)
        self.observe(events, started, now_ms)
        return BatchResult(len(events), sum(rejected.values()), rejected, findings, alerts)

    def decode(self, messages: Sequence[Message], now_ms: int) -> tuple[list[Event], Counter[str]]:
        events: list[Event] = []
        rejected: Counter[str] = Counter()
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
            )
            events.extend(good if self.trust_events else self.registered(good, channel))
            if bad:
                self.dead_letter(message, channel, bad, now_ms)
                rejected.update(r.reason for r in bad)
        for channel, count in per_channel.items():
            metrics.MESSAGES.labels(channel=channel).inc(count)
        return events, rejected

    def registered(self, events: list[Event], channel: str) -> list[Event]:
        """Events whose `channel` names no registered channel take their topic's channel
        (counted): invented names never create state or metric labels."""
        names = self.channel_names
        if all(event.channel in names for event in events):
            return events
        fixed = []
        for event in events:
            if event.channel not in names:
                metrics.UNREGISTERED_CHANNEL.labels(channel=channel).inc()
                event = replace(event, channel=channel)
            fixed.append(event)
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

    async def detect(self, events: Sequence[Event]) -> list[Finding]:
        """Run every detector; a batch larger than `max_plan_events` (batch messages of
        hundreds of events each) goes to Redis in slices, so one Lua call stays bounded."""
        findings: list[Finding] = []
        for start in range(0, len(events), self.max_plan_events):
            findings.extend(await self._detect_slice(events[start : start + self.max_plan_events]))
        return findings

    async def _detect_slice(self, events: Sequence[Event]) -> list[Finding]:
        plan = Plan()
        batch = as_batch(events)
        pending = [(d, d.plan(batch, plan)) for d in self.detectors]
        results = await self.state.apply(plan)
        teams = {e.actor_id: e.trusted_team for e in events if e.trusted_team is not None}
        return [
            finding
            for detector, p in pending
            for finding in p.findings(results)
            if not allowlisted(detector, finding, teams.get(finding.actor))
        ]

    async def tick(self, now_ms: int, channels: Sequence[Channel]) -> list[Alert]:
        """Periodic check for detectors that judge the absence of events (channel_silence):
        they plan against the wall clock, then findings go through the alert engine."""
        plan = Plan()
        pending = [
            (d, d.tick(now_ms, channels, plan)) for d in self.detectors if hasattr(d, "tick")
        ]
        if not plan:
            return []
        results = await self.state.apply(plan)
        findings = [
            f for d, p in pending for f in p.findings(results) if not allowlisted(d, f, None)
        ]
        alerts = await self.alert_engine.decide(findings, now_ms)
        self.publish(alerts)
        if self.output is not None:
            await self.output.drain()
        await self.alert_engine.confirm(alerts)
        if self.delivery is not None:
            self.delivery.submit(alerts, findings, now_ms)
        return alerts

    def publish(self, alerts: Sequence[Alert]) -> None:
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

    def observe(self, events: Sequence[Event], started: float, now_ms: int) -> None:
        """Batch metrics; the processing lag is event time to decision on the pipeline's clock."""
        done = time.time()
        decided = now_ms / 1000 + (done - started)
        metrics.BATCH_SIZE.observe(len(events))
        metrics.BATCH_SECONDS.observe(done - started)
        per_channel: Counter[tuple[str, str]] = Counter()
        latest: dict[str, int] = {}
        lag: dict[str, metrics.Histogram] = {}
        for event in events:
            channel = self.label(event.channel)
            per_channel[(channel, event.action if event.known_action else "other")] += 1
            if event.ts_ms > latest.get(channel, 0):
                latest[channel] = event.ts_ms
            child = lag.get(channel)
            if child is None:
                child = lag[channel] = metrics.PROCESSING_LAG.labels(channel=channel)
            child.observe(max(0.0, decided - event.ts_ms / 1000))
        for (channel, action), count in per_channel.items():
            metrics.EVENTS.labels(channel=channel, action=action).inc(count)
        for channel, ts_ms in latest.items():
            metrics.LAST_EVENT.labels(channel=channel).set(ts_ms / 1000)

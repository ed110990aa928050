"""`blindar replay`: run the detectors over a JSON-lines file in event time.

The file is streamed in batches through the same `Pipeline` the worker runs, with no
Kafka (alerts and dead letters are collected, not produced) and with an event-time
clock, so suppression and alert times follow the file rather than the wall clock.
State lives in a scratch Redis logical database under a key namespace unique to the
run; only that namespace's keys are deleted at the end, never a whole database.

Trust is the worker's: actors' tenants, teams and types come from the assignments file
and from channels configured `trusted:` (the `--channel` the file's events came from),
never from the events themselves, unless `--trust-events` says the file is the
operator's own and its events' values count. The report says which it did and the
controls that were not in force.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis

from detectors.event import Event
from monitor.service.alerts import Alert
from monitor.service.assignments import Assignments
from monitor.service.channels import Channel
from monitor.service.config import DetectorSettings
from monitor.service.controls import not_in_force_anywhere, not_in_force_text, snapshot
from monitor.service.detection import build_detection
from monitor.service.health import Health
from monitor.service.pipeline import BatchResult, Message, Pipeline
from monitor.service.state import RedisStore
from monitor.service.state.outages import with_retry
from monitor.service.state.store import is_cluster
from monitor.tools.scoring import DAY_MS, Label, Page, agent_days, format_table, score

log = logging.getLogger("blindar.replay")

REPLAY_TOPIC = "replay"


def scratch_url(url: str, db: int) -> str:
    """`url` pointing at logical database `db` (path and any `db=` query replaced)."""
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "db"])
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", query, parts.fragment))


def scratch_namespace() -> str:
    """A key prefix no other run uses."""
    return f"replay:{uuid.uuid4().hex[:12]}:"


async def drop_keys(client: aioredis.Redis, namespace: str) -> int:
    """Delete every key under `namespace`; returns how many. A Redis that is busy (a shared
    one running another client's long script) or away is waited for, as the state is."""
    return await with_retry(Health(), "drop", lambda: _drop_keys(client, namespace))


async def _drop_keys(client: aioredis.Redis, namespace: str) -> int:
    """Delete every key under `namespace` (SCAN + UNLINK in chunks); returns how many."""
    dropped = 0
    chunk: list[bytes] = []
    async for key in client.scan_iter(match=f"{namespace}*", count=1000):
        chunk.append(key)
        if len(chunk) >= 1000:
            dropped += await client.unlink(*chunk)
            chunk = []
    if chunk:
        dropped += await client.unlink(*chunk)
    return dropped


class StreamClock:
    """Event time of the stream (the running max of event timestamps), plus what the report
    needs from the events: first and last time, and the actors seen after the warm-up."""

    def __init__(self, warmup_ms: int = 0) -> None:
        self.warmup_ms = warmup_ms
        self.first_ms: int | None = None
        self.now_ms = 0
        self.measure_from_ms: int | None = None
        self.measured_actors: set[str] = set()
        self.channels: set[str] = set()

    def __call__(self, events: Sequence[Event]) -> int:
        if not events:
            return self.now_ms
        if self.first_ms is None:
            self.first_ms = min(e.ts_ms for e in events)
            self.measure_from_ms = self.first_ms + self.warmup_ms
        self.now_ms = max(self.now_ms, max(e.ts_ms for e in events))
        start = self.measure_from_ms
        self.measured_actors.update(e.actor_id for e in events if e.ts_ms >= start)
        self.channels.update(e.channel for e in events)
        return self.now_ms

    @property
    def measured_agent_days(self) -> float:
        return agent_days(len(self.measured_actors), self.measure_from_ms, self.now_ms)


@dataclass
class ActorFindings:
    """What one detector said about one actor during the replay."""

    detector: str
    tenant: str
    actor: str
    findings: int = 0
    pages: int = 0
    updates: int = 0
    max_observed: int = 0
    max_severity: int = 0
    first_page_ms: int | None = None


@dataclass
class ReplayReport:
    """Everything one replay measured."""

    lines: int = 0
    events: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    by_actor: dict[tuple[str, str, str], ActorFindings] = field(default_factory=dict)
    pages: list[Page] = field(default_factory=list)
    detectors: list[str] = field(default_factory=list)
    first_ms: int | None = None
    last_ms: int | None = None
    measure_from_ms: int | None = None
    actors: int = 0
    agent_days: float = 0.0
    channels: int = 0  # channels that sent events
    keys_dropped: int = 0
    trust: str = ""  # what the replay trusted (trust_text)
    not_in_force: list[dict[str, str]] = field(default_factory=list)

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def add(self, result: BatchResult) -> None:
        self.events += result.events
        self.rejected.update(result.rejected_by_reason)
        for finding in result.findings:
            entry = self._entry(finding.detector, finding.tenant, finding.actor)
            entry.findings += 1
            entry.max_observed = max(entry.max_observed, finding.observed)
            entry.max_severity = max(entry.max_severity, finding.severity)
        for alert in result.alerts:
            self._add_alert(alert)

    def _add_alert(self, alert: Alert) -> None:
        f = alert.finding
        entry = self._entry(f.detector, f.tenant, f.actor)
        if alert.kind != "new":
            entry.updates += 1
            return
        entry.pages += 1
        if entry.first_page_ms is None:
            entry.first_page_ms = f.window_end_ms
        self.pages.append(Page(f.detector, f.tenant, f.actor, f.window_start_ms, f.window_end_ms))

    def _entry(self, detector: str, tenant: str, actor: str) -> ActorFindings:
        key = (detector, tenant, actor)
        entry = self.by_actor.get(key)
        if entry is None:
            entry = self.by_actor[key] = ActorFindings(detector, tenant, actor)
        return entry

    def scored_pages(self) -> list[Page]:
        """Pages after the warm-up (the ones the backtest scores)."""
        start = self.measure_from_ms or 0
        return [p for p in self.pages if p.window_end_ms >= start]

    def scored_labels(self, labels: Sequence[Label]) -> list[Label]:
        start = self.measure_from_ms or 0
        return [label for label in labels if label.end_ms >= start]


class Progress:
    """A progress bar on stderr by bytes read: redrawn in place on a terminal, else a line
    every 10%."""

    def __init__(self, total_bytes: int, out: IO[str] | None = None) -> None:
        self.total = max(total_bytes, 1)
        self.out = out or sys.stderr
        self.tty = self.out.isatty()
        self.started = time.monotonic()
        self.last_draw = 0.0
        self.last_step = -1

    def update(self, done_bytes: int, events: int, force: bool = False) -> None:
        fraction = min(done_bytes / self.total, 1.0)
        step = int(fraction * 10)
        now = time.monotonic()
        if self.tty and not force and now - self.last_draw < 0.2:
            return
        if not self.tty and step == self.last_step:
            return
        self.last_draw, self.last_step = now, step
        elapsed = max(now - self.started, 1e-9)
        bar = "#" * int(fraction * 30)
        text = (
            f"replay [{bar:<30}] {fraction:6.1%} {events:>10,} events "
            f"{events / elapsed:>9,.0f} events/s"
        )
        self.out.write(f"\r{text}" if self.tty else f"{text}\n")
        self.out.flush()

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()


@dataclass(frozen=True)
class ReplayOptions:
    """How to run one replay."""

    redis_url: str
    redis_db: int  # the scratch logical database
    batch_size: int = 2000
    warmup_days: float = 0.0
    pseudonym_key: bytes = b""
    channel: Channel | None = None
    progress: bool = True
    namespace: str | None = None  # key prefix; default: a fresh one per run
    channels: Sequence[Channel] = ()  # registered channels: silence periods, quiet hours
    # Trust as the worker's (the assignments file, a --channel trusted for them), unless
    # trust_events: the events' own tenants, team and type count.
    assignments: Assignments = field(default_factory=Assignments)
    trust_events: bool = False


def batches(stream: IO[bytes], size: int, topic: str) -> Iterator[tuple[list[Message], int]]:
    """Non-blank lines as messages (offset = line number), `size` at a time, with the bytes
    read so far."""
    batch: list[Message] = []
    done = 0
    for number, line in enumerate(stream, start=1):
        done += len(line)
        line = line.strip()
        if not line:
            continue
        batch.append(Message(topic, 0, number, None, line))
        if len(batch) >= size:
            yield batch, done
            batch = []
    if batch:
        yield batch, done


async def replay_file(
    path: str | Path, detector_settings: DetectorSettings, options: ReplayOptions
) -> ReplayReport:
    """Replay one file through the detectors on scratch Redis (a scratch logical database;
    on a Redis Cluster, which has one database, only the scratch namespace); the namespace
    is dropped after."""
    health = Health()
    url = options.redis_url
    if not await is_cluster(url):
        url = scratch_url(url, options.redis_db)
    store = await RedisStore.open(url, health)
    namespace = options.namespace or scratch_namespace()
    try:
        report = await _run(Path(path), store, namespace, detector_settings, options)
    finally:
        dropped = await drop_keys(store.client, namespace)  # type: ignore[arg-type]
        log.info("dropped %d scratch keys under %s", dropped, namespace)
        await store.aclose()
    report.keys_dropped = dropped
    return report


async def _run(
    path: Path,
    store: RedisStore,
    namespace: str,
    detector_settings: DetectorSettings,
    options: ReplayOptions,
) -> ReplayReport:
    detectors = detector_settings.build(namespace)
    for detector in detectors:
        watch = getattr(detector, "watch", None)  # channel_silence judges registered channels
        if watch is not None and options.channels:
            watch(options.channels)
    key = options.pseudonym_key or b"blindar-replay-scratch-key"
    detection = build_detection(detector_settings, store, key, namespace, detectors)
    clock = StreamClock(int(options.warmup_days * DAY_MS))
    channel = options.channel
    topic = channel.topic if channel else REPLAY_TOPIC
    pipeline = Pipeline(
        {topic: channel} if channel else {},
        detection,
        None,
        f"{namespace}alerts",
        f"{namespace}deadletter",
        clock=clock,
        assignments=options.assignments,
        trust_events=options.trust_events,
        event_channels=True,
    )
    report = ReplayReport(detectors=[d.name for d in detectors])
    report.trust = trust_text(options)
    report.not_in_force = not_in_force_anywhere(snapshot(detector_settings), pipeline.trusted)
    progress = Progress(path.stat().st_size) if options.progress else None
    started = time.perf_counter()
    with path.open("rb") as stream:
        for messages, done in batches(stream, options.batch_size, topic):
            report.lines += len(messages)
            report.add(await pipeline.process(messages))
            if progress:
                progress.update(done, report.events)
    report.seconds = time.perf_counter() - started
    if progress:
        progress.update(path.stat().st_size, report.events, force=True)
        progress.close()
    report.first_ms, report.last_ms = clock.first_ms, clock.now_ms or None
    report.measure_from_ms = clock.measure_from_ms
    report.actors = len(clock.measured_actors)
    report.channels = len(clock.channels)
    report.agent_days = clock.measured_agent_days
    return report


def trust_text(options: ReplayOptions) -> str:
    """What a replay trusts, in one line."""
    if options.trust_events:
        return "trusting the events' own tenants, team and type (--trust-events)"
    file = options.assignments
    sources = (
        [f"assignments file {file.source} ({len(file.by_actor)} actors)"] if file.source else []
    )
    channel = options.channel
    if channel is not None and channel.trusted:
        sources.append(f"channel {channel.name} (trusted: {', '.join(sorted(channel.trusted))})")
    return (
        f"trusting what the worker would: {'; '.join(sources) or 'no trusted source'}; "
        "the events' own tenants, team and type are not trusted (--trust-events trusts them)"
    )


def run_replay(
    path: str | Path, detector_settings: DetectorSettings, options: ReplayOptions
) -> ReplayReport:
    """replay_file on a fresh event loop."""
    return asyncio.run(replay_file(path, detector_settings, options))


# ---------------------------------------------------------------- the printed report


def iso(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def summary_text(report: ReplayReport) -> str:
    """Totals: lines, events, invalid by reason, span, speed."""
    lines = [
        f"replayed {report.lines:,} lines: {report.events:,} events, "
        f"{sum(report.rejected.values()):,} invalid in {report.seconds:.1f}s "
        f"({report.events_per_s:,.0f} events/s)",
        f"event time {iso(report.first_ms)} .. {iso(report.last_ms)}; "
        f"scored from {iso(report.measure_from_ms)}: {report.actors:,} actors, "
        f"{report.agent_days:,.1f} agent-days",
    ]
    for reason, count in report.rejected.most_common():
        lines.append(f"  invalid {reason}: {count:,}")
    if report.trust:
        lines.append(report.trust)
    if report.not_in_force:
        lines.append(f"controls NOT in force: {not_in_force_text(report.not_in_force)}")
    return "\n".join(lines)


def findings_text(report: ReplayReport, top: int = 20) -> str:
    """Findings per detector and actor, most paged first, `top` per detector."""
    lines = []
    for detector in report.detectors:
        rows = [a for a in report.by_actor.values() if a.detector == detector]
        rows.sort(key=lambda a: (-a.pages, -a.findings, a.tenant, a.actor))
        pages = sum(a.pages for a in rows)
        lines.append(f"{detector}: {pages} pages, {len(rows)} actors with findings")
        for a in rows[:top]:
            lines.append(
                f"  {a.tenant}/{a.actor}: pages={a.pages} updates={a.updates} "
                f"findings={a.findings} max_observed={a.max_observed} "
                f"max_severity={a.max_severity} first_page={iso(a.first_page_ms)}"
            )
        if len(rows) > top:
            lines.append(f"  ... and {len(rows) - top} more actors")
    return "\n".join(lines)


def backtest(report: ReplayReport, labels: Sequence[Label]) -> tuple[dict[str, Any], str]:
    """Precision and recall per detector against `labels`: (figures, table text)."""
    scored = report.scored_labels(labels)
    scores = score(report.detectors, scored, report.scored_pages())
    other = Counter(label.detector for label in scored if label.detector not in scores)
    text = format_table(scores, report.agent_days)
    if other:
        listed = ", ".join(f"{name} ({n})" for name, n in sorted(other.items()))
        text += f"\nlabels for detectors that did not run: {listed}"
    missed = [f"  missed {s.detector}: {m}" for s in scores.values() for m in s.missed]
    if missed:
        text += "\n" + "\n".join(missed)
    figures = {
        "agent_days": report.agent_days,
        "detectors": {name: s.as_dict(report.agent_days) for name, s in scores.items()},
        "labels_for_other_detectors": dict(other),
    }
    return figures, text


def report_json(report: ReplayReport, scores: dict[str, Any] | None) -> dict[str, Any]:
    """The figures `--json` writes."""
    return {
        "lines": report.lines,
        "events": report.events,
        "invalid": dict(report.rejected),
        "seconds": report.seconds,
        "events_per_s": report.events_per_s,
        "first_ms": report.first_ms,
        "last_ms": report.last_ms,
        "measure_from_ms": report.measure_from_ms,
        "actors": report.actors,
        "agent_days": report.agent_days,
        "pages": {
            d: sum(1 for p in report.scored_pages() if p.detector == d) for d in report.detectors
        },
        "findings": [vars(a) for a in report.by_actor.values()],
        "backtest": scores,
        "trust": report.trust,
        "controls_not_in_force": report.not_in_force,
    }

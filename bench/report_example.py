"""Render the assurance report example of docs/report.md: `python -m bench.report_example
[OUT.png]` (default docs/report-example.png).

Two simulated weekdays (after a week of warm-up, so channel_silence knows each channel's
usual traffic) of two tenants go through the worker's own Pipeline, with the ledger, on
the local Redis in a fresh key namespace dropped afterwards. Batches are cut every 10 s of
event time as a live worker's would be; now and then a producer sends a broken message or
an event without an actor, and three leaks are injected for one tenant. Its report is
written next to the PNG (HTML and JSON) and rendered by headless Chromium. Takes about a
quarter of an hour.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import redis

from detectors.scenarios import SCENARIOS
from monitor.service import controls
from monitor.service.channels import load_channels
from monitor.service.config import load_detectors
from monitor.service.detection import build_detection
from monitor.service.health import Health
from monitor.service.pipeline import Message, Pipeline
from monitor.service.pseudonym import Pseudonymizer
from monitor.service.settings import DEFAULT_CONFIG_DIR, REPO_ROOT, Settings
from monitor.service.state import RedisStore, connect
from monitor.tools.ledger_reader import LedgerReader
from monitor.tools.replay import StreamClock
from monitor.tools.report import LedgerView, Period, build_report, read_view
from monitor.tools.report_html import render_html
from simulator.model import TEAM_KINDS
from simulator.periods import inject, period
from simulator.population import Population
from tests.chromium import render_page

DAY_MS = 86_400_000
WINDOW_MS = 10_000  # event time per batch, as a live worker batches
LEAKS = ("bulk_export", "exfil_sequence", "enumeration")
AGENTS, TENANTS = 80, 2
WARMUP_DAYS, DAYS = 7, 2


def windows(events: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Events in batches of WINDOW_MS of event time."""
    batch: list[dict[str, Any]] = []
    for event in events:
        if batch and event["ts"] - batch[0]["ts"] >= WINDOW_MS:
            yield batch
            batch = []
        batch.append(event)
    if batch:
        yield batch


def one_tenant_leaks(start_ms: int) -> tuple[Population, int, str]:
    """The first seed whose injected leaks all belong to one tenant: population, seed, tenant."""
    for seed in range(1, 500):
        population = Population(seed, agents=AGENTS, tenants=TENANTS)
        at = start_ms + WARMUP_DAYS * DAY_MS
        _, labels = inject(population, LEAKS, seed, at, DAYS * 86_400, registry=SCENARIOS)
        tenants = {label["tenant"] for label in labels}
        if len(tenants) == 1:
            return population, seed, tenants.pop()
    raise RuntimeError("no seed puts every leak on one tenant")


def main_channel(population: Population, tenant: str) -> str:
    """The channel most of the tenant's teams work on."""
    kinds = Counter(TEAM_KINDS[t.kind][0][0] for t in population.teams if t.tenant.name == tenant)
    return kinds.most_common(1)[0][0]


async def fill_ledger(settings: Settings, start_ms: int) -> str:
    """Run the simulated days through the pipeline; returns the tenant with the leaks."""
    registry = load_channels(DEFAULT_CONFIG_DIR / "channels.yaml")
    detector_settings = load_detectors(DEFAULT_CONFIG_DIR / "detectors.yaml")
    client = connect(settings.redis_url)
    detectors = detector_settings.build(settings.redis_prefix)
    for detector in detectors:
        if hasattr(detector, "watch"):
            detector.watch(registry.channels)
    store = RedisStore(client, Health())
    detection = build_detection(
        detector_settings, store, settings.pseudonym_key, settings.redis_prefix, detectors
    )
    pipeline = Pipeline(
        registry.by_topic(""), detection, None, "alerts", "deadletter", clock=StreamClock()
    )
    population, seed, tenant = one_tenant_leaks(start_ms)
    events, _ = period(
        population, seed, start_ms, DAYS * 86_400, LEAKS, WARMUP_DAYS * 86_400, registry=SCENARIOS
    )
    channel = main_channel(population, tenant)
    topics = {c.name: c.topic for c in registry.channels}
    offsets = itertools.count()  # one input partition per topic would do: positions are unique
    for n, batch in enumerate(windows(events)):
        messages = [
            Message(topics[e["channel"]], 0, next(offsets), None, orjson.dumps(e)) for e in batch
        ]
        if n % 500 == 7:  # now and then a producer sends something broken
            messages.append(Message(topics["voice"], 0, next(offsets), None, b"{truncated"))
            half = {"event_id": f"half-{n}", "tenant": tenant, "ts": batch[0]["ts"]}
            messages.append(Message(topics[channel], 0, next(offsets), None, orjson.dumps(half)))
        await pipeline.process(messages)
    await client.aclose()
    return tenant


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else REPO_ROOT / "docs" / "report-example.png"
    settings = replace(Settings.from_env(), namespace=f"example{uuid.uuid4().hex[:8]}:")
    today = datetime.now(UTC).date()
    first = today - timedelta(days=today.weekday() + 6)  # Tuesday of last week
    warmup = first - timedelta(days=WARMUP_DAYS)
    start_ms = int(datetime(warmup.year, warmup.month, warmup.day, tzinfo=UTC).timestamp() * 1000)
    client = redis.Redis.from_url(settings.redis_url)
    try:
        tenant = asyncio.run(fill_ledger(settings, start_ms))
        span = Period(first, first + timedelta(days=DAYS - 1))
        report = make_report(settings, tenant, span)
    finally:
        keys = list(client.scan_iter(match=f"{settings.redis_prefix}*", count=1000))
        for chunk in range(0, len(keys), 500):
            client.delete(*keys[chunk : chunk + 500])
    page = out.with_suffix(".html")
    page.write_text(render_html(report), encoding="utf-8")
    out.with_suffix(".json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    shown = render_page(page, out)
    print(
        f"{out}: report of {tenant}; render errors: {shown.errors or 'none'}; silences: "
        f"{[(s['channel'], s['last_event_at']) for s in report['coverage']['silences']]}"
    )
    return 1 if shown.errors else 0


def make_report(settings: Settings, tenant: str, span: Period) -> dict[str, Any]:
    async def read() -> LedgerView:
        client = connect(settings.redis_url)
        try:
            reader = LedgerReader(RedisStore(client, Health()), settings.redis_prefix)
            return await read_view(reader, tenant, span)
        finally:
            await client.aclose()

    view = asyncio.run(read())
    current = controls.snapshot(load_detectors(DEFAULT_CONFIG_DIR / "detectors.yaml"))
    generated = int(time.time() * 1000)
    pseudonymize = Pseudonymizer(settings.pseudonym_key)
    return build_report(
        tenant, span, view, generated, pseudonymize, current, controls.config_hash(current), 400
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""`blindar channels check|add|list`: onboard a channel without writing Python.

- check: run sample lines through the channel's mapping and the contract exactly as the
  worker would; print each normalized event or the dead-letter reason.
- add: validate the registry and create the channel's topic with its partitions.
- list: every channel with its topic, partitions (from Kafka), events/s and last event
  time (from the running workers' /metrics).
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from monitor.service.channels import Channel, Registry, load_channels
from monitor.service.config import ConfigError
from monitor.service.contract import event_document
from monitor.service.events import decode_message
from monitor.service.settings import Settings


def add_channel_commands(sub: Any) -> None:
    """Register `channels` and its actions on the top-level subparsers."""
    parser = sub.add_parser("channels", help="check, add and list channels")
    actions = parser.add_subparsers(required=True, metavar="ACTION")
    p = actions.add_parser("check", help="validate a channel and map sample events")
    p.add_argument("name")
    p.add_argument("--sample", type=Path, help="JSON lines, one message per line")
    p.set_defaults(run=cmd_check)
    p = actions.add_parser("add", help="validate a channel and create its topic")
    p.add_argument("name")
    p.set_defaults(run=cmd_add)
    p = actions.add_parser("list", help="channels with topic, partitions, events/s, last event")
    p.add_argument(
        "--metrics-url",
        action="append",
        default=[],
        metavar="URL",
        help="a worker's /metrics (repeatable; default: BLINDAR_WEB_HOST:BLINDAR_WEB_PORT)",
    )
    p.add_argument("--interval", type=float, default=2.0, help="seconds between two scrapes")
    p.set_defaults(run=cmd_list)


def registry_channel(settings: Settings, name: str) -> tuple[Registry, Channel]:
    registry = load_channels(settings.config_dir / "channels.yaml")
    channel = registry.by_name().get(name)
    if channel is None:
        raise ConfigError(
            f"channel {name!r} is not defined (add channels.d/{name}.yaml or an entry in"
            f" channels.yaml; known: {', '.join(registry.names())})"
        )
    return registry, channel


def cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    _, channel = registry_channel(settings, args.name)
    print(f"{channel.source}: ok: channel {channel.name}, topic {settings.topic(channel.topic)}")
    if args.sample is None:
        return 0
    return 0 if check_sample(channel, args.sample.read_bytes(), sys.stdout) else 1


def check_sample(channel: Channel, data: bytes, out: Any, now_ms: int | None = None) -> bool:
    """Print what the worker would make of each line; True if none would be dead-lettered."""
    now_ms = now_ms or int(time.time() * 1000)
    mapper = channel.mapper()
    passed = failed = 0
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        events, rejections = decode_message(line, channel.name, now_ms, mapper)
        for event in events:
            passed += 1
            out.write(f"line {number}: ok {orjson.dumps(event_document(event)).decode()}\n")
        for r in rejections:
            failed += 1
            at = f" [element {r.index}]" if r.index is not None else ""
            out.write(f"line {number}{at}: dead-letter {r.reason}: {r.detail}\n")
    out.write(f"{passed} passed, {failed} would be dead-lettered\n")
    return failed == 0 and passed > 0


def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    from monitor.service.kafka_io import ensure_topics, topic_partitions
    from monitor.tools.topics import input_topic_spec

    _, channel = registry_channel(settings, args.name)
    topic = settings.topic(channel.topic)
    created = ensure_topics(settings, [input_topic_spec(settings, channel)])
    if created:
        print(f"created topic {topic} with {channel.partitions} partitions")
        return 0
    actual = topic_partitions(settings, [topic]).get(topic)
    print(f"topic {topic} already exists with {actual} partitions")
    if actual != channel.partitions:
        print(
            f"warning: {channel.source} asks for {channel.partitions} partitions",
            file=sys.stderr,
        )
    return 0


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    from monitor.service.kafka_io import topic_partitions

    registry = load_channels(settings.config_dir / "channels.yaml")
    topics = [settings.topic(c.topic) for c in registry.channels]
    partitions = topic_partitions(settings, topics)
    urls = args.metrics_url or [f"http://{settings.web_host}:{settings.web_port}/metrics"]
    first = scrape_all(urls)
    if first is not None:
        time.sleep(args.interval)
    second = scrape_all(urls)
    rows = [("CHANNEL", "TOPIC", "PARTITIONS", "EVENTS/S", "LAST EVENT")]
    for c, topic in zip(registry.channels, topics, strict=True):
        rows.append(
            (
                c.name,
                topic,
                str(partitions.get(topic, "missing")),
                _rate(first, second, c.name, args.interval),
                _last(second, c.name),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    if second is None:
        print(f"(worker metrics not reachable at {', '.join(urls)})", file=sys.stderr)
    return 0


Samples = dict[tuple[str, str], float]


def scrape_all(urls: list[str]) -> Samples | None:
    """Per-channel events total and latest event time, summed/maxed over workers."""
    merged: Samples = {}
    reached = False
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                text = resp.read().decode()
        except OSError:
            continue
        reached = True
        for (metric, channel), value in parse_metrics(text).items():
            if metric == "events":
                merged[(metric, channel)] = merged.get((metric, channel), 0.0) + value
            else:
                merged[(metric, channel)] = max(merged.get((metric, channel), 0.0), value)
    return merged if reached else None


def parse_metrics(text: str) -> Samples:
    """blindar_events_total summed by channel; last event time by channel."""
    names = {
        "blindar_events_total": "events",
        "blindar_channel_last_event_timestamp_seconds": "last",
    }
    out: Samples = {}
    for line in text.splitlines():
        name, _, rest = line.partition("{")
        kind = names.get(name)
        if kind is None or 'channel="' not in rest:
            continue
        channel = rest.split('channel="', 1)[1].split('"', 1)[0]
        value = float(line.rsplit(" ", 1)[1])
        out[(kind, channel)] = out.get((kind, channel), 0.0) + value
    return out


def _rate(first: Samples | None, second: Samples | None, channel: str, seconds: float) -> str:
    if first is None or second is None:
        return "-"
    delta = second.get(("events", channel), 0.0) - first.get(("events", channel), 0.0)
    return f"{max(delta, 0.0) / seconds:.1f}"


def _last(samples: Samples | None, channel: str) -> str:
    if samples is None or not samples.get(("last", channel)):
        return "-"
    moment = datetime.fromtimestamp(samples[("last", channel)], UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

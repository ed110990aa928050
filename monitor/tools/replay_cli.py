"""`blindar replay FILE.jsonl [--labels L.jsonl]`: findings and, with labels, a backtest."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from monitor.service.settings import Settings

# A logical database deployments do not use by default; keys are namespaced per run anyway.
DEFAULT_REDIS_DB = 15


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="events, one JSON object per line")
    p.add_argument("--labels", type=Path, help="scenario labels (JSON lines) for a backtest")
    p.add_argument(
        "--detectors",
        type=Path,
        metavar="YAML",
        help="detector config to test (default: detectors.yaml of BLINDAR_CONFIG_DIR)",
    )
    p.add_argument(
        "--channel", help="the file holds raw events of this channel (apply its mapping)"
    )
    add_trust_arguments(p)
    p.add_argument("--redis-url", help="Redis to use (default: REDIS_URL)")
    p.add_argument(
        "--redis-db",
        type=int,
        default=DEFAULT_REDIS_DB,
        help=f"scratch logical database (default {DEFAULT_REDIS_DB})",
    )
    p.add_argument("--batch", type=int, default=2000, help="events per batch (default 2000)")
    p.add_argument(
        "--warmup-days",
        type=float,
        default=0.0,
        metavar="DAYS",
        help="run the first DAYS of the file but score only what follows",
    )
    p.add_argument("--top", type=int, default=20, help="actors listed per detector (default 20)")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the figures as JSON")
    p.add_argument("--no-progress", action="store_true")


def add_trust_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--trust-events",
        action="store_true",
        help="take the events' own actor.tenants, team and type as trusted (a file of your "
        "own); by default only what the worker trusts counts: the assignments file and "
        "channels configured trusted",
    )
    p.add_argument(
        "--assignments",
        type=Path,
        metavar="FILE",
        help="the trusted assignments file (default: the worker's, BLINDAR_ASSIGNMENTS_FILE "
        "or assignments.yaml/.csv in the config directory)",
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    import orjson

    from monitor.service.assignments import load_assignments
    from monitor.service.channels import load_channels
    from monitor.service.config import ConfigError, load_detectors
    from monitor.tools.replay import (
        ReplayOptions,
        backtest,
        findings_text,
        report_json,
        run_replay,
        summary_text,
    )
    from monitor.tools.scoring import read_labels

    if not args.file.is_file():
        print(f"blindar replay: {args.file}: no such file", file=sys.stderr)
        return 2
    detector_settings = load_detectors(args.detectors or settings.config_dir / "detectors.yaml")
    channel = None
    registry = load_channels(settings.config_dir / "channels.yaml")
    if args.channel:
        found = [c for c in registry.channels if c.name == args.channel]
        if not found:
            raise ConfigError(f"--channel {args.channel}: not in channels.yaml")
        channel = found[0]
    labels = read_labels(args.labels) if args.labels else None
    logging.getLogger("monitor.service.pipeline").setLevel(logging.WARNING)
    options = ReplayOptions(
        redis_url=args.redis_url or settings.redis_url,
        redis_db=args.redis_db,
        batch_size=args.batch,
        warmup_days=args.warmup_days,
        pseudonym_key=settings.pseudonym_key,
        channel=channel,
        progress=not args.no_progress,
        channels=registry.channels,
        assignments=load_assignments(args.assignments or settings.assignments_file),
        trust_events=args.trust_events,
    )
    report = run_replay(args.file, detector_settings, options)
    print(summary_text(report))
    print()
    print(findings_text(report, args.top))
    figures = None
    if labels is not None:
        figures, table = backtest(report, labels)
        print()
        print(table)
    if args.json:
        args.json.write_bytes(
            orjson.dumps(report_json(report, figures), option=orjson.OPT_INDENT_2) + b"\n"
        )
    return 0

"""`blindar report`: the per-tenant assurance report (HTML + JSON twin) from the ledger."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from datetime import date
from pathlib import Path

import orjson

from monitor.service import controls
from monitor.service.assignments import load_assignments, trusted_kinds
from monitor.service.channels import load_channels
from monitor.service.config import load_detectors
from monitor.service.health import Health
from monitor.service.pseudonym import Pseudonymizer
from monitor.service.security import redact_url
from monitor.service.settings import Settings
from monitor.service.state import RedisStore
from monitor.tools.ledger_reader import LedgerReader
from monitor.tools.report import MONITOR_TENANT, LedgerView, Period, build_report, read_view
from monitor.tools.report_html import render_html

READ_TIMEOUT_S = 60.0


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tenant", required=True, help="the tenant (BPO client) to report on")
    p.add_argument("--from", dest="first", required=True, type=day, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="last", required=True, type=day, metavar="YYYY-MM-DD")
    p.add_argument(
        "--out",
        type=Path,
        metavar="REPORT.html",
        help="HTML file (default: report-TENANT-FROM-TO.html); the JSON twin goes beside it",
    )


def default_out(tenant: str, period: Period) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", tenant)[:60]
    return Path(f"report-{safe}-{period.first}-{period.last}.html")


def run(settings: Settings, args: argparse.Namespace) -> int:
    try:
        period = Period(args.first, args.last)
    except ValueError as exc:
        print(f"blindar report: {exc}", file=sys.stderr)
        return 2
    if len(period.days) > settings.ledger_retention_days + 1:
        print(
            f"blindar report: the ledger keeps {settings.ledger_retention_days} days; "
            "choose a shorter period",
            file=sys.stderr,
        )
        return 2
    out = args.out or default_out(args.tenant, period)
    if not out.parent.is_dir():
        print(f"blindar report: no such directory: {out.parent}", file=sys.stderr)
        return 2
    report = make_report(settings, args.tenant, period)
    if report is None:
        print(
            f"blindar report: Redis at {redact_url(settings.redis_url)} did not answer within "
            f"{READ_TIMEOUT_S:.0f} s",
            file=sys.stderr,
        )
        return 1
    out.write_text(render_html(report), encoding="utf-8")
    twin = out.with_suffix(".json")
    twin.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    det, cov = report["detections"], report["coverage"]
    late = cov["late_arrivals"]
    print(
        f"{out} and {twin}: {cov['events_total']:,} events on {len(cov['channels'])} channels, "
        f"{det['alerts_total']:,} alerts, {len(cov['silences'])} silences, "
        f"{late['judged_late']:,} late arrivals judged, {late['dropped']:,} dropped"
    )
    return 0


def make_report(settings: Settings, tenant: str, period: Period) -> dict | None:
    """Read the ledger and build the report's data (the JSON twin); None when Redis does
    not answer within READ_TIMEOUT_S."""
    detectors = load_detectors(settings.config_dir / "detectors.yaml")
    current = controls.snapshot(detectors, current_trust(settings))
    silence = current["detectors"].get("channel_silence", {}).get("default", {})
    monitor = silence.get("tenant", MONITOR_TENANT)
    try:
        view = asyncio.run(
            asyncio.wait_for(read(settings, tenant, period, monitor), READ_TIMEOUT_S)
        )
    except TimeoutError:
        return None
    return build_report(
        tenant,
        period,
        view,
        int(time.time() * 1000),
        Pseudonymizer(settings.pseudonym_key),
        current,
        controls.config_hash(current),
        settings.ledger_retention_days,
    )


def current_trust(settings: Settings) -> frozenset[str]:
    """The kinds of trusted value the configuration gives a worker today (the assignments
    file, channels configured trusted)."""
    registry = load_channels(settings.config_dir / "channels.yaml")
    assignments = load_assignments(settings.assignments_file)
    return trusted_kinds(assignments, (channel.trusted for channel in registry.channels))


async def read(settings: Settings, tenant: str, period: Period, monitor: str) -> LedgerView:
    """The ledger's view for the report, through the worker's own store (a single Redis or a
    Redis Cluster); outages are retried until the caller's timeout."""
    store = await RedisStore.open(
        settings.redis_url, Health(), settings.redis_auth, cluster=settings.redis_cluster
    )
    try:
        return await read_view(LedgerReader(store, settings.redis_prefix), tenant, period, monitor)
    finally:
        await store.aclose()

"""`blindar canary`: one run (exit 1 if a canary was missed) or a loop at the configured
interval, serving its metrics (blindar_canary_detected_total, _missed_total)."""

from __future__ import annotations

import argparse
import sys
import time

from prometheus_client import start_http_server

from monitor.service.canary.config import FILE, load_canary
from monitor.service.canary.patterns import PATTERNS
from monitor.service.canary.runner import REGISTRY, CanaryRunner
from monitor.service.channels import load_channels
from monitor.service.config import load_detectors
from monitor.service.settings import Settings


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--loop", action="store_true", help="run at the configured interval")
    p.add_argument("--deadline-seconds", type=float, help="override miss_deadline_minutes")
    p.add_argument("--metrics-port", type=int, default=6067, help="with --loop (default 6067)")
    p.add_argument("--metrics-host", default="127.0.0.1", help="with --loop")


def run(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.canary_key:
        print("blindar canary: BLINDAR_CANARY_KEY or ..._FILE must be set", file=sys.stderr)
        return 2
    registry = load_channels(settings.config_dir / "channels.yaml")
    detectors = load_detectors(settings.config_dir / "detectors.yaml")
    canary = load_canary(settings.config_dir / FILE, registry.names(), set(PATTERNS))
    if not canary.checks:
        print(f"blindar canary: no canaries configured ({FILE})", file=sys.stderr)
        return 2
    runner = CanaryRunner(settings, canary, registry.by_name(), detectors)
    if not args.loop:
        return 0 if report(runner.run_once(args.deadline_seconds)) else 1
    start_http_server(args.metrics_port, args.metrics_host, registry=REGISTRY)
    while True:
        started = time.monotonic()
        report(runner.run_once(args.deadline_seconds))
        time.sleep(max(0.0, canary.interval_minutes * 60 - (time.monotonic() - started)))


def report(results: list) -> bool:
    """One line per canary; True when every one was detected."""
    for r in results:
        status = f"detected in {r.latency_ms / 1000:.1f} s" if r.detected else "MISSED"
        print(f"canary {r.tenant} {r.channel:<12} {r.detector:<14} {status}", flush=True)
    missed = sum(not r.detected for r in results)
    print(f"canaries: {len(results) - missed} detected, {missed} missed", flush=True)
    return missed == 0

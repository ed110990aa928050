"""`blindar simulate`: live traffic to Kafka, or a simulated period to files."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from datetime import UTC, date, datetime, timedelta

from detectors.scenarios import SCENARIOS
from monitor.service.kafka_io import producer_config
from monitor.service.settings import Settings
from monitor.tools.simulate import produce
from simulator.files import write_assignments, write_jsonl, write_labels, write_roster
from simulator.leaks import LONGEST_SCENARIO_DAYS
from simulator.periods import agents_for_rate, live, period
from simulator.population import Population
from simulator.workforce import mix_named

FILE_AGENTS = 500
LIVE_AGENTS = 300

log = logging.getLogger("blindar.simulate")


def run_simulate(settings: Settings, args: argparse.Namespace) -> int:
    unknown = [name for name in args.scenario if name not in SCENARIOS]
    if unknown:
        log.error("unknown scenario %s (known: %s)", unknown, ", ".join(sorted(SCENARIOS)))
        return 2
    if args.assignments_only and (args.out or not args.assignments):
        log.error("--assignments-only needs --assignments FILE and no --out")
        return 2
    if args.out:
        return write_period(args)
    agents = max(args.agents or LIVE_AGENTS, agents_for_rate(args.rate))
    population = Population(args.seed, agents, args.tenants, mix_named(args.mix))
    if args.assignments:
        write_assignments(population, args.assignments)
        log.info("wrote the assignments of %d agents to %s", agents, args.assignments)
    if args.assignments_only:
        return 0
    labels: list[dict[str, object]] = []
    events = live(
        population,
        args.seed,
        args.rate,
        args.scenario,
        args.scenario_delay,
        scenario_speed=args.scenario_speed,
        labels=labels,
        registry=SCENARIOS,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if args.duration:
        timer = threading.Timer(args.duration, stop.set)
        timer.daemon = True  # SIGTERM before the duration ends must not wait for it
        timer.start()
    log.info(
        "simulating %d agents over %d tenants at %.0f events/s%s",
        agents,
        args.tenants,
        args.rate,
        f"; scenarios {args.scenario} after {args.scenario_delay:.0f}s" if args.scenario else "",
    )
    try:
        sent = produce(events, producer_config(settings), _topic_for(settings), None, stop)
    except KeyboardInterrupt:
        stop.set()
        sent = 0
    for label in labels:
        log.info("injected %s by %s/%s", label["scenario"], label["tenant"], label["actor"])
    log.info("simulator stopped after %d events", sent)
    return 0


def _topic_for(settings: Settings):  # type: ignore[no-untyped-def]
    return lambda channel: settings.topic(f"interactions.{channel}")


def write_period(args: argparse.Namespace) -> int:
    """A simulated period to files: normal traffic plus labelled scenarios (default: one of
    every registered scenario), after optional warm-up days of normal traffic only."""
    files = (args.out, args.labels, args.roster, args.assignments)
    missing = [p for p in files if p and not p.parent.is_dir()]
    if missing:  # before the period is generated, not after
        log.error("no such directory for %s", ", ".join(str(p) for p in missing))
        return 2
    hours = args.hours if args.hours is not None else 24 * args.days
    warmup_s = args.warmup_days * 86_400
    names = [] if args.normal_only else (args.scenario or sorted(SCENARIOS)) * args.each
    start = start_ms_for(args.start, warmup_s + hours * 3600)
    mix = mix_named(args.mix)
    population = Population(args.seed, args.agents or FILE_AGENTS, args.tenants, mix)
    began = time.monotonic()
    try:
        events, labels = period(
            population, args.seed, start, hours * 3600, names, warmup_s, registry=SCENARIOS
        )
    except ValueError as exc:  # a scenario that cannot run on this population
        log.error("%s", exc)
        return 2
    count = write_jsonl(events, args.out)
    if args.labels:
        write_labels(labels, args.labels)
    if args.roster:
        write_roster(population, args.roster)
    if args.assignments:
        write_assignments(population, args.assignments)
    log.info(
        "wrote %d events (%d agents, %d tenants, %s .. +%.1f h) to %s in %.1fs; %d labels%s",
        count,
        len(population.agents),
        len(population.tenants),
        datetime.fromtimestamp(start / 1000, UTC).isoformat(),
        warmup_s / 3600 + hours,
        args.out,
        time.monotonic() - began,
        len(labels),
        f" to {args.labels}" if args.labels else "",
    )
    return 0


def start_ms_for(text: str | None, span_s: float) -> int:
    """--start as epoch ms (an ISO date or date-time, UTC unless it says otherwise); default:
    a midnight UTC such that the period ends a day, plus the longest scenario's length,
    before today's midnight, so that no event (scenarios may run past the period's end) is
    in the future."""
    if text:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    today = datetime.combine(date.today(), datetime.min.time(), UTC)
    days = int(-(-span_s // 86_400)) + 1 + LONGEST_SCENARIO_DAYS
    return int((today - timedelta(days=days)).timestamp() * 1000)

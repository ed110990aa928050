"""`blindar simulate`: live traffic to Kafka, or a simulated period to files."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from monitor.kafka_io import client_config
from monitor.settings import Settings
from monitor.simulate import SCENARIOS, Population, agents_for_rate, live, produce

log = logging.getLogger("blindar.simulate")


def run_simulate(settings: Settings, args: argparse.Namespace) -> int:
    unknown = [name for name in args.scenario if name not in SCENARIOS]
    if unknown:
        log.error("unknown scenario %s (known: %s)", unknown, ", ".join(sorted(SCENARIOS)))
        return 2
    agents = max(args.agents, agents_for_rate(args.rate))
    population = Population(args.seed, agents=agents, tenants=args.tenants)
    labels: list[dict[str, object]] = []
    events = live(
        population,
        args.seed,
        args.rate,
        args.scenario,
        args.scenario_delay,
        scenario_speed=args.scenario_speed,
        labels=labels,
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
        sent = produce(events, client_config(settings), _topic_for(settings), None, stop)
    except KeyboardInterrupt:
        stop.set()
        sent = 0
    for label in labels:
        log.info("injected %s by %s/%s", label["scenario"], label["tenant"], label["actor"])
    log.info("simulator stopped after %d events", sent)
    return 0


def _topic_for(settings: Settings):  # type: ignore[no-untyped-def]
    return lambda channel: settings.topic(f"interactions.{channel}")

"""The `blindar` command: topics, worker, simulate, replay, backtest, report, alerts tail,
config check, wait."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from monitor.service.config import ConfigError
from monitor.service.settings import Settings, SettingsError
from monitor.service.text import escape_logs
from monitor.tools.channels_cli import add_channel_commands

log = logging.getLogger("blindar")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    escape_logs()
    try:
        settings = Settings.from_env()
        return int(args.run(settings, args) or 0)
    except (ConfigError, SettingsError) as exc:
        print(f"blindar: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="blindar", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(
        name: str, run: Callable[..., int | None], help_text: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(run=run)
        return p

    command("topics", cmd_topics, "create the channel, alert and dead-letter topics (idempotent)")
    command("worker", cmd_worker, "run the detection worker (Faust)")
    p = command("canary", cmd_canary, "send signed canary leaks and check each is detected")
    from monitor.service.canary.cli import add_arguments as canary_arguments

    canary_arguments(p)
    p = command("simulate", cmd_simulate, "produce realistic contact-center traffic")
    p.add_argument("--rate", type=float, default=200.0, help="events per second (default 200)")
    p.add_argument("--agents", type=int, help="default 300 live, 500 with --out")
    p.add_argument("--tenants", type=int, default=4)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--mix",
        choices=["uniform", "realistic"],
        default="uniform",
        help="population: uniform (every agent on calls, 8-hour shifts) or realistic "
        "(supervisors, back office, part-time, night teams, laptops, hot-desking)",
    )
    p.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="NAME",
        help="inject this leak scenario once (repeatable)",
    )
    p.add_argument("--scenario-delay", type=float, default=10.0, metavar="SECONDS")
    p.add_argument(
        "--scenario-speed",
        type=float,
        default=30.0,
        metavar="X",
        help="play injected scenarios this many times faster than real time",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop after this long (default: run until interrupted)",
    )
    add_period_arguments(p)
    p = command("replay", cmd_replay, "run the detectors over a JSON-lines file in event time")
    add_replay_arguments(p)
    p = command(
        "backtest",
        cmd_backtest,
        "simulate a realistic labelled period, replay it and score every detector",
    )
    add_backtest_arguments(p)
    p = command("report", cmd_report, "write a tenant's assurance report (HTML + JSON)")
    add_report_arguments(p)
    p = command("alerts", cmd_alerts, "follow the alerts topic")
    p.add_argument("action", choices=["tail"])
    p.add_argument("--tenant")
    p.add_argument("--detector")
    p.add_argument("--min-severity", type=int, default=1)
    p.add_argument("--from-beginning", action="store_true")
    p = command("config", cmd_config, "validate the channel and detector configuration")
    p.add_argument("action", choices=["check"])
    command("schema", cmd_schema, "print the event contract v1 as JSON Schema")
    add_channel_commands(sub)
    p = command("wait", cmd_wait, "wait until Kafka and Redis answer")
    p.add_argument("--timeout", type=float, default=60.0)
    return parser


def cmd_topics(settings: Settings, _args: argparse.Namespace) -> int:
    from monitor.tools.topics import create_topics

    created = create_topics(settings)
    for name in created:
        print(f"created {name}")
    print(f"topics ready ({len(created)} created)")
    return 0


def cmd_worker(settings: Settings, _args: argparse.Namespace) -> int:
    from monitor.service.run import run_worker

    return run_worker(settings)


def cmd_simulate(settings: Settings, args: argparse.Namespace) -> int:
    from monitor.tools.simulate_cli import run_simulate

    return run_simulate(settings, args)


def add_period_arguments(p: argparse.ArgumentParser) -> None:
    """`simulate --out`: write a simulated period to files instead of producing to Kafka."""
    p.add_argument("--out", type=Path, metavar="EVENTS.jsonl", help="write a period to this file")
    p.add_argument("--labels", type=Path, metavar="LABELS.jsonl", help="scenario labels file")
    p.add_argument(
        "--roster", type=Path, metavar="ROSTER.yaml", help="write the agents' shifts (off_hours)"
    )
    p.add_argument(
        "--assignments",
        type=Path,
        metavar="ASSIGNMENTS.yaml",
        help="write the agents' tenants and teams (the trusted assignments file)",
    )
    p.add_argument(
        "--assignments-only",
        action="store_true",
        help="write the --assignments file of the live population (same --rate, --agents, "
        "--tenants, --seed, --mix) and stop: for a worker started before the simulator",
    )
    p.add_argument("--days", type=float, default=1.0, help="period length (default 1)")
    p.add_argument("--hours", type=float, help="period length in hours (overrides --days)")
    p.add_argument("--warmup-days", type=float, default=0.0, help="normal days before it")
    p.add_argument("--start", metavar="ISO", help="first day (default: ends 8 days ago)")
    p.add_argument("--normal-only", action="store_true", help="inject no scenario")
    p.add_argument("--each", type=int, default=1, metavar="N", help="inject each scenario N times")


def add_replay_arguments(p: argparse.ArgumentParser) -> None:
    from monitor.tools.replay_cli import add_arguments

    add_arguments(p)


def cmd_replay(settings: Settings, args: argparse.Namespace) -> int:
    from monitor.tools.replay_cli import run

    return run(settings, args)


def add_backtest_arguments(p: argparse.ArgumentParser) -> None:
    from monitor.tools.backtest_cli import add_arguments

    add_arguments(p)


def cmd_backtest(settings: Settings, args: argparse.Namespace) -> int:
    from monitor.tools.backtest_cli import run

    return run(settings, args)


def add_report_arguments(p: argparse.ArgumentParser) -> None:
    from monitor.tools.report_cli import add_arguments

    add_arguments(p)


def cmd_canary(settings: Settings, args: argparse.Namespace) -> int:
    from monitor.service.canary.cli import run

    return run(settings, args)


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from monitor.tools.report_cli import run

    return run(settings, args)


def cmd_alerts(settings: Settings, args: argparse.Namespace) -> int:
    from monitor.tools.tail import tail_alerts

    return tail_alerts(settings, args.tenant, args.detector, args.min_severity, args.from_beginning)


def cmd_config(settings: Settings, _args: argparse.Namespace) -> int:
    """Validate the config directory: every problem found on its own line (exit 2), else
    one OK line per file."""
    lines, problems = [], []
    for check in (_check_channels, _check_detectors, _check_tenants, _check_assignments):
        try:
            line = check(settings)
        except ConfigError as exc:
            problems += getattr(exc, "problems", None) or [str(exc)]
            continue
        if line:
            lines.append(line)
    if problems:
        print(f"blindar: {len(problems)} configuration error(s) in {settings.config_dir}:",
              file=sys.stderr)  # fmt: skip
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


def _check_channels(settings: Settings) -> str:
    from monitor.service.channels import load_channels

    registry = load_channels(settings.config_dir / "channels.yaml")
    return f"channels.yaml + channels.d: ok ({len(registry.channels)} channels)"


def _check_detectors(settings: Settings) -> str:
    from monitor.service.config import load_detectors

    detectors = load_detectors(settings.config_dir / "detectors.yaml")
    return f"detectors.yaml: ok ({', '.join(detectors.configs)} enabled)"


def _check_tenants(settings: Settings) -> str:
    from monitor.service.tenants import load_tenants

    if settings.tenants_file is None:
        return ""
    tenants = load_tenants(settings.tenants_file) or frozenset()
    return f"{settings.tenants_file.name}: ok ({len(tenants)} tenants)"


def _check_assignments(settings: Settings) -> str:
    from monitor.service.assignments import load_assignments

    if settings.assignments_file is None:
        return ""
    assignments = load_assignments(settings.assignments_file)
    return f"{settings.assignments_file.name}: ok ({len(assignments.by_actor)} actors)"


def cmd_schema(_settings: Settings, _args: argparse.Namespace) -> int:
    from monitor.service.contract import json_schema

    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return 0


def cmd_wait(settings: Settings, args: argparse.Namespace) -> int:
    from confluent_kafka.admin import AdminClient
    from redis import Redis

    from monitor.service.kafka_io import client_config

    deadline = time.monotonic() + args.timeout
    admin = AdminClient(client_config(settings))
    while True:
        try:
            admin.list_topics(timeout=2)
            auth = settings.redis_auth.client_options(settings.redis_url)
            Redis.from_url(settings.redis_url, socket_connect_timeout=2, **auth).ping()
            return 0
        except Exception as exc:
            if time.monotonic() > deadline:
                print(f"blindar: Kafka or Redis not ready: {type(exc).__name__}", file=sys.stderr)
                return 1
            time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())

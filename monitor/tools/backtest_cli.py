"""`blindar backtest`: simulate a realistic labelled period, replay it, score the detectors."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.service.settings import Settings
from monitor.tools.replay_cli import DEFAULT_REDIS_DB

if TYPE_CHECKING:
    from monitor.tools.backtest import BacktestResult


# The plan's knobs: (flag, field of BacktestPlan, help). Defaults live in BacktestPlan
# (monitor.tools.backtest); the help repeats them so that `--help` needs no heavy import, and
# tests/unit/test_backtest.py checks that both agree.
PLAN_ARGUMENTS = (
    ("--agents", "agents", "agents simulated (default 500)"),
    ("--tenants", "tenants", "tenants (default 4)"),
    ("--days", "days", "period length in days (default 14)"),
    ("--leak-day", "leak_day", "first day with leaks; the days before are warm-up, not "
     "scored (default 8)"),
    ("--seed", "seed", "random seed (default 15)"),
    ("--collectors", "collectors", "leaks of each collector kind (default 2)"),
    ("--each", "each", "leaks of every other scenario (default 1)"),
    ("--team-size", "team_size", "agents per team, about (default 15)"),
)  # fmt: skip


def add_arguments(p: argparse.ArgumentParser) -> None:
    for flag, _field, help_text in PLAN_ARGUMENTS:
        p.add_argument(flag, type=int, help=help_text)
    p.add_argument(
        "--mix", choices=["uniform", "realistic"], help="population mix (default realistic)"
    )
    p.add_argument(
        "--curve",
        action="store_true",
        help="add careful collectors at 1.5, 2, 2.5 and 3 times their team's rate (day, night "
        "and part-time shifts) and print the detection-floor curve",
    )
    p.add_argument("--start", metavar="ISO", help="first day (default: ends 8 days ago)")
    p.add_argument(
        "--dir",
        type=Path,
        help="keep the period (events, labels, roster, detector config) in this directory "
        "(default: a temporary one, removed after)",
    )
    p.add_argument(
        "--simulate-only",
        action="store_true",
        help="write the period to --dir and stop (for offline analysis: bench/insider_rules.py)",
    )
    p.add_argument(
        "--detectors",
        type=Path,
        metavar="YAML",
        help="detector config to test (default: detectors.yaml of BLINDAR_CONFIG_DIR)",
    )
    p.add_argument(
        "--shipped-only",
        action="store_true",
        help="replay the detector config as it is; by default the backtest adds what a "
        "deployment derives from its workforce roster: off_hours reads the roster, "
        "orphan_access allowlists the back-office teams and the supervisors",
    )
    p.add_argument(
        "--trust-events",
        action="store_true",
        help="trust the events' own actor.tenants, team and type; by default the replay "
        "trusts what the worker would: the simulated population's assignments file",
    )
    p.add_argument("--redis-url", help="Redis to use (default: REDIS_URL)")
    p.add_argument("--redis-db", type=int, default=DEFAULT_REDIS_DB)
    p.add_argument(
        "--batch",
        type=int,
        help="events per batch (default: about 10 minutes of the simulated traffic, as the "
        "worker's batches span seconds, not the hour 2,000 events of a quiet file span)",
    )
    p.add_argument("--top", type=int, default=0, help="also list N actors per detector")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the figures as JSON")
    p.add_argument("--no-progress", action="store_true")


def run(settings: Settings, args: argparse.Namespace) -> int:
    import orjson

    from monitor.service.assignments import load_assignments
    from monitor.service.channels import load_channels
    from monitor.service.config import load_detectors
    from monitor.tools.backtest import (
        BacktestPlan,
        batch_for,
        run_backtest,
        site_detectors,
        write_period,
    )
    from monitor.tools.replay import ReplayOptions
    from monitor.tools.simulate_cli import start_ms_for

    given = {field: getattr(args, field) for _flag, field, _help in PLAN_ARGUMENTS}
    if args.mix:
        given["mix"] = args.mix
    if args.curve:
        given["curve"] = True
    plan = BacktestPlan(**{field: value for field, value in given.items() if value is not None})
    try:
        plan.check()
    except ValueError as exc:
        print(f"blindar backtest: {exc}", file=sys.stderr)
        return 2
    if args.simulate_only and not args.dir:
        print("blindar backtest: --simulate-only needs --dir", file=sys.stderr)
        return 2
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
    logging.getLogger("monitor.service.pipeline").setLevel(logging.WARNING)
    base = args.detectors or settings.config_dir / "detectors.yaml"
    registry = load_channels(settings.config_dir / "channels.yaml")
    with _directory(args.dir) as directory:
        began = time.monotonic()
        start = start_ms_for(args.start, plan.days * 86_400)
        files = write_period(plan, Path(directory), start)
        print(
            f"simulated {files.count:,} events: {plan.agents} agents ({plan.mix}), "
            f"{plan.days} days, leaks from day {plan.leak_day}, in "
            f"{time.monotonic() - began:.0f}s ({directory})",
            flush=True,
        )
        if args.simulate_only:
            return 0
        config = base if args.shipped_only else site_detectors(base, files, Path(directory))
        options = ReplayOptions(
            redis_url=args.redis_url or settings.redis_url,
            redis_db=args.redis_db,
            batch_size=args.batch or batch_for(files),
            warmup_days=plan.warmup_days,
            pseudonym_key=settings.pseudonym_key,
            progress=not args.no_progress,
            channels=registry.channels,
            assignments=load_assignments(files.assignments),
            trust_events=args.trust_events,
        )
        print(f"replaying in batches of {options.batch_size} events", flush=True)
        result = run_backtest(plan, files, load_detectors(config), options)
    print(report_text(result, args.top))
    if args.json:
        args.json.write_bytes(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2) + b"\n")
    return 0


def _directory(path: Path | None) -> AbstractContextManager[str]:
    return nullcontext(str(path)) if path else tempfile.TemporaryDirectory(prefix="backtest-")


def report_text(result: BacktestResult, top: int) -> str:
    """Everything the backtest prints after the replay."""
    from monitor.tools.backtest import (
        channels_text,
        curve_text,
        leaks_text,
        noise_text,
        trait_counts,
    )
    from monitor.tools.replay import findings_text, summary_text
    from monitor.tools.scoring import format_table

    days = result.normal_agent_days
    parts = [
        summary_text(result.report),
        f"agent-days of actors with no leak: {days:,.1f} (the per-1k rates below use them; "
        "pages about channels page no agent: see below)",
        format_table(result.scores, days),
        channels_text(result),
        leaks_text(result.leaks),
        noise_text(result.noise, trait_counts(result.files.population), days),
    ]
    if result.curve:
        parts.append(curve_text(result.curve, result.noise, days))
    if top:
        parts.append(findings_text(result.report, top))
    return "\n\n".join(parts)

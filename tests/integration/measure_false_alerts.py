"""Measure the baseline detectors' false alerts on days of normal simulated traffic.

    KAFKA_BOOTSTRAP=... .venv/bin/python -m tests.integration.measure_false_alerts --days 8

Runs access_burst, unmask_rate, auth_failures, cumulative_access and off_hours (shipped
defaults; off_hours on the population's roster, plus a learned-profile instance warmed up
after `--profile-days`) over normal traffic through the real Redis state in a scratch
namespace, and prints findings per detector and rule and the rate per 1,000 agent-days.
Every finding on normal traffic is a false alert.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from detectors.off_hours import OffHours, OffHoursConfig
from detectors.tuning import Tuning
from simulator.files import write_roster
from simulator.population import Population
from simulator.traffic import Simulator
from tests.harness import drop_namespace, isolated_settings
from tests.integration.simulated import run_detect
from tests.integration.test_baseline_traffic import DAY_MS, START, shipped_detectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--profile-days", type=int, default=7)
    args = parser.parse_args()
    population = Population(seed=args.seed, agents=args.agents, tenants=args.tenants)
    settings = isolated_settings()
    days: set[tuple[str, int]] = set()

    def counting(docs: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for doc in docs:
            days.add((doc["actor"]["id"], doc["ts"] // DAY_MS))
            yield doc

    with tempfile.TemporaryDirectory() as tmp:
        roster = write_roster(population, Path(tmp) / "roster.yaml")
        detectors = shipped_detectors(settings.redis_prefix, roster)
        learned = OffHours(
            Tuning(OffHoursConfig(profile_min_days=args.profile_days)),
            settings.redis_prefix + "learned:",
        )
        began = time.perf_counter()
        docs = Simulator(population, seed=args.seed).events(START, args.days * 86_400)
        try:
            findings = run_detect(settings, [*detectors, learned], counting(docs))
        finally:
            drop_namespace(settings)
    by_rule = Counter((f.detector, f.evidence.get("rule")) for f in findings)
    rate = 1000 * len(findings) / max(1, len(days))
    print(f"{args.agents} agents, {args.days} days, {len(days)} agent-days, "
          f"{time.perf_counter() - began:.0f} s")  # fmt: skip
    print(f"findings: {len(findings)} ({rate:.2f} per 1,000 agent-days) {dict(by_rule)}")
    for finding in findings[:20]:
        print(" ", finding.detector, finding.tenant, finding.actor, finding.title)


if __name__ == "__main__":
    main()

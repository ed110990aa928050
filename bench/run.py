"""`make bench`: blindar beside the machine's limit, the bare framework and a real peer, on
the same valid data, in two traffic regimes (realistic first), each run repeated.

BENCH_EVENTS events per regime (default 200,000; e.g. 30,000 for a quick check), BENCH_RUNS
repetitions (default 3; the table shows medians). Prints each run as it ends, then the
table, the latency run, and last the ratios line (bench/stats.py: RATIO_NAMES). Writes
every figure to .run/bench.json. Any event a worker rejects ends the benchmark with no
figures and a non-zero exit.
"""

from __future__ import annotations

import math
import os
import sys
import time
import uuid
from dataclasses import replace
from typing import Any

import orjson

from bench import data as bench_data
from bench import runs
from bench.latency import latency_run
from bench.redis_server import start_redis
from bench.stats import median, median_of_runs, ratios_line
from monitor.service.channels import load_channels
from monitor.service.settings import REPO_ROOT, Settings

OUT = REPO_ROOT / ".run"
LATENCY_SECONDS = 60.0
LATENCY_SHARE = 0.5  # of run (e)'s realistic rate


# Runs that must find both injected leaks or stop the benchmark: the peer comparison,
# (c) against (d), on the headline data. Any other run's miss is listed under the table.
MUST_FIND = {(bench_data.REALISTIC.name, "quix"), (bench_data.REALISTIC.name, "blindar2")}


class InvalidRun(Exception):
    """A run rejected events it was not meant to, or missed an injected leak."""


def main() -> int:
    count = int(os.environ.get("BENCH_EVENTS") or 200_000)
    repeats = int(os.environ.get("BENCH_RUNS") or 3)
    OUT.mkdir(exist_ok=True)
    redis = start_redis(OUT)
    base = replace(Settings.from_env(), redis_url=redis.url)
    tag = uuid.uuid4().hex[:6]
    bench = runs.Bench(
        base,
        load_channels(base.config_dir / "channels.yaml"),
        redis,
        OUT,
        tag,
        runs.two_detector_config(base, OUT),
    )
    print(f"blindar benchmark {tag}: {count:,} events per regime, {repeats} run(s) each")
    try:
        results = run_all(bench, count, repeats)
    except InvalidRun as exc:
        print(f"benchmark stopped, no figures: {exc}", file=sys.stderr)
        return 1
    finally:
        redis.stop()
    (OUT / "bench.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print_table(results)
    print(ratios_line(results["ratios"]))
    return 0


def run_all(bench: runs.Bench, count: int, repeats: int) -> dict[str, Any]:
    datasets = {regime.name: _dataset(regime, count) for regime in bench_data.REGIMES}
    done: dict[str, dict[str, list[dict[str, Any]]]] = {
        name: {kind.key: [] for kind in runs.KINDS} for name in datasets
    }
    for repeat in range(repeats):
        for name, data in datasets.items():
            for kind in runs.KINDS:
                result = runs.run_once(bench, kind, data, repeat)
                _check(result)
                done[name][kind.key].append(result)
                print(_run_line(kind, result, repeat), flush=True)
    medians = {
        name: {key: median_of_runs(results) for key, results in kinds.items()}
        for name, kinds in done.items()
    }
    realistic = medians[bench_data.REALISTIC.name]
    rate = LATENCY_SHARE * realistic["blindar"]["events_per_s"]
    latency_data = datasets[bench_data.REALISTIC.name]
    if len(latency_data) < rate * LATENCY_SECONDS:
        latency_data = bench_data.generate(bench_data.REALISTIC, math.ceil(rate * LATENCY_SECONDS))
    latency = latency_run(bench, latency_data, rate, LATENCY_SECONDS)
    if latency["rejected"]:
        raise InvalidRun(f"the latency run rejected {latency['rejected']:.0f} events")
    rejected = sum(r["rejected"] for kinds in done.values() for rs in kinds.values() for r in rs)
    return {
        "config": {"events": count, "runs": repeats, "tag": bench.tag},
        "datasets": {name: _describe(data) for name, data in datasets.items()},
        "runs": done,
        "medians": medians,
        "latency": latency,
        "ratios": ratios(realistic, latency, rejected),
    }


def _dataset(regime: bench_data.Regime, count: int) -> bench_data.Dataset:
    started = time.perf_counter()
    data = bench_data.generate(regime, count)
    info = _describe(data)
    print(
        f"  {regime.name}: {info['events']:,} events, {info['actors']:,} actors, "
        f"{info['events_per_actor_per_batch']:.2f} events per actor per 2,000-event batch, "
        f"{info['span_s'] / 60:,.0f} min of event time ending 1 s before each run's "
        f"production starts; leaks: "
        + ", ".join(f"{leak['detector']} by {leak['actor']}" for leak in data.leaks)
        + f" ({time.perf_counter() - started:.0f}s to generate)",
        flush=True,
    )
    return data


def _describe(data: bench_data.Dataset) -> dict[str, Any]:
    windows = bench_data.actors_per_window(data)
    return {
        "events": len(data),
        "actors": len(set(data.actors)),
        "events_per_actor_per_batch": median(windows) if windows else math.nan,
        "span_s": data.span_ms / 1000,
        "leaks": data.leaks,
    }


def _check(result: dict[str, Any]) -> None:
    where = f"{result['regime']} run {result['kind']}"
    if result["rejected"]:
        raise InvalidRun(f"{where}: the worker rejected {result['rejected']:.0f} events")
    if (result["regime"], result["kind"]) in MUST_FIND and missed_leaks(result):
        raise InvalidRun(f"{where}: injected leak(s) not found: {', '.join(missed_leaks(result))}")


def missed_leaks(result: dict[str, Any]) -> list[str]:
    return [name for name, found in result.get("leaks_found", {}).items() if not found]


def _run_line(kind: runs.Kind, r: dict[str, Any], repeat: int) -> str:
    whole = " (timed whole: under 8 samples in the middle 80 %)" if r["whole_run"] else ""
    redis = ""
    if "redis_us" in r:
        redis = f" redis {r['redis_us']:.1f} us/ev {r['redis_commands']:.1f} cmd/ev"
    if "rocksdb_us" in r:
        redis = f" rocksdb {r['rocksdb_us']:.1f} us/ev"
    leaks = " ".join(f"{k}={'found' if v else 'MISSED'}" for k, v in r["leaks_found"].items())
    return (
        f"  {r['regime']:<9} ({kind.letter}) {kind.label:<40} #{repeat + 1}: "
        f"{r['events_per_s']:>9,.0f} ev/s worker {r['worker_us']:.1f} us/ev{redis} "
        f"rss {r['rss_mb']:.0f} MB rejected {r['rejected']:.0f} "
        f"startup {r['startup_s']:.0f}s {leaks}{whole}"
    )


def ratios(realistic: dict[str, dict[str, float]], latency: dict, rejected: float) -> dict:
    def rate(key: str) -> float:
        return realistic[key]["events_per_s"]

    return {
        "events_per_s": rate("blindar"),
        "bare_faust": rate("bare"),
        "blindar/bare": rate("blindar") / rate("bare"),
        "worker_us": realistic["blindar"]["worker_us"] - realistic["bare"]["worker_us"],
        "redis_us": realistic["blindar"]["redis_us"],
        "quix_events_per_s": rate("quix"),
        "blindar2/quix": rate("blindar2") / rate("quix"),
        "envelope_events_per_s": rate("envelope"),
        "workers2/workers1": rate("workers2") / rate("blindar"),
        "p99_s": latency["p99_s"],
        "rejected": rejected,
    }


def print_table(results: dict[str, Any]) -> None:
    repeats = results["config"]["runs"]
    print(f"\nmedian of {repeats} run(s); rate and costs over the middle 80 % of each run's events")
    header = (
        f"{'run':<48} {'regime':<9} {'events':>8} {'events/s':>9} {'worker us/ev':>12} "
        f"{'Redis us/ev':>11} {'Redis cmd/ev':>12} {'RSS MB':>7} {'rejected':>8}"
    )
    print(header)
    print("-" * len(header))
    whole = False
    for name, kinds in results["medians"].items():
        for kind in runs.KINDS:
            m = kinds[kind.key]
            short = any(r["whole_run"] for r in results["runs"][name][kind.key])
            whole = whole or short
            redis_us = f"{m['redis_us']:.1f}" if "redis_us" in m else "-"
            if "rocksdb_us" in m:  # the peer's store: RocksDB's threads in its process
                redis_us = f"R {m['rocksdb_us']:.1f}"
            commands = f"{m['redis_commands']:.1f}" if "redis_commands" in m else "-"
            print(
                f"{'(' + kind.letter + ') ' + kind.label:<48} {name:<9} {m['events']:>8,.0f} "
                f"{m['events_per_s']:>9,.0f}{'*' if short else ' '}"
                f"{m['worker_us']:>12.1f} {redis_us:>11} {commands:>12} "
                f"{m['rss_mb']:>7.0f} {m['rejected']:>8.0f}"
            )
    print("R: RocksDB's own threads (flush, compaction) in the peer's process, not in its worker")
    if whole:
        print(
            "* timed over the whole run: fewer than 8 samples within the middle 80 % "
            "(a run too short, or counting in a few large batches)"
        )
    lat = results["latency"]
    print(
        f"\nlatency at {lat['target_rate']:,.0f} events/s (50 % of (e) realistic) for "
        f"{LATENCY_SECONDS:.0f}s, {lat['samples']:,} raw samples, backlog included: "
        f"p50 {lat['p50_s']:.3f}s p99 {lat['p99_s']:.3f}s max {lat['max_s']:.3f}s "
        f"(produced {lat['produced_rate']:,.0f}/s, rejected {lat['rejected']:.0f})"
    )
    missed = [
        f"{r['regime']} ({runs.BY_KEY[r['kind']].letter}) #{n + 1}: {', '.join(missed_leaks(r))}"
        for kinds in results["runs"].values()
        for rs in kinds.values()
        for n, r in enumerate(rs)
        if missed_leaks(r)
    ]
    print("injected leaks missed: " + ("; ".join(missed) if missed else "none"))
    print("figures in .run/bench.json")


if __name__ == "__main__":
    sys.exit(main())

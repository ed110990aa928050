"""`make bench-catchup`: catch-up after an outage of the worker (issue 18 item 6).

BENCH_CATCHUP_MINUTES (default 30) minutes of realistic-regime traffic (5,000 agents, with
the injected bulk export and enumeration) pile up on fresh topics while no worker runs:
the whole backlog is produced first, stamped so that its newest event is ~1 s old when
production starts. Then one `blindar worker` starts and drains it. Measured: the time from
the worker's start to every event decided (drain time), the drain rate (whole run and
middle 80 %), worker and Redis CPU per event, late and dropped-late counts, and the pages
it published on dlp.alerts.

The live reference is the same stamped events read in event-time order, as a worker
keeping pace would have read them: written to a JSON-lines file and run through the
worker's own Pipeline in process (`blindar replay`, monitor/tools/replay.py) on the benchmark's
private Redis, trusting exactly what the worker trusts (the assignments file, channels
configured trusted; not the events' own values). The two sets of pages ((detector, tenant,
actor) and how many pages each) are compared and any difference is printed.

Prints a table and "an N-hour outage at R events/s drains in T per worker" for N = 1, 3
and 8 h at the data's own rate and at 10x it, extrapolated from the measured drain rate.
Writes every figure to .run/bench-catchup.json. Exits non-zero when the worker rejected or
dropped events, missed an injected leak, or paged differently from the live reference.
"""

from __future__ import annotations

import math
import os
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import orjson

from bench import data as bench_data
from bench import procs, runs
from bench.measure import INTERVAL_S, record
from bench.redis_server import RedisServer, delete_keys, start_redis
from bench.stats import Sample, middle_span
from monitor.service.assignments import load_assignments
from monitor.service.channels import Registry, load_channels
from monitor.service.config import load_detectors
from monitor.service.settings import REPO_ROOT, Settings
from monitor.tools.replay import ReplayOptions, ReplayReport, run_replay
from monitor.tools.topics import create_topics
from tests.harness import delete_topics

OUT = REPO_ROOT / ".run"
DEFAULT_MINUTES = 30.0
PROBE_EVENTS = 20_000  # a small generation to learn the regime's events per second
SPAN_TOLERANCE = 0.05  # regenerate when the span misses the target by more than this
SPAN_RETRIES = 2  # at most this many times (the traffic's rate drifts over the day)
OUTAGE_HOURS = (1, 3, 8)
RATE_FACTORS = (1, 10)
REPLAY_DB = 15  # the replay's scratch logical database on the benchmark's own Redis
PAGE_TYPE_UID = 200401  # OCSF Detection Finding: Create (a page, not an update)

PageKey = tuple[str, str, str]  # (detector, tenant, actor)


# ---------------------------------------------------------------- pure parts (unit-tested)


def events_for(minutes: float, probe_events: int, probe_span_s: float) -> int:
    """How many events span `minutes` of event time at the probe's events per second."""
    if probe_span_s <= 0:
        raise ValueError("the probe spans no time")
    return math.ceil(minutes * 60 * probe_events / probe_span_s)


def alert_pages(docs: Iterable[Mapping[str, Any]]) -> Counter[PageKey]:
    """Pages per (detector, tenant, actor) among dlp.alerts documents (updates not counted)."""
    return Counter(
        (
            d["finding_info"]["analytic"]["name"],
            d["metadata"]["tenant_uid"],
            d["actor"]["user"]["uid"],
        )
        for d in docs
        if d.get("type_uid") == PAGE_TYPE_UID
    )


def compare_pages(catchup: Mapping[PageKey, int], live: Mapping[PageKey, int]) -> dict[str, Any]:
    """Whether two runs paged the same (detector, tenant, actor) the same number of times;
    the difference when not (each key with its count in the catch-up and the live run)."""
    keys = sorted(set(catchup) | set(live))
    differ = [
        {
            "detector": k[0],
            "tenant": k[1],
            "actor": k[2],
            "catchup": catchup.get(k, 0),
            "live": live.get(k, 0),
        }
        for k in keys
        if catchup.get(k, 0) != live.get(k, 0)
    ]
    return {
        "equal": not differ,
        "catchup_pages": sum(catchup.values()),
        "live_pages": sum(live.values()),
        "catchup_actors": len(catchup),
        "live_actors": len(live),
        "differences": differ,
    }


def drain_seconds(hours: float, rate: float, drain_rate: float) -> float:
    """Time to drain an outage's backlog (`hours` of traffic at `rate` events/s) at
    `drain_rate` events/s, the backlog alone (traffic arriving meanwhile not counted)."""
    if drain_rate <= 0:
        return math.inf
    return hours * 3600 * rate / drain_rate


def drain_seconds_live(hours: float, rate: float, drain_rate: float) -> float:
    """The same while live traffic keeps arriving at `rate`: the backlog shrinks at
    drain_rate - rate (never, when the worker is no faster than the traffic)."""
    if drain_rate <= rate:
        return math.inf
    return hours * 3600 * rate / (drain_rate - rate)


def duration_text(seconds: float) -> str:
    """'45 s', '12.5 min', '3 h 05 min'."""
    if math.isinf(seconds) or math.isnan(seconds):
        return "never"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"


def extrapolate(data_rate: float, drain_rate: float) -> list[dict[str, float]]:
    """For each outage length and traffic rate (the data's own, 10x it): the drain time."""
    return [
        {
            "hours": hours,
            "rate": data_rate * factor,
            "factor": factor,
            "drain_s": drain_seconds(hours, data_rate * factor, drain_rate),
            "drain_with_live_s": drain_seconds_live(hours, data_rate * factor, drain_rate),
        }
        for factor in RATE_FACTORS
        for hours in OUTAGE_HOURS
    ]


def outage_line(row: Mapping[str, float]) -> str:
    """'an 8-hour outage at 600 events/s drains in 12.0 min (13.1 min with traffic)'."""
    hours = f"{row['hours']:g}"
    article = "an" if hours.startswith(("8", "11", "18")) else "a"
    return (
        f"{article} {hours}-hour outage at {row['rate']:,.0f} events/s drains in "
        f"{duration_text(row['drain_s'])} ({duration_text(row['drain_with_live_s'])} "
        "with traffic)"
    )


def metric_sums(body: str, names: Iterable[str]) -> dict[str, float]:
    """Each metric's value summed over its labels, from a Prometheus text page."""
    sums = dict.fromkeys(names, 0.0)
    for line in body.splitlines():
        if line.startswith("#"):
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in sums:
            sums[name] += float(line.rsplit(" ", 1)[1])
    return sums


# ---------------------------------------------------------------- the run

COUNTERS = (
    "blindar_events_total",
    "blindar_invalid_events_total",
    "blindar_late_events_total",
    "blindar_dropped_late_events_total",
    "blindar_duplicate_events_total",
)


def worker_metrics(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        return metric_sums(resp.read().decode(), COUNTERS)


def main() -> int:
    minutes = float(os.environ.get("BENCH_CATCHUP_MINUTES") or DEFAULT_MINUTES)
    OUT.mkdir(exist_ok=True)
    data = catchup_dataset(minutes)
    redis = start_redis(OUT)
    base = replace(Settings.from_env(), redis_url=redis.url)
    registry = load_channels(base.config_dir / "channels.yaml")
    tag = uuid.uuid4().hex[:6]
    try:
        result = catchup_run(data, base, registry, redis, tag)
        live = live_reference(data, result.pop("start_ms"), base, registry, redis, tag)
    finally:
        redis.stop()
    catchup_pages = result.pop("page_counter")
    live_pages = Counter({k: n for k, n in live["page_counter"].items()})
    comparison = compare_pages(catchup_pages, live_pages)
    leaks = {
        leak["detector"]: {
            "catchup": (leak["detector"], leak["tenant"], leak["actor"]) in catchup_pages,
            "live": (leak["detector"], leak["tenant"], leak["actor"]) in live_pages,
        }
        for leak in data.leaks
    }
    data_rate = len(data) / (data.span_ms / 1000)
    figures = {
        "config": {"minutes": minutes, "tag": tag, "regime": data.regime.name},
        "events": len(data),
        "span_s": data.span_ms / 1000,
        "data_events_per_s": data_rate,
        "leaks": data.leaks,
        "catchup": result,
        "live": {k: v for k, v in live.items() if k != "page_counter"},
        "pages": comparison,
        "pages_catchup": _page_rows(catchup_pages),
        "pages_live": _page_rows(live_pages),
        "leaks_found": leaks,
        "extrapolated": extrapolate(data_rate, result["drain_events_per_s_middle"]),
    }
    (OUT / "bench-catchup.json").write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
    print_table(figures)
    problems = _problems(figures)
    for problem in problems:
        print(f"CHECK FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


def catchup_dataset(minutes: float) -> bench_data.Dataset:
    """Realistic traffic whose event time spans about `minutes` (the count estimated from a
    probe generation, rescaled up to SPAN_RETRIES times while the span misses by more than
    SPAN_TOLERANCE)."""
    started = time.perf_counter()
    probe = bench_data.generate(bench_data.REALISTIC, PROBE_EVENTS)
    count = events_for(minutes, PROBE_EVENTS, probe.span_ms / 1000)
    print(
        f"probe: {PROBE_EVENTS:,} events span {probe.span_ms / 1000:,.0f} s "
        f"({PROBE_EVENTS / (probe.span_ms / 1000):,.1f} events/s): generating {count:,} "
        f"for {minutes:g} min",
        flush=True,
    )
    data = bench_data.generate(bench_data.REALISTIC, count)
    target_ms = minutes * 60_000
    for _ in range(SPAN_RETRIES):
        if abs(data.span_ms - target_ms) <= SPAN_TOLERANCE * target_ms:
            break
        count = math.ceil(count * target_ms / data.span_ms)
        print(f"  spans {data.span_ms / 60_000:.1f} min: regenerating {count:,}", flush=True)
        data = bench_data.generate(bench_data.REALISTIC, count)
    print(
        f"data: {len(data):,} events, {len(set(data.actors)):,} actors, "
        f"{data.span_ms / 60_000:.1f} min of event time "
        f"({len(data) / (data.span_ms / 1000):,.1f} events/s); leaks: "
        + ", ".join(f"{leak['detector']} by {leak['actor']}" for leak in data.leaks)
        + f" ({time.perf_counter() - started:.0f}s to generate)",
        flush=True,
    )
    return data


def catchup_run(
    data: bench_data.Dataset, base: Settings, registry: Registry, redis: RedisServer, tag: str
) -> dict[str, Any]:
    """The outage: the whole backlog produced to fresh topics with no worker running; then
    one worker drains it. Its topics and Redis keys are deleted afterwards."""
    namespace = f"c{uuid.uuid4().hex[:5]}."
    settings = replace(base, namespace=namespace)
    log = OUT / f"bench-catchup-{tag}.log"
    log.write_text(f"namespace {namespace}\n")
    try:
        create_topics(settings)
        produce_started = time.monotonic()
        start_ms = int(time.time() * 1000)
        bench_data.produce(data, settings, registry, start_ms)
        produced_s = time.monotonic() - produce_started
        print(
            f"outage: {len(data):,} events produced in {produced_s:.0f}s with no worker; "
            "starting one worker",
            flush=True,
        )
        launched_wall_ms = int(time.time() * 1000)
        launched = time.monotonic()
        run = runs._launch_workers(1, settings, log)
        try:
            recording = record(
                run.processes,
                run.counts,
                len(data),
                redis.client(),
                runs._timeout(data),
                INTERVAL_S,
                run.ready,
            )
            counters = worker_metrics(run.ports[0])
        finally:
            for proc in run.processes:
                procs.stop(proc)
            run.cleanup()
        docs = runs.read_topic(settings, settings.alerts_topic)
    finally:
        delete_topics(settings, namespace)
        delete_keys(redis.client(), namespace)
    oldest_ms = start_ms - bench_data.NEWEST_AGE_MS - data.span_ms
    result = drain_figures(recording.samples, len(data), launched)
    result.update(
        start_ms=start_ms,
        produce_s=produced_s,
        backlog_age_at_start_s=(launched_wall_ms - oldest_ms) / 1000,
        rejected=recording.rejected,
        peak_rss_mb=recording.peak_rss / 2**20,
        late=counters["blindar_late_events_total"],
        dropped_late=counters["blindar_dropped_late_events_total"],
        duplicates=counters["blindar_duplicate_events_total"],
        invalid=counters["blindar_invalid_events_total"],
        alerts=len(docs),
        page_counter=alert_pages(docs),
        log=str(log),
    )
    return result


def drain_figures(samples: list[Sample], total: int, launched: float) -> dict[str, float]:
    """Drain time from the worker's start to the sample at `total` events, rates whole and
    over the middle 80 %, CPU per event."""
    done = next(s for s in samples if s.events >= total)
    first = next(s for s in samples if s.events > 0)
    start = samples[0]
    middle = middle_span(samples, total)
    drain_s = done.t - launched
    return {
        "drain_s": drain_s,
        "startup_s": first.t - launched,
        "drain_events_per_s": total / drain_s,
        "drain_events_per_s_middle": middle.events_per_s,
        "middle_whole_run": middle.whole_run,
        "worker_us": middle.per_event_us(middle.cpu_s),
        "redis_us": middle.per_event_us(middle.redis_cpu_s),
        "redis_commands": middle.redis_commands / middle.events,
        "worker_us_whole": (done.cpu_s - start.cpu_s) / total * 1e6,
        "redis_us_whole": (done.redis_cpu_s - start.redis_cpu_s) / total * 1e6,
    }


def live_reference(
    data: bench_data.Dataset,
    start_ms: int,
    base: Settings,
    registry: Registry,
    redis: RedisServer,
    tag: str,
) -> dict[str, Any]:
    """The same stamped events in event-time order through the worker's Pipeline
    (monitor/tools/replay.py) on the benchmark's Redis, trusting what the worker trusts."""
    path = OUT / f"bench-catchup-{tag}.jsonl"
    with path.open("wb") as out:
        for raw in data.stamped(start_ms):
            out.write(raw + b"\n")
    options = ReplayOptions(
        redis_url=redis.url,
        redis_db=REPLAY_DB,
        pseudonym_key=base.pseudonym_key,
        progress=False,
        channels=registry.channels,
        assignments=load_assignments(base.assignments_file),
        trust_events=False,
    )
    print("live reference: the same events in event-time order (blindar replay)", flush=True)
    try:
        report = run_replay(path, load_detectors(base.config_dir / "detectors.yaml"), options)
    finally:
        path.unlink(missing_ok=True)
    return {
        "events": report.events,
        "invalid": sum(report.rejected.values()),
        "seconds": report.seconds,
        "events_per_s": report.events_per_s,
        "trust": report.trust,
        "page_counter": replay_pages(report),
    }


def replay_pages(report: ReplayReport) -> Counter[PageKey]:
    return Counter((p.detector, p.tenant, p.actor) for p in report.pages)


def _page_rows(pages: Mapping[PageKey, int]) -> list[dict[str, Any]]:
    return [
        {"detector": d, "tenant": t, "actor": a, "pages": n}
        for (d, t, a), n in sorted(pages.items())
    ]


def _problems(f: dict[str, Any]) -> list[str]:
    c = f["catchup"]
    out = []
    if c["rejected"]:
        out.append(f"the worker rejected {c['rejected']:.0f} events")
    if c["dropped_late"]:
        out.append(f"the worker dropped {c['dropped_late']:.0f} events as too late")
    for detector, found in f["leaks_found"].items():
        for run, yes in found.items():
            if not yes:
                out.append(f"{run} run missed the injected {detector} leak")
    if not f["pages"]["equal"]:
        out.append("the catch-up paged differently from the live reference (above)")
    return out


def _found(yes: bool) -> str:
    return "found" if yes else "MISSED"


def print_table(f: dict[str, Any]) -> None:
    c, p, live = f["catchup"], f["pages"], f["live"]
    rate = f["data_events_per_s"]
    rows = [
        ("events", f"{f['events']:,}"),
        ("event-time span", f"{f['span_s'] / 60:.1f} min ({rate:,.1f} events/s)"),
        ("oldest event's age at worker start", f"{c['backlog_age_at_start_s'] / 60:.1f} min"),
        ("drain time (worker start to all decided)", f"{c['drain_s']:.1f} s"),
        ("  of which startup (to first event)", f"{c['startup_s']:.1f} s"),
        (
            "drain rate",
            f"{c['drain_events_per_s']:,.0f} events/s whole run, "
            f"{c['drain_events_per_s_middle']:,.0f} events/s middle 80 %",
        ),
        (
            "worker CPU",
            f"{c['worker_us']:.1f} us/event middle 80 % ({c['worker_us_whole']:.1f} whole)",
        ),
        (
            "Redis CPU",
            f"{c['redis_us']:.1f} us/event middle 80 % ({c['redis_us_whole']:.1f} whole), "
            f"{c['redis_commands']:.2f} commands/event",
        ),
        ("peak worker RSS", f"{c['peak_rss_mb']:.0f} MB"),
        (
            "late (late lane) / dropped late",
            f"{c['late']:.0f} / {c['dropped_late']:.0f} (rejected {c['rejected']:.0f})",
        ),
        (
            "pages catch-up / live",
            f"{p['catchup_pages']} on {p['catchup_actors']} (detector, tenant, actor) / "
            f"{p['live_pages']} on {p['live_actors']}",
        ),
        ("pages equal", "yes" if p["equal"] else "NO"),
        (
            "injected leaks (catch-up, live)",
            "; ".join(
                f"{d}: {_found(v['catchup'])}, {_found(v['live'])}"
                for d, v in f["leaks_found"].items()
            ),
        ),
        (
            "live reference (replay)",
            f"{live['events']:,} events in {live['seconds']:.0f}s, invalid {live['invalid']}",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"\ncatch-up after a {f['config']['minutes']:g}-minute outage, one worker")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if not p["equal"]:
        print("pages that differ (detector tenant actor: catch-up vs live):")
        for d in p["differences"]:
            print(f"  {d['detector']} {d['tenant']} {d['actor']}: {d['catchup']} vs {d['live']}")
    print(
        f"\nextrapolated from the measured drain rate "
        f"({c['drain_events_per_s_middle']:,.0f} events/s, middle 80 %), per worker; "
        "'with traffic': live traffic keeps arriving at the same rate during the drain"
    )
    for row in f["extrapolated"]:
        print(f"  {outage_line(row)}")
    print("figures in .run/bench-catchup.json")


if __name__ == "__main__":
    sys.exit(main())

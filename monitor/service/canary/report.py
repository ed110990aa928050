"""The canary section of the tenant's assurance report: canaries run, detected and missed
per channel (and detector), detection latency p50 and max, and every miss stated as the
coverage gap it is. Built from the results `blindar canary` keeps
(monitor/service/canary/results.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from monitor.service.canary import results


async def read(store: Any, prefix: str, tenant: str, days: list[str]) -> dict[str, Any]:
    """The period's stored results (none from a store without a Redis client)."""
    client = getattr(store, "client", None)
    if client is None:
        return {"counts": {}, "latencies": [], "misses": []}
    return await results.read(client, prefix, tenant, days)


def p50(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) / 2)) - 1]


def section(stored: dict[str, Any]) -> dict[str, Any]:
    """The report's `canaries` object."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for field, count in stored["counts"].items():
        outcome, channel, detector = field.split("|", 2)
        row = rows.setdefault((channel, detector), {"run": 0, "detected": 0, "missed": 0})
        row[outcome] = row.get(outcome, 0) + count
    latencies: dict[tuple[str, str], list[float]] = {}
    for item in stored["latencies"]:
        key = (item["channel"], item["detector"])
        latencies.setdefault(key, []).append(item["latency_ms"] / 1000)
    per_channel = []
    for (channel, detector), row in sorted(rows.items()):
        seen = latencies.get((channel, detector), [])
        per_channel.append(
            {
                "channel": channel,
                "detector": detector,
                **row,
                "latency_p50_s": p50(seen),
                "latency_max_s": max(seen) if seen else None,
            }
        )
    misses = [
        {"channel": m["channel"], "detector": m["detector"], "sent_at": iso(m["produced_ms"])}
        for m in sorted(stored["misses"], key=lambda m: m["produced_ms"])
    ]
    return {
        "run": sum(r["run"] for r in per_channel),
        "detected": sum(r["detected"] for r in per_channel),
        "missed": sum(r["missed"] for r in per_channel),
        "per_channel": per_channel,
        "coverage_gaps": misses,
    }


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")

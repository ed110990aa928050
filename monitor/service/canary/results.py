"""Canary results kept in Redis beside the assurance ledger, per tenant and UTC day: counts
per (channel, detector, outcome), detection latencies and the misses, capped and expiring
with the ledger's retention. `blindar canary` writes them; the report reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from detectors.state.keys import tenant_tag

DAY_MS = 86_400_000
MAX_ITEMS = 2000  # latencies and misses kept per tenant and day


@dataclass(frozen=True, slots=True)
class Result:
    tenant: str
    channel: str
    detector: str
    produced_ms: int
    decided_ms: int | None  # None: missed

    @property
    def detected(self) -> bool:
        return self.decided_ms is not None

    @property
    def latency_ms(self) -> int | None:
        return None if self.decided_ms is None else self.decided_ms - self.produced_ms


def day_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def key(prefix: str, tenant: str, day: str, part: str) -> str:
    """Beside the tenant's ledger keys of that day (monitor/service/ledger.py, tenant_key)."""
    return f"{prefix}{tenant_tag(tenant)}:ledger:{day}:canary:{part}"


async def record(client: Any, prefix: str, results: list[Result], retention_days: int) -> None:
    """Add one run's results (single-key commands: a Redis Cluster routes each)."""
    ttl = (retention_days + 1) * 86_400
    for r in results:
        day = day_of(r.produced_ms)
        counts = key(prefix, r.tenant, day, "n")
        outcome = "detected" if r.detected else "missed"
        await client.hincrby(counts, f"run|{r.channel}|{r.detector}", 1)
        await client.hincrby(counts, f"{outcome}|{r.channel}|{r.detector}", 1)
        await client.expire(counts, ttl)
        item = orjson.dumps(
            {
                "channel": r.channel,
                "detector": r.detector,
                "produced_ms": r.produced_ms,
                "latency_ms": r.latency_ms,
            }
        )
        part = "lat" if r.detected else "miss"
        await client.rpush(key(prefix, r.tenant, day, part), item)
        await client.ltrim(key(prefix, r.tenant, day, part), -MAX_ITEMS, -1)
        await client.expire(key(prefix, r.tenant, day, part), ttl)


async def read(client: Any, prefix: str, tenant: str, days: list[str]) -> dict[str, Any]:
    """The period's canary counts per (outcome, channel, detector), latencies and misses."""
    counts: dict[str, int] = {}
    latencies: list[dict[str, Any]] = []
    misses: list[dict[str, Any]] = []
    for day in days:
        stored = await client.hgetall(key(prefix, tenant, day, "n"))
        for field, value in stored.items():
            name = field.decode() if isinstance(field, bytes) else field
            counts[name] = counts.get(name, 0) + int(value)
        latencies += [
            orjson.loads(v) for v in await client.lrange(key(prefix, tenant, day, "lat"), 0, -1)
        ]
        misses += [
            orjson.loads(v) for v in await client.lrange(key(prefix, tenant, day, "miss"), 0, -1)
        ]
    return {"counts": counts, "latencies": latencies, "misses": misses}


async def items(client: Any, prefix: str, tenant: str, day: str, part: str) -> list[bytes]:
    return list(await client.lrange(key(prefix, tenant, day, part), 0, -1))

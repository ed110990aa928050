"""The baseline state families (AH, AC, AO) on a real Redis give the in-process answers,
stay idempotent under re-delivery and keep every key under a TTL."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from detectors.access_burst import AccessBurst, AccessBurstConfig
from detectors.auth_failures import AuthFailures, AuthFailuresConfig
from detectors.base import Detector
from detectors.cumulative_access import CumulativeAccess, CumulativeAccessConfig
from detectors.event import Event
from detectors.off_hours import OffHours, OffHoursConfig
from detectors.tuning import Tuning
from detectors.unmask_rate import UnmaskRate, UnmaskRateConfig
from monitor.settings import Settings
from tests.detectors.helpers import MIN
from tests.harness import drop_namespace, isolated_settings
from tests.integration.reference import Answers, redelivered_batches, run_both

pytestmark = pytest.mark.services

HOUR = 60 * MIN
ACTIONS = ["record.view", "record.search", "pii.unmask", "auth.login", "record.update"]


@pytest.fixture
def namespace(services: Settings) -> Iterator[Settings]:
    isolated = isolated_settings()
    yield isolated
    drop_namespace(isolated)


def detectors(prefix: str, roster: Path) -> list[Detector]:
    """Every baseline detector, tuned so that warm-ups end within the test."""
    return [
        AccessBurst(
            Tuning(
                AccessBurstConfig(
                    min_observed=3,
                    warmup_windows=2,
                    team_min_samples=2,
                    history_windows=6,  # small caps: trimming is compared too
                    team_sample=15,
                )
            ),
            prefix,
        ),
        UnmaskRate(Tuning(UnmaskRateConfig(window_minutes=10, min_observed=2)), prefix),
        AuthFailures(Tuning(AuthFailuresConfig(threshold_failures=3)), prefix),
        CumulativeAccess(Tuning(CumulativeAccessConfig(min_observed=1)), prefix),
        OffHours(
            Tuning(OffHoursConfig(roster_file=str(roster), profile_min_days=1, min_events=2)),
            prefix,
        ),
    ]


def random_event(rng: random.Random, index: int, ts: int) -> Event:
    n = index + 1
    return Event(
        event_id=f"e-{n}",
        ts_ms=ts,
        tenant="acme",
        channel="chat",
        actor_id=f"a-{n % 6}",
        actor_team=f"t-{n % 2}",
        action=ACTIONS[rng.randrange(len(ACTIONS))],
        resource_id=f"r-{rng.randrange(300)}",
        outcome="failure" if rng.random() < 0.5 else "success",
        source_ip=f"10.0.0.{n % 3}",
    )


def random_batches(seed: int, batches: int = 40) -> list[list[Event]]:
    """Three days of batches: late, out-of-order events and ~20 % re-deliveries."""
    return redelivered_batches(seed, batches, 60, 110 * MIN, random_event)


def run(settings: Settings, roster: Path, batches: list[list[Event]]) -> Answers:
    return asyncio.run(run_both(settings, detectors(settings.redis_prefix, roster), batches))


def write_roster(tmp_path: Path) -> Path:
    path = tmp_path / "roster.yaml"
    path.write_text(
        "- {id: a-0, tz: UTC, shift_start_hour: 9, shift_hours: 8, days_off: [5, 6]}\n"
        "- {id: a-1, shift_start_hour: 22, shift_hours: 8}\n"
    )
    return path


def close(a: int, b: int) -> bool:
    """HyperLogLog counts (and statistics over them) within 3 %."""
    return abs(a - b) <= max(2, 0.03 * abs(b))


def test_baseline_families_match_the_reference(namespace: Settings, tmp_path: Path) -> None:
    roster = write_roster(tmp_path)
    answers = run(namespace, roster, random_batches(11))
    got_redis, got_memory, kinds = answers.redis, answers.memory, answers.kinds
    compared = {"AH": 0, "AC": 0, "AO": 0, "S": 0, "D": 0}
    for redis_batch, memory_batch, batch_kinds in zip(got_redis, got_memory, kinds, strict=True):
        for r, m, kind in zip(redis_batch, memory_batch, batch_kinds, strict=True):
            compared[kind] += 1
            if kind == "AC":
                # [sum, peers, median x100, MAD x100]: peers exact, the rest HyperLogLog-close
                assert close(r[0], m[0]) and r[1] == m[1], (r, m)
                assert close(r[2] // 100, m[2] // 100) and close(r[3] // 100, m[3] // 100), (r, m)
            elif kind == "D":
                assert close(r, m), (r, m)
            else:
                assert r == m, (kind, r, m)
    assert all(compared.values()), compared
    # the families did real work: some baselines and profiles were built
    ah = [
        r
        for batch, ks in zip(got_redis, kinds, strict=True)
        for r, k in zip(batch, ks, strict=True)
        if k == "AH"
    ]
    assert any(reply[1] > 0 and reply[4] > 0 for reply in ah)
    assert any(reply[1] == 6 and reply[4] == 15 for reply in ah)  # access_burst's caps
    ao = [
        r
        for batch, ks in zip(got_redis, kinds, strict=True)
        for r, k in zip(batch, ks, strict=True)
        if k == "AO"
    ]
    assert any(reply[0] >= 1 for reply in ao)


def snapshot(settings: Settings) -> dict[bytes, object]:
    """Every key of the namespace with its content (HyperLogLogs by their count)."""
    client = redis.Redis.from_url(settings.redis_url)
    out: dict[bytes, object] = {}
    for key in client.scan_iter(match=f"{settings.redis_prefix}*"):
        kind = client.type(key)
        if kind == b"hash":
            out[key] = client.hgetall(key)
        elif kind == b"zset":
            out[key] = client.zrange(key, 0, -1, withscores=True)
        elif kind == b"list":
            out[key] = client.lrange(key, 0, -1)
        else:
            out[key] = client.pfcount(key)
    return out


def test_replaying_every_batch_changes_no_state(namespace: Settings, tmp_path: Path) -> None:
    """At-least-once delivery: a second pass over the same batches leaves every key as it was."""
    roster = write_roster(tmp_path)
    batches = random_batches(5, batches=12)
    first = run(namespace, roster, batches).redis
    before = snapshot(namespace)
    answers = run(namespace, roster, batches)
    again, kinds = answers.redis, answers.kinds
    assert snapshot(namespace) == before
    assert len(before) > 10
    # S and AO answers come from state alone; AH and AC answers also depend on what this
    # batch closed or read from peers mid-batch, which a replay does not repeat
    stable = [
        (a, b) for a, b, k in zip(first[-1], again[-1], kinds[-1], strict=True) if k in "S AO"
    ]
    assert stable and all(a == b for a, b in stable)


def test_baseline_keys_expire(namespace: Settings, tmp_path: Path) -> None:
    run(namespace, write_roster(tmp_path), random_batches(7, batches=4))
    client = redis.Redis.from_url(namespace.redis_url)
    keys = list(client.scan_iter(match=f"{namespace.redis_prefix}*"))
    assert len(keys) > 10
    assert all(0 < client.pttl(k) <= 56 * 24 * HOUR for k in keys)

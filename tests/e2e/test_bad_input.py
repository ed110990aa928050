"""10,000 malformed messages of many kinds interleaved with valid events: every valid
event takes effect, every malformed one is dead-lettered exactly once, the counts are
exact and the worker keeps up (every input offset committed)."""

from __future__ import annotations

import base64
import hashlib
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from monitor.service.ledger import day_of, guard_key, tenant_key
from monitor.service.settings import DEFAULT_CONFIG_DIR, Settings
from tests.faults.workload import (
    build,
    check_counters,
    malformed,
    produce_stream,
    wait_all_committed,
)
from tests.harness import (
    TopicReader,
    WorkerProcess,
    produce,
    redis_client,
    running_worker,
    wait_until,
)

pytestmark = [pytest.mark.services, pytest.mark.timeout(240)]
MALFORMED = 10_000


def test_ten_thousand_malformed_messages_among_valid_events(
    settings: Settings, worker: WorkerProcess
) -> None:
    work = build(seed=21, agents=60, invalid_every=0)
    stream: list[tuple[str, bytes, bytes]] = []
    bad: list[bytes] = []
    per_event = MALFORMED // len(work.events) + 1
    for channel, key, value in work.stream:
        stream.append((channel, key, value))
        template = orjson.loads(value)
        for _ in range(per_event):
            if len(bad) == MALFORMED:
                break
            raw = malformed(len(bad), template, 21)
            if len(bad) % 997 == 0:  # a batch envelope over the element limit
                raw = orjson.dumps([{"n": len(bad)}] * 1001)
            bad.append(raw)
            stream.append((channel, key, raw))
    assert len(bad) == MALFORMED

    dead = TopicReader(settings, settings.deadletter_topic)
    produce_stream(settings, stream)
    wait_all_committed(settings, timeout=180)
    letters = dead.wait_for(MALFORMED, timeout=60, settle=2.0)

    assert len(letters) == MALFORMED
    values = Counter(d["sha256"] for d in letters)
    assert set(values) == {hashlib.sha256(raw).hexdigest() for raw in bad}
    assert max(values.values()) == 1
    inline = [d for d in letters if d["value_b64"] is not None]
    assert all(base64.b64decode(d["value_b64"]) in set(bad) for d in inline)
    reasons = Counter(d["reason"] for d in letters)
    assert len(reasons) >= 8, reasons
    wait_until(
        lambda: worker.metric("blindar_events_total") == len(work.events),
        30,
        what="every valid event counted once",
    )
    assert worker.metric("blindar_invalid_events_total") == MALFORMED
    for reason, count in reasons.items():
        assert worker.metric("blindar_invalid_events_total", reason=reason) == count
    sums, _ = check_counters(settings, work.events)
    print(f"\n[bad input] valid={len(work.events)} malformed={MALFORMED} reasons={dict(reasons)}")
    assert sums > 0


def test_an_unregistered_tenant_is_dead_lettered_and_never_in_the_ledger(
    settings: Settings, tmp_path: Path
) -> None:
    """The shipped registry (deploy/config/tenants.yaml): an event naming another tenant is
    dead-lettered `unknown_tenant`, and no ledger key of that name exists; a registered
    tenant's event is counted as usual."""
    shipped = {"BLINDAR_TENANTS_FILE": str(DEFAULT_CONFIG_DIR / "tenants.yaml")}
    now = int(time.time() * 1000)

    def event(n: int, tenant: str) -> dict:
        return {"event_id": f"u-{n}", "ts": now, "tenant": tenant, "action": "record.search",
                "actor": {"id": f"agent-{n}"}}  # fmt: skip

    dead = TopicReader(settings, settings.deadletter_topic)
    try:
        with running_worker(settings, tmp_path / "worker.log", shipped) as worker:
            produce(settings, "voice", [event(1, "acme-bank"), event(2, "evil-corp")])
            [letter] = dead.wait_for(1, timeout=60, settle=2.0)
            wait_until(lambda: worker.metric("blindar_events_total") == 1, 30, 0.2, "acme-bank")
            assert worker.metric("blindar_invalid_events_total", reason="unknown_tenant") == 1
    finally:
        dead.close()
    assert letter["reason"] == "unknown_tenant"
    assert orjson.loads(base64.b64decode(letter["value_b64"]))["tenant"] == "evil-corp"
    client = redis_client(settings)
    keys = [k.decode() for k in client.scan_iter(match=f"{settings.redis_prefix}*")]
    assert not [k for k in keys if "evil-corp" in k], keys
    prefix, today = settings.redis_prefix, day_of(now)
    assert client.hget(tenant_key(prefix, "acme-bank", today, "n"), "ev|voice") == b"1"
    unattributed = client.hgetall(tenant_key(prefix, None, today, "n"))
    assert unattributed == {b"dl|voice|unknown_tenant": b"1"}
    assert client.exists(guard_key(prefix, None, "dead"))

"""Property-based, end to end: whatever hostile input hypothesis makes (oversized, deeply
nested, 1,000-element arrays, control characters, huge numbers, invented channels) next
to a bystander's bulk export, the bystander is paged, the worker stays healthy, nothing
is left uncommitted and the dead letters stay within a small multiple of the input."""

from __future__ import annotations

import hashlib
import itertools
import time
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.service import deadletter
from monitor.service.settings import Settings
from tests.faults.workload import wait_all_committed
from tests.harness import TopicReader, WorkerProcess, produce, wait_until

pytestmark = [pytest.mark.services, pytest.mark.timeout(600)]
CHANNELS = ("chat", "voice", "email", "sms", "backoffice")
# A dead letter may cost its message's bytes in base64 plus a bounded record around it.
PER_LETTER_BYTES = 8_192
RUN = itertools.count()

ids = st.text(
    st.characters(codec="utf-8", categories=("Cc", "Cf", "Zl", "Zp", "Zs", "L", "N", "P", "S")),
    min_size=1,
    max_size=300,
)


def event(n: int, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "event_id": f"h-{n}",
        "ts": int(time.time() * 1000) - 1000,
        "tenant": "acme",
        "action": "record.view",
        "actor": {"id": f"hostile-{n % 7}"},
        "resource": {"id": f"r-{n}"},
    }
    doc.update(changes)
    return doc


def deep(depth: int, array: bool) -> bytes:
    opening, closing = (b"[", b"]") if array else (b'{"a":', b"}")
    return b'{"event_id":"d","actor":' + opening * depth + b"1" + closing * depth + b"}"


hostile = st.one_of(
    st.integers(65_600, 68_000).map(lambda size: orjson.dumps(event(1, pad="p" * size))),
    st.builds(deep, st.integers(2, 5000), st.booleans()),
    st.lists(
        st.sampled_from([{}, 1, "x", None, [], {"event_id": 7}, event(2, records=-1)]),
        min_size=990,
        max_size=1010,
    ).map(orjson.dumps),
    ids.map(lambda text: orjson.dumps(event(3, actor={"id": text, "team": text}))),
    ids.map(lambda text: orjson.dumps(event(4, tenant=text, channel=text))),
    st.sampled_from(["9" * 400, "1e308", "-1e308", str(2**63), str(2**53)]).map(
        lambda number: orjson.dumps(event(5)).replace(
            b'"tenant"', f'"records":{number},"tenant"'.encode()
        )
    ),
    st.integers(-(2**63), 2**63 - 1).map(lambda ts: orjson.dumps(event(6, ts=ts))),
    ids.map(lambda text: orjson.dumps(event(7, channel=text[:64]))),
    st.binary(max_size=2000),
)


def bystander_exports(actor: str) -> list[dict[str, Any]]:
    now = int(time.time() * 1000)
    return [
        {
            "event_id": f"{actor}-{i}",
            "ts": now - 5_000 + i,
            "tenant": "acme",
            "action": "record.export",
            "actor": {"id": actor},
            "records": 250,
        }
        for i in range(3)
    ]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(messages=st.lists(st.tuples(st.sampled_from(CHANNELS), hostile), min_size=1, max_size=6))
def test_hostile_input_never_blinds_the_monitor(
    settings: Settings, worker: WorkerProcess, messages: list[tuple[str, bytes]]
) -> None:
    run = next(RUN)
    bystander = f"bystander-{run}"
    # The example's own key: hypothesis repeats inputs across examples (b"", a shallow
    # nesting), and the dead-letter topic is read from its beginning.
    key = f"hostile-{run}".encode()
    dead = TopicReader(settings, settings.deadletter_topic)
    alerts = TopicReader(settings, settings.alerts_topic)
    for channel, raw in messages:
        produce(settings, channel, [raw], key=key)
    produce(settings, "backoffice", bystander_exports(bystander))

    def paged() -> bool:
        return any(
            a["actor"]["user"]["uid"] == bystander
            and a["finding_info"]["analytic"]["name"] == "bulk_export"
            for a in alerts.poll(0.3) and alerts.values()
        )

    wait_until(paged, 60, what=f"{bystander} paged")
    wait_all_committed(settings, timeout=60)
    assert worker.proc is not None and worker.proc.poll() is None, worker.log_tail()
    health = worker.health()
    assert health["status"] == "ok", health
    hashes = {hashlib.sha256(raw).hexdigest() for _, raw in messages}
    dead.poll(1.0)
    ours = [m for m in dead.messages if m.key() == key]
    assert {orjson.loads(m.value())["sha256"] for m in ours} <= hashes
    letter_bytes = sum(len(m.value()) for m in ours)
    input_bytes = sum(len(raw) for _, raw in messages)
    assert len(ours) <= len(messages), "at most one dead letter per message"
    assert letter_bytes <= 2 * input_bytes + PER_LETTER_BYTES * len(messages)
    assert all(len(m.value()) <= deadletter.MAX_RECORD_BYTES for m in ours)
    dead.close()
    alerts.close()

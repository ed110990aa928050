"""Invented channel names and control characters in ids leave no trace in Redis or in
the worker's log: invented channels count for their topic's channel, ids with control
characters are dead-lettered."""

from __future__ import annotations

import time
import uuid

import pytest

from monitor.service.settings import Settings
from tests.harness import TopicReader, WorkerProcess, produce, redis_client, wait_until

pytestmark = [pytest.mark.services, pytest.mark.store]


def stored(settings: Settings) -> bytes:
    """Every key name and stored member/field/value of the namespace, concatenated (plain
    string keys hold bitmaps and HyperLogLogs: binary, not names)."""
    client = redis_client(settings)
    out = []
    for key in client.scan_iter(match=f"{settings.redis_prefix}*", count=1000):
        out.append(key)
        kind = client.type(key)
        if kind == b"hash":
            for field, value in client.hgetall(key).items():
                out += [field, value]
        elif kind == b"zset":
            out += client.zrange(key, 0, -1)
        elif kind == b"set":
            out += list(client.smembers(key))
        elif kind == b"list":
            out += client.lrange(key, 0, -1)
    return b"\n".join(out)


def view(n: int, **changes: object) -> dict:
    doc = {
        "event_id": f"id-{n}",
        "ts": int(time.time() * 1000) - 1000,
        "tenant": "acme",
        "action": "record.view",
        "actor": {"id": "agent-ids"},
        "resource": {"id": f"r-{n}"},
    }
    doc.update(changes)
    return doc


def test_invented_channels_and_control_characters_leave_no_trace(
    settings: Settings, worker: WorkerProcess
) -> None:
    invented = [f"made-up-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    hostile = "agent\x1b[31m\nERROR forged\u202e"
    dead = TopicReader(settings, settings.deadletter_topic)
    produce(settings, "chat", [view(n, channel=name) for n, name in enumerate(invented)])
    produce(settings, "chat", [view(10, actor={"id": hostile}), view(11, tenant="a\x00b")])
    produce(settings, "chat", [view(12, actor={"id": "agent-ids", "team": "t\x85"})])
    letters = dead.wait_for(3, timeout=60, settle=1.0)
    assert [d["reason"] for d in letters] == ["bad_value"] * 3
    assert all("control character" in d["detail"] for d in letters)
    wait_until(
        lambda: worker.metric("blindar_events_total", channel="chat") == len(invented),
        30,
        what="invented-channel events counted for chat",
    )
    assert worker.metric("blindar_unregistered_channel_events_total", channel="chat") == 5
    metrics_page = worker.get("/metrics")[1]
    state = stored(settings)
    assert b"agent-ids" in state, "the valid events made state"
    for name in invented:
        assert name.encode() not in state and name.encode() not in metrics_page
    for text in (b"\x1b", b"a\x00b", b"t\xc2\x85", b"ERROR forged"):
        assert text not in state
    log = worker.log_path.read_bytes()
    assert b"\x1b[31m" not in log and b"\nERROR forged" not in log

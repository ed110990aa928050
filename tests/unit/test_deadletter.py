"""Dead letters are bounded by construction: the biggest input gives a record under the
producer's limit, and one record lists every bad element of a message."""

from __future__ import annotations

import base64
import hashlib

import orjson

from monitor.service import deadletter
from monitor.service.contract import MAX_MESSAGE_BYTES
from monitor.service.events import Rejection, decode_message
from monitor.service.kafka_io import OUTPUT_MAX_BYTES

NOW = 1_800_000_000_000


def origin(value: bytes, key: bytes | None = b"agent-1") -> deadletter.Origin:
    return deadletter.Origin("interactions.chat", 3, 42, "chat", key, value)


def worst_batch() -> bytes:
    """A message just under the limit whose every element is rejected with a long detail."""
    docs = [{"actor": {"id": "a", "type": "x" * 30}} for _ in range(1000)]
    raw = orjson.dumps(docs)
    assert len(raw) < MAX_MESSAGE_BYTES
    return raw + b" " * (MAX_MESSAGE_BYTES - len(raw))


def test_ceiling_is_under_the_producer_limit() -> None:
    assert deadletter.MAX_RECORD_BYTES < OUTPUT_MAX_BYTES // 2


def test_worst_inline_message_stays_under_the_ceiling() -> None:
    raw = worst_batch()
    _, rejections = decode_message(raw, "chat", NOW)
    assert len(rejections) == 1000
    # Longest details possible, every character escaped by JSON.
    rejections = [Rejection("bad_value", "\x1b" * 10_000, i) for i in range(1000)]
    letter = deadletter.encode(origin(raw, b"\x01" * 2_000_000), rejections, NOW)
    assert len(letter) <= deadletter.MAX_RECORD_BYTES
    doc = orjson.loads(letter)
    assert base64.b64decode(doc["value_b64"]) == raw
    assert doc["errors_total"] == 1000 and len(doc["errors"]) == deadletter.MAX_LISTED
    assert doc["key_size"] == 2_000_000 and len(base64.b64decode(doc["key_b64"])) == 1024


def test_huge_message_keeps_head_hash_and_size() -> None:
    raw = b"[" + b"9" * 20_000_000 + b"]"
    _, rejections = decode_message(raw, "chat", NOW)
    letter = deadletter.encode(origin(raw), rejections, NOW)
    assert len(letter) < 10_000
    doc = orjson.loads(letter)
    assert doc["reason"] == "too_large" and doc["size"] == len(raw)
    assert doc["sha256"] == hashlib.sha256(raw).hexdigest()
    assert doc["value_b64"] is None
    assert base64.b64decode(doc["value_head_b64"]) == raw[: deadletter.HEAD_BYTES]


def test_one_record_lists_each_bad_element_by_index() -> None:
    good = {"event_id": "ok", "ts": NOW, "tenant": "t", "action": "print", "actor": {"id": "a"}}
    docs = [good, {"event_id": "x"}, good, 7, {**good, "records": "many"}]
    raw = orjson.dumps(docs)
    events, rejections = decode_message(raw, "chat", NOW)
    assert len(events) == 2
    doc = orjson.loads(deadletter.encode(origin(raw), rejections, NOW))
    assert [(e["index"], e["reason"]) for e in doc["errors"]] == [
        (1, "missing_field"),
        (3, "not_object"),
        (4, "wrong_type"),
    ]
    assert doc["reasons"] == {"missing_field": 1, "not_object": 1, "wrong_type": 1}
    assert doc["reason"] == "missing_field" and doc["errors_total"] == 3


def test_smaller_record_for_a_refused_dead_letter() -> None:
    raw = worst_batch()
    rejections = [Rejection("bad_value", "\x1b" * 10_000, i) for i in range(1000)]
    letter = deadletter.encode(origin(raw), rejections, NOW, smaller=True)
    assert len(letter) < 32_000
    doc = orjson.loads(letter)
    assert doc["value_b64"] is None and len(doc["errors"]) == deadletter.SMALLER_LISTED
    assert doc["sha256"] == hashlib.sha256(raw).hexdigest()

"""Dead letters: one bounded record per rejected message, whatever the message holds.

A message within the contract's size limit travels whole (base64); a larger one
travels as its first `HEAD_BYTES`, its sha256 and its size. Every bad element of a
batch message is listed by index and reason, up to `MAX_LISTED` of them, each detail
cut to `MAX_DETAIL_CHARS`. So a record's size has a ceiling (`MAX_RECORD_BYTES`) that
no input can pass, well under the producer's message limit.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from monitor.service.contract import MAX_MESSAGE_BYTES
from monitor.service.events import Rejection

INLINE_BYTES = MAX_MESSAGE_BYTES  # a message this small is kept whole
HEAD_BYTES = 4096  # what a larger message (or a dead letter retried smaller) keeps
MAX_KEY_BYTES = 1024
MAX_LISTED = 100  # bad elements listed by index; the rest are counted
SMALLER_LISTED = 10
MAX_DETAIL_CHARS = 300
# Ceiling of a record (JSON escapes a character in at most 6 bytes; base64 is 4/3):
# inline value + key + listed errors + fixed fields.
MAX_RECORD_BYTES = (
    (INLINE_BYTES * 4) // 3
    + 4
    + (MAX_KEY_BYTES * 4) // 3
    + 4
    + MAX_LISTED * (6 * MAX_DETAIL_CHARS + 200)
    + 4096
)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a rejected message came from."""

    topic: str
    partition: int
    offset: int
    channel: str
    key: bytes | None
    value: bytes | None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _cut(text: str) -> str:
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 1] + "…"


def record(
    origin: Origin, rejections: Sequence[Rejection], received_ms: int, smaller: bool = False
) -> dict[str, Any]:
    """The dead-letter record of one message; `smaller` keeps only the head and 10 errors."""
    value = origin.value or b""
    key = origin.key or b""
    first = rejections[0]
    listed = SMALLER_LISTED if smaller else MAX_LISTED
    whole = not smaller and len(value) <= INLINE_BYTES
    doc: dict[str, Any] = {
        "reason": first.reason,
        "detail": _cut(first.detail),
        "topic": origin.topic,
        "partition": origin.partition,
        "offset": origin.offset,
        "channel": origin.channel,
        "received_ms": received_ms,
        "size": len(value),
        "sha256": hashlib.sha256(value).hexdigest(),
        "value_b64": _b64(value) if whole and origin.value is not None else None,
        "value_head_b64": None if whole else _b64(value[:HEAD_BYTES]),
        "key_b64": _b64(key[:MAX_KEY_BYTES]) if origin.key is not None else None,
        "key_size": len(key),
        "reasons": dict(Counter(r.reason for r in rejections)),
        "errors": [
            {"index": r.index, "reason": r.reason, "detail": _cut(r.detail)}
            for r in rejections[:listed]
        ],
        "errors_total": len(rejections),
    }
    return doc


def encode(
    origin: Origin, rejections: Sequence[Rejection], received_ms: int, smaller: bool = False
) -> bytes:
    return orjson.dumps(record(origin, rejections, received_ms, smaller))

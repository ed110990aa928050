"""Property-based tests of the decoder and validator: arbitrary bytes and arbitrary JSON
never raise out of them, every rejection has a bounded reason and a detail, and every
element of a batch ends up either an event or a rejection (nothing vanishes)."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monitor.service.events import REASONS, decode_message

NOW = 1_780_000_000_000
FIELDS = [
    "event_id",
    "ts",
    "tenant",
    "channel",
    "actor",
    "action",
    "resource",
    "records",
    "bytes",
    "customer_id",
    "source",
    "destination",
    "outcome",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=25,
)
# Objects that look like events: contract keys with arbitrary (often wrong) values.
event_like = st.fixed_dictionaries(
    {},
    optional={name: json_values for name in FIELDS}
    | {
        "actor": st.fixed_dictionaries({}, optional={"id": json_values, "type": json_values}),
        "ts": st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.text(max_size=30),
    },
)


def check(raw: bytes) -> None:
    events, rejections = decode_message(raw, "chat", NOW)
    for rejection in rejections:
        assert rejection.reason in REASONS
        assert isinstance(rejection.detail, str) and rejection.detail
    for event in events:
        assert event.event_id and event.tenant and event.actor_id


@settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512))
@example(b'{"event_id":"a","ts":99999999999999999999999,"tenant":"t","actor":{"id":"a"}}')
@example(b"[" * 5000)
@example(b'{"a":' * 3000)
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    check(raw)


@settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_arbitrary_json_never_raises(doc: Any) -> None:
    check(orjson.dumps(doc))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(event_like)
def test_event_like_objects_are_an_event_or_one_rejection(doc: dict[str, Any]) -> None:
    events, rejections = decode_message(orjson.dumps(doc), "chat", NOW)
    assert len(events) + len(rejections) == 1
    check(orjson.dumps(doc))


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event_like | json_values, min_size=1, max_size=20))
def test_batch_elements_each_become_an_event_or_a_rejection(docs: list[Any]) -> None:
    events, rejections = decode_message(orjson.dumps(docs), "chat", NOW)
    assert len(events) + len(rejections) == len(docs)
    indexes = sorted(r.index for r in rejections)
    assert len(set(indexes)) == len(indexes) and all(0 <= i < len(docs) for i in indexes)

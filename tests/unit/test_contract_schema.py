"""The published JSON Schema is generated from the contract table, is current, and agrees
with the fast hand-written validator on a corpus of valid and invalid events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from monitor.cli import main
from monitor.service.contract import FIELDS, json_schema
from monitor.service.events import Invalid, parse_event
from monitor.service.settings import REPO_ROOT

NOW = 1_790_000_000_000
SCHEMA_FILE = REPO_ROOT / "docs" / "event-schema.json"
VALIDATOR = Draft202012Validator(json_schema())


def base(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "event_id": "e-1",
        "ts": NOW - 1000,
        "tenant": "acme",
        "action": "record.view",
        "actor": {"id": "agent-1"},
        "resource": {"id": "rec-1"},
    }
    for path, value in changes.items():
        parent, _, leaf = path.replace("__", ".").rpartition(".")
        node = doc.setdefault(parent, {}) if parent else doc
        if value is DROP:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return doc


DROP = object()

VALID = [
    base(),
    base(action="record.export", resource=DROP, records=900, bytes=0),
    base(ts="2026-09-21T10:00:00Z"),
    base(ts="2026-09-21t10:00:00.123456789-03:30"),
    base(ts="2026-09-21 10:00:00.123+02:00"),
    base(records=5.0, ts=float(NOW)),
    base(action="custom.thing", resource=DROP),
    base(channel="chat", customer_id="c-1", interaction_id="i-1", extra={"anything": 1}),
    base(
        actor={"id": "a", "type": "supervisor", "team": "t", "site": "s", "tenants": ["x"]},
        resource={"id": "r", "type": "recording", "tenant": "x", "classification": "phi"},
        source={"ip": "10.0.0.1", "device_id": "d", "country": "PT", "lat": 38.7, "lon": -9.1},
        destination={"kind": "usb", "domain": "x.com", "external": True},
        outcome="failure",
    ),
    base(customer_id=None, source=None, destination=None, outcome=None),
    base(actor={"id": "a", "type": None, "tenants": None}),
    base(source__lat=-90, source__lon=180),
]

INVALID = [
    base(event_id=DROP),
    base(event_id=""),
    base(event_id="x" * 129),
    base(event_id=7),
    base(ts=DROP),
    base(ts=None),
    base(ts=True),
    base(ts=-5),
    base(ts=1.5),
    base(ts="2026-09-21T10:00Z"),
    base(ts="2026-09-21T10:00:00"),
    base(ts="yesterday"),
    base(ts="2026-09-21T10:00:00+0200"),
    base(ts="2026-09-21T10:00:00.Z"),
    base(ts="2026-09-21T10:00:00.1234567890Z"),
    base(ts="2026-09-21T10:00:00z"),
    base(ts="2026-09-21T10:00:00,5Z"),
    base(ts="2026-09-21T10:00:0٣Z"),
    base(ts="2026-09-21"),
    base(tenant=DROP),
    base(tenant=""),
    base(actor=DROP),
    base(actor=None),
    base(actor="agent-1"),
    base(actor={"team": "t"}),
    base(actor={"id": ""}),
    base(actor={"id": "a", "type": "robot"}),
    base(actor={"id": "a", "tenants": "x"}),
    base(actor={"id": "a", "tenants": [1]}),
    base(action=DROP),
    base(action=""),
    base(resource=DROP),
    base(resource={"type": "customer_record"}),
    base(action="pii.unmask", resource={"id": None}),
    base(resource="rec-1"),
    base(resource={"id": "r", "classification": "secret"}),
    base(records=-1),
    base(records="12"),
    base(records=1.5),
    base(records=True),
    base(bytes=-3),
    base(source__lat=91),
    base(source__lon="-9.1"),
    base(destination={"kind": "fax"}),
    base(destination={"external": "yes"}),
    base(outcome="maybe"),
    base(channel=5),
    base(customer_id=["c"]),
]


def validator_accepts(doc: dict[str, Any]) -> bool:
    try:
        parse_event(doc, "voice", NOW)
    except Invalid:
        return False
    return True


@pytest.mark.parametrize("doc", VALID)
def test_valid_corpus_passes_both(doc: dict[str, Any]) -> None:
    assert list(VALIDATOR.iter_errors(doc)) == []
    assert validator_accepts(doc)


@pytest.mark.parametrize("doc", INVALID)
def test_invalid_corpus_fails_both(doc: dict[str, Any]) -> None:
    assert list(VALIDATOR.iter_errors(doc)) != []
    assert not validator_accepts(doc)


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(json_schema())


def test_every_contract_field_is_in_the_schema() -> None:
    schema = json_schema()
    for field in FIELDS:
        parent, _, leaf = field.path.rpartition(".")
        node = schema["properties"][parent] if parent else schema
        assert leaf in node["properties"], field.path
        assert (leaf in node.get("required", [])) == field.required, field.path


def test_published_schema_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    generated = capsys.readouterr().out
    assert json.loads(generated) == json_schema()
    assert SCHEMA_FILE.read_text() == generated, (
        "docs/event-schema.json is stale: run `make schema`"
    )


@pytest.mark.parametrize(
    "doc",
    [base(ts="2026-13-45T10:00:00Z"), base(ts=NOW + 16 * 60 * 1000)],
    ids=["impossible-date", "future"],
)
def test_documented_gaps_schema_passes_validator_rejects(doc: dict[str, Any]) -> None:
    """What JSON Schema cannot say (calendar validity, 'not in the future') is in its
    description and enforced by the validator only."""
    assert list(VALIDATOR.iter_errors(doc)) == []
    assert not validator_accepts(doc)
    assert (
        "real calendar date and at most 15 minutes in the future" in (json_schema()["description"])
    )


def with_value(path: str, value: Any) -> dict[str, Any]:
    doc = base(action="record.export", resource=DROP)
    parent, _, leaf = path.rpartition(".")
    node = doc.setdefault(parent, {}) if parent else doc
    if value is DROP:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return doc


# Control characters that break log lines, terminals or stored members (C0, DEL, C1,
# separators, bidirectional overrides, BOM).
HOSTILE_CHARS = ["\x00", "\n", "\x1b", "\x1f", "\x7f", "\x85", "\u2028", "\u202e", "\ufeff"]


def table_cases() -> list[tuple[str, Any, str | None]]:
    """(path, value, expected reason or None for valid) derived from the contract table."""
    wrong = {"string": 12, "integer": "1", "number": "1.5", "boolean": "yes", "strings": "a"}
    good = {"string": "x", "integer": 3, "number": 1.5, "boolean": True, "strings": ["a"]}
    cases: list[tuple[str, Any, str | None]] = []
    for f in FIELDS:
        if f.kind == "timestamp":
            continue  # covered by the hand-written corpus above
        cases.append((f.path, wrong[f.kind], "wrong_type"))
        cases.append((f.path, DROP, "missing_field" if f.required else None))
        value = sorted(f.enum)[0] if f.enum else good[f.kind]
        cases.append((f.path, value, None))
        if f.enum is not None:
            cases.append((f.path, "not-in-enum", "bad_value"))
        if f.max_length is not None:
            one = (lambda text: [text]) if f.kind == "strings" else (lambda text: text)
            cases.append((f.path, one("x" * f.max_length), None))
            cases.append((f.path, one("x" * (f.max_length + 1)), "bad_value"))
            for char in HOSTILE_CHARS:
                cases.append((f.path, one(f"a{char}b"), "bad_value"))
            cases.append((f.path, one("Zoë-東京 ok"), None))
        if f.max_items is not None:
            cases.append((f.path, ["t"] * f.max_items, None))
            cases.append((f.path, ["t"] * (f.max_items + 1), "bad_value"))
        if f.minimum is not None:
            cases.append((f.path, f.minimum - 1, "bad_value"))
        if f.maximum is not None:
            cases.append((f.path, f.maximum + 1, "bad_value"))
    return cases


@pytest.mark.parametrize(("path", "value", "reason"), table_cases())
def test_validator_and_schema_enforce_every_rule_of_the_table(
    path: str, value: Any, reason: str | None
) -> None:
    doc = with_value(path, value)
    schema_ok = not list(VALIDATOR.iter_errors(doc))
    try:
        parse_event(doc, "voice", NOW)
        got = None
    except Invalid as exc:
        got = exc.reason
    assert got == reason
    assert schema_ok == (reason is None)

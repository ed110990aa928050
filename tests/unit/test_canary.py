"""Canary claims: only a valid signature makes a canary; its alert is flagged, never paged."""

from __future__ import annotations

import orjson

from monitor.service.canary.check import CanaryCheck
from monitor.service.canary.document import is_canary_record, mark
from monitor.service.canary.signing import CANARY_TEAM, actor_id, produced_ms, sign
from monitor.service.events import decode_message

KEY = b"canary-key-for-unit-tests-0123456789"
NOW = 1_780_000_000_000


def event(actor: str) -> dict:
    return {
        "event_id": "c-1",
        "ts": NOW,
        "tenant": "acme",
        "action": "record.export",
        "actor": {"id": actor, "team": "t-1"},
        "records": 501,
    }


def decode(doc: dict) -> object:
    [got], bad = decode_message(orjson.dumps(doc), "email", NOW, canary=CanaryCheck(KEY))
    assert not bad
    return got


def test_signed_canary_keeps_its_actor_in_the_canary_peer_group() -> None:
    actor = actor_id(NOW, "n1")
    got = decode(sign(event(actor), KEY, "run-1", "bulk_export"))
    assert got.actor_id == actor and got.trusted_team == CANARY_TEAM
    assert produced_ms(actor) == NOW


def test_unsigned_badly_signed_or_tampered_claims_are_forged() -> None:
    actor = actor_id(NOW, "n1")
    signed = sign(event(actor), KEY, "run-1", "bulk_export")
    tampered = {**signed, "records": 5}
    other_key = sign(event(actor), b"another-key-0123456789", "run-1", "bulk_export")
    for doc in (event(actor), tampered, other_key):
        got = decode(doc)
        assert got.actor_id == "forged-" + actor and got.trusted_team != CANARY_TEAM


def test_a_real_actor_with_a_claim_stays_itself() -> None:
    doc = {**event("agent-7"), "blindar_canary": {"run": "x", "sig": "00"}}
    got = decode(doc)
    assert got.actor_id == "agent-7" and got.trusted_team != CANARY_TEAM


def test_marked_documents_are_recognised_as_canary_records() -> None:
    doc = mark({"metadata": {"version": "1.5.0"}, "class_uid": 2004})
    assert is_canary_record(orjson.dumps(doc))
    assert not is_canary_record(orjson.dumps({"is_alert": False}))
    assert not is_canary_record(b'{"class_uid": 2004}')


def test_a_canary_in_a_mapped_channel_maps_back_to_the_contract_event() -> None:
    from monitor.service.canary.shape import shaped
    from monitor.service.channels import make_mapper

    mapping = {
        "event_id": "id",
        "ts": {"from": "when", "format": "%d/%m/%Y %H:%M:%S", "tz": "Europe/Lisbon"},
        "tenant": {"const": "acme"},
        "actor.id": "user.login",
        "action": {"from": "op", "map": {"EX": "record.export"}},
        "records": {"from": ["rows", "count"], "as": "int"},
    }
    contract = {**event(actor_id(NOW, "n")), "resource": {"type": "customer_record"}}
    mapped = make_mapper(mapping)(shaped(contract, mapping))
    assert mapped == {
        "event_id": "c-1",
        "ts": NOW,  # through a local-time pattern and back (NOW is a whole second)
        "tenant": "acme",
        "actor": {"id": contract["actor"]["id"]},
        "action": "record.export",
        "records": 501,
    }
    assert "resource" not in mapped  # the mapping does not carry it: dropped, as for real events


def test_canary_yaml_is_checked_against_channels_and_patterns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from monitor.service.canary.config import Check, load_canary
    from monitor.service.config import ConfigError

    path = tmp_path / "canary.yaml"
    path.write_text(
        "canary:\n  checks:\n    - {tenant: acme, channels: all, detectors: [bulk_export]}\n"
    )
    loaded = load_canary(path, ["email", "chat"], {"bulk_export"})
    assert loaded.interval_minutes == 60 and loaded.miss_deadline_minutes == 10
    assert loaded.checks == (
        Check("acme", "email", "bulk_export"),
        Check("acme", "chat", "bulk_export"),
    )
    path.write_text(
        "canary:\n  checks:\n    - {tenant: acme, channels: [fax], detectors: [bulk_export]}\n"
    )
    with pytest.raises(ConfigError, match="fax"):
        load_canary(path, ["email"], {"bulk_export"})
    path.write_text("canary:\n  checks:\n    - {tenant: acme, detectors: [off_hours]}\n")
    with pytest.raises(ConfigError, match="no canary for 'off_hours'"):
        load_canary(path, ["email"], {"bulk_export"})
    assert load_canary(tmp_path / "absent.yaml", ["email"], {"bulk_export"}).checks == ()


def test_the_report_section_states_every_miss_as_a_coverage_gap() -> None:
    from monitor.service.canary.report import section
    from monitor.tools.report_html import TEMPLATES

    def html(canaries: dict | None) -> str:
        return TEMPLATES.get_template("canaries.html.j2").render(r={"canaries": canaries})

    stored = {
        "counts": {
            "run|email|bulk_export": 3,
            "detected|email|bulk_export": 2,
            "missed|email|bulk_export": 1,
            "run|chat|bulk_export": 1,
            "detected|chat|bulk_export": 1,
        },
        "latencies": [
            {"channel": "email", "detector": "bulk_export", "latency_ms": 4000},
            {"channel": "email", "detector": "bulk_export", "latency_ms": 9000},
            {"channel": "chat", "detector": "bulk_export", "latency_ms": 2000},
        ],
        "misses": [{"channel": "email", "detector": "bulk_export", "produced_ms": NOW}],
    }
    got = section(stored)
    assert (got["run"], got["detected"], got["missed"]) == (4, 3, 1)
    email = next(r for r in got["per_channel"] if r["channel"] == "email")
    assert email["latency_p50_s"] == 4.0 and email["latency_max_s"] == 9.0
    assert got["coverage_gaps"] == [
        {"channel": "email", "detector": "bulk_export", "sent_at": "2026-05-28T20:26:40+00:00"}
    ]
    text = html(got)
    assert "Coverage gap: a bulk_export leak sent on email" in text
    assert "would not have been caught" in text
    assert "not proven" in html(None)

"""Canary claims: only a valid signature makes a canary; its alert is flagged, never paged."""

from __future__ import annotations

import orjson

from monitor.canary.check import CanaryCheck
from monitor.canary.document import is_canary_record, mark
from monitor.canary.signing import CANARY_TEAM, actor_id, produced_ms, sign
from monitor.events import decode_message

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

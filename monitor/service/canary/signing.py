"""What makes an event a canary: an HMAC over its content under the canary key.

A canary event carries a claim under CLAIM (`{"run": ..., "detector": ..., "sig": ...}`);
`sig` is HMAC-SHA256 over the canonical JSON of the whole event with the claim minus its
`sig` (keys sorted, so the producer's key order does not matter). The actor of a canary is
always in the reserved namespace ACTOR_PREFIX: an event of that namespace without a valid
claim, or any claim without a valid signature, is a forgery (monitor/service/canary/check.py).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson

CLAIM = "blindar_canary"
ACTOR_PREFIX = "canary:"
# The peer group every canary actor is judged in: team baselines of real teams and the
# tenant-wide one never hold a canary's windows (detectors/base.py, peer_team).
CANARY_TEAM = "canary:peers"


def digest(event: dict[str, Any], key: bytes) -> str:
    """The signature of an event (its claim's `sig` left out)."""
    claim = {k: v for k, v in event[CLAIM].items() if k != "sig"}
    body = {**event, CLAIM: claim}
    raw = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return hmac.new(key, raw, hashlib.sha256).hexdigest()


def sign(event: dict[str, Any], key: bytes, run: str, detector: str) -> dict[str, Any]:
    """The event with its signed canary claim."""
    signed = {**event, CLAIM: {"run": run, "detector": detector}}
    signed[CLAIM]["sig"] = digest(signed, key)
    return signed


def verify(event: dict[str, Any], key: bytes) -> bool:
    """True when the event's claim is signed with `key` (an empty key verifies nothing)."""
    claim = event.get(CLAIM)
    if not key or type(claim) is not dict or type(claim.get("sig")) is not str:
        return False
    try:
        expected = digest(event, key)
    except (TypeError, orjson.JSONEncodeError):
        return False
    return hmac.compare_digest(expected, claim["sig"])


def actor_id(produced_ms: int, nonce: str) -> str:
    """A canary actor: never a real identity, and it tells when its canary was produced."""
    return f"{ACTOR_PREFIX}{produced_ms}:{nonce}"


def is_canary_actor(actor: str) -> bool:
    return actor.startswith(ACTOR_PREFIX)


def produced_ms(actor: str) -> int | None:
    """When the canary of this actor was produced (None: not a canary actor)."""
    if not actor.startswith(ACTOR_PREFIX):
        return None
    head = actor[len(ACTOR_PREFIX) :].split(":", 1)[0]
    return int(head) if head.isdigit() else None

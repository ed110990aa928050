"""The worker's side of a canary claim, at decode time.

Every path that decodes events judges claims (the worker with the canary key; replay and
backtest with none, so a claim there is never a canary). A verified canary keeps its
reserved actor and is put in the canary peer group (so no real team's or tenant's baseline
ever holds its windows). A claim that does not verify (no signature, a bad one, or a
reserved actor without a claim) is a forgery: the event is judged as a normal one under an
actor outside the reserved namespace (so its findings page like any other), counted in
blindar_canary_forged_total and logged (without its ids).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from detectors.event import Event
from monitor.service import metrics
from monitor.service.canary.signing import ACTOR_PREFIX, CANARY_TEAM, CLAIM, verify
from monitor.service.contract import LIMIT

log = logging.getLogger(__name__)
FORGED_PREFIX = "forged-"


class CanaryCheck:
    """Checks each decoded event's canary claim under the canary key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __call__(self, doc: dict[str, Any], event: Event, channel: str) -> Event:
        """`channel`: the topic's registered channel (a bounded metric label)."""
        claimed = CLAIM in doc
        reserved = event.actor_id.startswith(ACTOR_PREFIX)
        if not claimed and not reserved:
            return event
        if reserved and claimed and verify(doc, self._key):
            return replace(event, trusted_team=CANARY_TEAM, actor_team=None)
        return forged(event, channel)

    def __repr__(self) -> str:
        return "CanaryCheck(key=***)"


def forged(event: Event, channel: str) -> Event:
    """A forged claim: judged as a normal event, outside the canary namespace."""
    metrics.CANARY_FORGED.labels(channel=channel).inc()
    log.warning("forged canary claim on channel %s: judged as a normal event", channel)
    actor = event.actor_id
    if actor.startswith(ACTOR_PREFIX):
        actor = (FORGED_PREFIX + actor)[: LIMIT["actor.id"]]
    return replace(event, actor_id=actor)

"""What a batch asks of the store, and what it answers: owner writes with their alert
decisions, the shared plan, and the alerts waiting for Kafka."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from detectors.state.shared.plan import Plan
from detectors.state.shared.protocol import Pending

NO_STATE = -1  # an owner whose call only decides alerts (a channel, a source address)


@dataclass(slots=True)
class Decision:
    """A finding for the alert engine: suppression decides new page, update or repeat."""

    field: str  # the owner hash field of the alert record (detector, tenant)
    uid: str
    window_end_ms: int
    observed: float
    severity: int
    payload: bytes  # the finding as JSON (monitor/service/state/codec.py)
    claim: str = ""  # the field recording the episode paged ("" = none)
    episode: str = ""
    tenant: str = ""  # the finding's tenant (not sent: names the ledger row of a repeat)
    window_start_ms: int = 0  # an older finding is another incident only before this


@dataclass(slots=True)
class OwnerWrite:
    """One owner's part of a batch: its new state (compare-and-set on its version)."""

    key: str
    expected: int  # the version the writer read; NO_STATE for decisions only
    state: bytes = b""  # a log entry, or a snapshot when `snapshot`
    snapshot: bool = False
    ttl_ms: int = 0  # refresh the owner's TTL (0: leave it)
    decisions: list[Decision] = field(default_factory=list)


@dataclass(slots=True)
class WriteRequest:
    owners: list[OwnerWrite]
    plan: Plan
    now_ms: int
    suppression_ms: int
    alert_ttl_ms: int


@dataclass(frozen=True, slots=True)
class Repeat:
    """A finding folded into an open alert without a page (suppressed): the alert's values
    that only grow, for the assurance ledger."""

    key: str
    field: str
    tenant: str
    uid: str
    count: int
    first_seen_ms: int
    last_seen_ms: int
    severity: int


@dataclass(slots=True)
class WriteReply:
    statuses: list[str]  # per owner: protocol.STATUS (written, replayed, conflict)
    pending: list[Pending]
    answers: list[Any]
    state_lost: bool = False
    repeats: list[Repeat] = field(default_factory=list)

"""Alerts: findings become OCSF Detection Findings, suppressed per actor and window.

Each finding gets a deterministic uid (detector, tenant, actor, window); the store keeps
one open alert per (owner, detector, tenant) for the suppression window, decided in the
same atomic call as the state the finding came from (monitor/service/state/write.lua), so a
repeat updates `count` and `last_seen_time` instead of paging again, and an alert
decided before a crash is published after it, from what the store kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from detectors.base import Finding
from detectors.state.keys import alert_field, claim_field
from monitor.service.canary.document import mark
from monitor.service.canary.signing import is_canary_actor
from monitor.service.pseudonym import Pseudonymizer
from monitor.service.state.codec import decode_finding, encode_finding
from monitor.service.state.requests import Decision, Pending

OCSF_VERSION = "1.5.0"
PRODUCT = {"name": "blindar", "vendor_name": "blindar", "version": "0.1.0"}
SEVERITY_NAMES = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical", 6: "Fatal"}


@dataclass(frozen=True, slots=True)
class Alert:
    """A finding that passed suppression: the OCSF document and how to route it."""

    uid: str
    kind: str  # "new" pages; "update" only refreshes count and last_seen_time
    finding: Finding
    count: int
    first_seen_ms: int
    document: dict[str, Any]
    pending: Pending | None = None  # what to confirm once Kafka acknowledged it

    @property
    def key(self) -> bytes:
        return f"{self.finding.tenant}:{self.finding.actor}".encode()


def finding_uid(detector: str, tenant: str, actor: str, window_ms: int, late: bool = False) -> str:
    """Deterministic alert id: the same (detector, tenant, actor, window, lane) gives the
    same uid."""
    lane = "\x1flate" if late else ""
    raw = f"{detector}\x1f{tenant}\x1f{actor}\x1f{window_ms}{lane}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def ocsf_finding(
    finding: Finding,
    uid: str,
    kind: str,
    count: int,
    first_seen_ms: int,
    now_ms: int,
    pseudonymize: Pseudonymizer,
) -> dict[str, Any]:
    """The OCSF 1.5.0 Detection Finding (class 2004) for one alert."""
    activity = 1 if kind == "new" else 2
    evidence = dict(finding.evidence)
    evidence.update(
        observed=finding.observed,
        threshold=finding.threshold,
        window_start_ms=finding.window_start_ms,
        window_end_ms=finding.window_end_ms,
        event_time_ms=finding.window_end_ms,  # when the threshold was crossed, in event time
        sample_event_ids=list(finding.sample_event_ids),
        channels=list(finding.channels),
        late_arrival=finding.late,
    )
    if finding.sample_records:
        evidence["sample_records"] = [pseudonymize(r) for r in finding.sample_records]
    user: dict[str, Any] = {"uid": finding.actor}
    if finding.team:
        user["groups"] = [{"name": finding.team}]
    return {
        "activity_id": activity,
        "activity_name": "Create" if activity == 1 else "Update",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "type_uid": 200400 + activity,
        "type_name": f"Detection Finding: {'Create' if activity == 1 else 'Update'}",
        "severity_id": finding.severity,
        "severity": SEVERITY_NAMES[finding.severity],
        "status_id": 1,
        "status": "New",
        "time": now_ms,
        "start_time": finding.window_start_ms,
        "end_time": finding.window_end_ms,
        "count": count,
        "message": finding.title,
        "finding_info": {
            "uid": uid,
            "title": finding.title,
            "analytic": {
                "name": finding.detector,
                "uid": finding.detector,
                "type_id": 1,
                "type": "Rule",
            },
            "first_seen_time": first_seen_ms,
            "last_seen_time": finding.window_end_ms,
            "types": ["Data Leak"],
        },
        "actor": {"user": user},
        "metadata": {
            "version": OCSF_VERSION,
            "product": PRODUCT,
            "profiles": ["host"],
            "tenant_uid": finding.tenant,
            "log_name": "dlp.alerts",
        },
        "evidences": [{"data": evidence}],
    }


class Alerts:
    """Findings become decisions for the store (which suppresses repeats in the same atomic
    call as the state they come from); alerts the store decided become OCSF documents."""

    def __init__(self, pseudonymize: Pseudonymizer, suppression_minutes: float = 30) -> None:
        self.pseudonymize = pseudonymize
        self.suppression_ms = int(suppression_minutes * 60_000)

    @property
    def record_ttl_ms(self) -> int:
        """How long an alert record outlives its last repeat."""
        return 2 * self.suppression_ms

    def decision(self, finding: Finding) -> Decision:
        window = finding.window_end_ms // self.suppression_ms * self.suppression_ms
        return Decision(
            alert_field(finding.detector, finding.tenant, finding.late),
            finding_uid(finding.detector, finding.tenant, finding.actor, window, finding.late),
            finding.window_end_ms,
            finding.observed,
            finding.severity,
            encode_finding(finding),
            claim_field(finding.detector, finding.tenant) if finding.episode else "",
            finding.episode,
            finding.tenant,
            finding.window_start_ms,
        )

    def alert(self, pending: Pending) -> Alert:
        """The OCSF document of a decided alert: built from what the store kept, so a
        re-publication after a crash is the same document."""
        finding = decode_finding(pending.payload)
        doc = ocsf_finding(
            finding,
            pending.uid,
            pending.kind,
            pending.count,
            pending.first_seen_ms,
            pending.decided_ms,
            self.pseudonymize,
        )
        if is_canary_actor(finding.actor):  # a canary's: flagged, never for the SOC
            mark(doc)
        return Alert(pending.uid, pending.kind, finding, pending.count, pending.first_seen_ms, doc,
                     pending)  # fmt: skip

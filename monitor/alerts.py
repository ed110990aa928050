"""Alerts: findings become OCSF Detection Findings, suppressed per actor and window.

Each finding gets a deterministic uid (detector, tenant, actor, window); Redis keeps
one open alert per (detector, tenant, actor) for the suppression window, so a
repeat updates `count` and `last_seen_time` instead of paging again, and a batch
re-delivered after a crash republishes the same uid rather than a new alert.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson
import redis.asyncio as aioredis

from detectors.base import Finding
from monitor import metrics
from monitor.health import Health
from monitor.pseudonym import Pseudonymizer
from monitor.state import call_with_retry

OCSF_VERSION = "1.5.0"
PRODUCT = {"name": "blindar", "vendor_name": "blindar", "version": "0.1.0"}
SEVERITY_NAMES = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical", 6: "Fatal"}
ALERT_SCRIPT = resources.files("monitor").joinpath("alerts.lua").read_text()


@dataclass(frozen=True, slots=True)
class Alert:
    """A finding that passed suppression: the OCSF document and how to route it."""

    uid: str
    kind: str  # "new" pages; "update" only refreshes count and last_seen_time
    finding: Finding
    count: int
    first_seen_ms: int
    document: dict[str, Any]

    @property
    def key(self) -> bytes:
        return f"{self.finding.tenant}:{self.finding.actor}".encode()


def finding_uid(detector: str, tenant: str, actor: str, window_ms: int) -> str:
    """Deterministic alert id: the same (detector, tenant, actor, window) gives the same uid."""
    raw = f"{detector}\x1f{tenant}\x1f{actor}\x1f{window_ms}".encode()
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
        sample_event_ids=list(finding.sample_event_ids),
        channels=list(finding.channels),
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


class AlertEngine:
    """Applies suppression in Redis (one call per batch with findings) and builds alerts."""

    def __init__(
        self,
        client: aioredis.Redis,
        health: Health,
        pseudonymize: Pseudonymizer,
        suppression_minutes: float = 30,
        key_prefix: str = "",
    ) -> None:
        self.client = client
        self.health = health
        self.pseudonymize = pseudonymize
        self.suppression_ms = int(suppression_minutes * 60_000)
        self.prefix = key_prefix
        self.script = client.register_script(ALERT_SCRIPT)

    def key(self, finding: Finding) -> str:
        return f"{self.prefix}alert:{{{finding.tenant}:{finding.actor}}}:{finding.detector}"

    async def decide(self, findings: Sequence[Finding], now_ms: int) -> list[Alert]:
        """Alerts to publish for these findings (new pages and updates); duplicates dropped."""
        if not findings:
            return []
        args = [self._args(f, now_ms) for f in findings]
        payload = orjson.dumps(args)
        decisions = await call_with_retry(self.health, "alerts", self._run, payload)
        alerts = []
        for finding, (kind, uid, count, first) in zip(findings, decisions, strict=True):
            metrics.FINDINGS.labels(detector=finding.detector, severity=str(finding.severity)).inc()
            kind = kind.decode() if isinstance(kind, bytes) else kind
            if kind == "dup":
                continue
            uid = uid.decode() if isinstance(uid, bytes) else uid
            doc = ocsf_finding(
                finding, uid, kind, int(count), int(first), now_ms, self.pseudonymize
            )
            alerts.append(Alert(uid, kind, finding, int(count), int(first), doc))
        return alerts

    async def confirm(self, alerts: Sequence[Alert]) -> None:
        """Mark new alerts delivered once Kafka has acknowledged them."""
        keys = [self.key(a.finding) for a in alerts if a.kind == "new"]
        if keys:
            await call_with_retry(self.health, "alerts", self._mark_delivered, keys)

    def _args(self, f: Finding, now_ms: int) -> list[Any]:
        window = f.window_end_ms // self.suppression_ms * self.suppression_ms
        uid = finding_uid(f.detector, f.tenant, f.actor, window)
        return [
            self.key(f),
            uid,
            f.window_end_ms,
            f.observed,
            f.severity,
            self.suppression_ms,
            2 * self.suppression_ms,
            now_ms,
        ]

    async def _run(self, payload: bytes) -> list[Any]:
        return await self.script(keys=[], args=[payload])

    async def _mark_delivered(self, keys: list[str]) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hset(key, "delivered", 1)
            await pipe.execute()

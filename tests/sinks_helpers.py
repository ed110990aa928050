"""Alerts built the way the alert engine builds them, for sink tests."""

from __future__ import annotations

from detectors.base import Finding
from monitor.service.alerts import Alert, finding_uid, ocsf_finding
from monitor.service.pseudonym import Pseudonymizer

T0 = 1_780_000_000_000
SECRET = b"webhook-secret-for-tests-0123456789"


def finding(
    actor: str = "agent-7", severity: int = 3, observed: float = 600, tenant: str = "acme"
) -> Finding:
    return Finding(
        detector="bulk_export",
        tenant=tenant,
        actor=actor,
        severity=severity,
        title=f"Bulk export: {observed:g} records in 15 min (threshold 500)",
        window_start_ms=T0 - 15 * 60_000,
        window_end_ms=T0,
        observed=observed,
        threshold=500,
        evidence={"records_exported": observed, "threshold_records": 500},
        sample_event_ids=("e-1",),
        channels=("backoffice",),
        sample_records=("rec-raw-1",),
    )


def alert(f: Finding, kind: str = "new", count: int = 1) -> Alert:
    uid = finding_uid(f.detector, f.tenant, f.actor, T0)
    doc = ocsf_finding(f, uid, kind, count, T0, T0, Pseudonymizer(b"k" * 32))
    return Alert(uid, kind, f, count, T0, doc)

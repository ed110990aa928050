"""Prometheus Alertmanager: page through `POST /api/v2/alerts`.

One Alertmanager alert per (detector, tenant, actor), labelled `alertname` (the
detector), `severity`, `tenant` and `actor`. Alertmanager needs active alerts posted
again and again to keep them firing, so the sink remembers what it has posted and
re-posts it on every tick with `endsAt` = last repeat + suppression window. Any
finding for the same (detector, tenant, actor) counts as a repeat, also the ones the
alert engine suppresses. Once a whole window passes without one, the alert is posted
with `endsAt` = now: resolved. Should the worker stop, Alertmanager still resolves
the alert at the last `endsAt` it was given; should the actor's partition move to
another worker, that worker sees the suppressed repeats and keeps the alert firing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from detectors.base import Finding
from monitor.service import metrics
from monitor.service.alerts import SEVERITY_NAMES, Alert

Key = tuple[str, str, str]


@dataclass
class Active:
    """An alert Alertmanager currently holds as firing."""

    labels: dict[str, str]
    annotations: dict[str, str]
    starts_ms: int
    last_seen_ms: int


def rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def labels_for(f: Finding) -> dict[str, str]:
    return labels(f.detector, SEVERITY_NAMES[f.severity], f.tenant, f.actor)


def labels(detector: str, severity: str, tenant: str, actor: str) -> dict[str, str]:
    return {
        "alertname": detector,
        "severity": severity.lower(),
        "tenant": tenant,
        "actor": actor,
        "source": "blindar",
    }


def document_labels(doc: dict[str, Any]) -> dict[str, str]:
    """The labels of an alert from its OCSF document (as read from `dlp.alerts`)."""
    detector = doc["finding_info"]["analytic"]["name"]
    tenant, actor = doc["metadata"]["tenant_uid"], doc["actor"]["user"]["uid"]
    return labels(detector, doc["severity"], tenant, actor)


def runbook_url(base_url: str, detector: str) -> str:
    """Where a detector's runbook is: its folder's runbook.md under the base URL."""
    return f"{base_url.rstrip('/')}/{detector}/runbook.md"


def annotations_for(alert: Alert, runbook_base_url: str) -> dict[str, str]:
    return document_annotations(alert.document, runbook_base_url)


def document_annotations(doc: dict[str, Any], runbook_base_url: str) -> dict[str, str]:
    """Annotations of an alert from its OCSF document (built by monitor/service/alerts.py)."""
    info = doc["finding_info"]
    detector = info["analytic"]["name"]
    tenant, actor = doc["metadata"]["tenant_uid"], doc["actor"]["user"]["uid"]
    evidence = doc.get("evidences", [{}])[0].get("data", {})
    return {
        "summary": info["title"],
        "description": (
            f"{detector} for actor {actor} in tenant {tenant}: "
            f"observed {evidence.get('observed')} (threshold {evidence.get('threshold')}); "
            f"seen {doc['count']} time(s) since {rfc3339(info['first_seen_time'])}"
        ),
        "evidence": orjson.dumps(evidence, option=orjson.OPT_SORT_KEYS).decode(),
        "runbook_url": runbook_url(runbook_base_url, detector),
        "uid": info["uid"],
    }


def adopted_annotations(f: Finding, runbook_base_url: str) -> dict[str, str]:
    """Annotations for an open alert raised by another worker (no OCSF document here)."""
    evidence = {**f.evidence, "observed": f.observed, "threshold": f.threshold}
    return {
        "summary": f.title,
        "description": (
            f"{f.detector} for actor {f.actor} in tenant {f.tenant}: observed {f.observed} "
            f"(threshold {f.threshold}); still going, first raised by another worker"
        ),
        "evidence": orjson.dumps(evidence, option=orjson.OPT_SORT_KEYS).decode(),
        "runbook_url": runbook_url(runbook_base_url, f.detector),
    }


class AlertmanagerSink:
    """Keeps the set of firing alerts and turns it into Alertmanager API v2 posts."""

    name = "alertmanager"

    def __init__(self, base_url: str, window_ms: int, runbook_base_url: str) -> None:
        self.url = base_url.rstrip("/") + "/api/v2/alerts"
        self.window_ms = window_ms
        self.runbook_base_url = runbook_base_url
        self.active: dict[Key, Active] = {}

    def bodies(
        self, alerts: Sequence[Alert], findings: Sequence[Finding], now_ms: int
    ) -> list[bytes]:
        """Every post a processed batch owes: its alerts' pages and the repeats."""
        return self._batch(alerts, findings, now_ms, pages=True)

    def track(
        self, alerts: Sequence[Alert], findings: Sequence[Finding], now_ms: int
    ) -> list[bytes]:
        """The batch's alerts and repeats join the firing set; posted only: adopted alerts
        and closed label sets (the alerts' own pages come from `dlp.alerts`, `page`)."""
        return self._batch(alerts, findings, now_ms, pages=False)

    def page(self, record: bytes, now_ms: int) -> list[bytes]:
        """One alert read from `dlp.alerts`, posted firing for a suppression window (kept
        firing after that by whichever worker sees its repeats)."""
        doc = orjson.loads(record)
        found = document_labels(doc)
        key = (found["alertname"], found["tenant"], found["actor"])
        known = self.active.get(key)
        starts = known.starts_ms if known is not None else now_ms
        alert = Active(found, document_annotations(doc, self.runbook_base_url), starts, now_ms)
        return [orjson.dumps([self._post(alert, ends_ms=now_ms + self.window_ms)])]

    def _batch(
        self, alerts: Sequence[Alert], findings: Sequence[Finding], now_ms: int, pages: bool
    ) -> list[bytes]:
        posts: list[dict[str, Any]] = []
        alerted = {(a.finding.detector, a.finding.tenant, a.finding.actor) for a in alerts}
        for finding in findings:
            key = (finding.detector, finding.tenant, finding.actor)
            known = self.active.get(key)
            if known is not None:
                known.last_seen_ms = now_ms
            elif key not in alerted:
                # A finding without an alert is a suppressed repeat of an open alert that
                # this worker did not raise (the actor's partition moved here, or the worker
                # restarted): keep it firing from here.
                known = Active(
                    labels_for(finding),
                    adopted_annotations(finding, self.runbook_base_url),
                    now_ms,
                    now_ms,
                )
                self.active[key] = known
                posts.append(self._post(known, ends_ms=now_ms + self.window_ms))
        for alert in alerts:
            f = alert.finding
            key = (f.detector, f.tenant, f.actor)
            labels = labels_for(f)
            old = self.active.get(key)
            if old is not None and old.labels != labels:  # severity changed: close the old one
                posts.append(self._post(old, ends_ms=now_ms))
            starts = old.starts_ms if old is not None else now_ms
            current = Active(labels, annotations_for(alert, self.runbook_base_url), starts, now_ms)
            self.active[key] = current
            if pages:
                posts.append(self._post(current, ends_ms=now_ms + self.window_ms))
        metrics.ALERTMANAGER_ACTIVE.set(len(self.active))
        return [orjson.dumps(posts)] if posts else []

    def due(self, now_ms: int) -> list[bytes]:
        posts = []
        for key, alert in list(self.active.items()):
            if now_ms - alert.last_seen_ms >= self.window_ms:
                posts.append(self._post(alert, ends_ms=now_ms))
                del self.active[key]
            else:
                posts.append(self._post(alert, ends_ms=alert.last_seen_ms + self.window_ms))
        metrics.ALERTMANAGER_ACTIVE.set(len(self.active))
        return [orjson.dumps(posts)] if posts else []

    def headers(self, body: bytes) -> dict[str, str]:
        return {"Content-Type": "application/json"}

    @staticmethod
    def _post(alert: Active, ends_ms: int) -> dict[str, Any]:
        return {
            "labels": alert.labels,
            "annotations": alert.annotations,
            "startsAt": rfc3339(alert.starts_ms),
            "endsAt": rfc3339(ends_ms),
        }

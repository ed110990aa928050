"""Canary findings take the real path up to the alert decision, then their own route.

Their documents on dlp.alerts say so (OCSF `is_alert: false`, `metadata.labels` holding
"canary"), so a SIEM filters them out; they never go to Alertmanager or the webhook, nor
into the tenant's alert ledger. The worker measures each from its produce time (in its
actor) to its decision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from detectors.base import Finding
from monitor.service import metrics
from monitor.service.alerts import Alert
from monitor.service.canary.signing import is_canary_actor, produced_ms
from monitor.service.state.requests import Repeat


@dataclass
class Routed:
    """A batch's alerts, findings and repeats without the canaries'."""

    alerts: list[Alert]
    findings: list[Finding]
    repeats: list[Repeat]


def route(
    alerts: Sequence[Alert],
    findings: Sequence[Finding],
    repeats: Sequence[Repeat],
    owner_key: Callable[[Finding], str],
    decided_ms: int,
    label: Callable[[str], str],
) -> Routed:
    """Measure the canary alerts (new ones: the decision); keep the rest for the SOC."""
    canaries = [f for f in findings if is_canary_actor(f.actor)]
    if not canaries:
        return Routed(list(alerts), list(findings), list(repeats))
    for alert in alerts:
        if alert.kind == "new" and is_canary_actor(alert.finding.actor):
            observe(alert.finding, decided_ms, label)
    owners = {owner_key(f) for f in canaries}
    return Routed(
        [a for a in alerts if not is_canary_actor(a.finding.actor)],
        [f for f in findings if not is_canary_actor(f.actor)],
        [r for r in repeats if r.key not in owners],
    )


def observe(finding: Finding, decided_ms: int, label: Callable[[str], str]) -> None:
    channel = label(finding.channels[0]) if finding.channels else "other"
    metrics.CANARY_FINDINGS.labels(channel=channel, detector=finding.detector).inc()
    produced = produced_ms(finding.actor)
    if produced is not None:
        seconds = max(0.0, (decided_ms - produced) / 1000)
        metrics.CANARY_LATENCY.labels(channel=channel, detector=finding.detector).observe(seconds)

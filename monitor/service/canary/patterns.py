"""Canary leak patterns: each just over its detector's threshold for the tenant, so a
detector that works fires on it and one that is off, blind or starved does not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from detectors.catalog import CATALOG
from monitor.service.config import DetectorSettings
from simulator.model import Tenant
from simulator.resources import record

Pattern = Callable[[str, str, int, Any], list[dict[str, Any]]]


def event(tenant: str, actor: str, ts: int, action: str, **fields: Any) -> dict[str, Any]:
    return {"ts": ts, "tenant": tenant, "actor": {"id": actor}, "action": action, **fields}


def bulk_export(tenant: str, actor: str, start_ms: int, cfg: Any) -> list[dict[str, Any]]:
    """Two exports whose records add up to one more than the threshold."""
    first = cfg.threshold_records // 2 + 1
    resource = {"type": "customer_record", "tenant": tenant, "classification": "pii"}
    return [
        event(tenant, actor, start_ms + n, "record.export", resource=resource, records=records)
        for n, records in enumerate((first, cfg.threshold_records + 1 - first))
    ]


def enumeration(tenant: str, actor: str, start_ms: int, cfg: Any) -> list[dict[str, Any]]:
    """One more distinct record viewed than the threshold, one view each."""
    owner = Tenant(tenant, ZoneInfo("UTC"))
    return [
        event(tenant, actor, start_ms + n, "record.view", resource=record(owner, n, 0))
        for n in range(cfg.threshold_distinct + 1)
    ]


PATTERNS: dict[str, Pattern] = {"bulk_export": bulk_export, "enumeration": enumeration}


def tuning(detectors: DetectorSettings, detector: str, tenant: str) -> Any:
    """The detector's config for the tenant; a detector switched off keeps its defaults
    (its canary is still sent: that it is missed is the point)."""
    tuned = detectors.configs.get(detector)
    if tuned is not None:
        return tuned.for_tenant(tenant)
    return CATALOG[detector].config()


def build(
    detectors: DetectorSettings, detector: str, tenant: str, actor: str, start_ms: int
) -> list[dict[str, Any]]:
    """The canary's events (ids and claims still to be set)."""
    return PATTERNS[detector](tenant, actor, start_ms, tuning(detectors, detector, tenant))

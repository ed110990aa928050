"""Controls in force: the detector settings as plain data, their hash, and what applies to
one tenant after its overrides and allowlists (the assurance report's last section).

The worker stores the snapshot of the configuration it runs with in the ledger under its
hash, and counts every tenant's events per hash, so a report shows the controls that
actually judged that tenant's traffic, not whatever the config file says today.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from detectors.tuning import Allowlist
from monitor.config import DetectorSettings

HASH_CHARS = 16  # hex characters of the sha256 that name a configuration


def plain(value: Any) -> Any:
    """A config value as JSON data: sets sorted, tuples as lists, patterns as their text."""
    if isinstance(value, frozenset | set):
        return sorted(plain(v) for v in value)
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, re.Pattern):
        return value.pattern
    return value


def settings_data(config: Any) -> dict[str, Any]:
    """A detector config dataclass as a mapping of its settings."""
    return {f.name: plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


def allowlist_data(allowlist: Allowlist) -> dict[str, list[str]]:
    return {
        "actors": plain(allowlist.actors),
        "teams": plain(allowlist.teams),
        "actor_patterns": plain(allowlist.actor_patterns),
        "destination_domains": plain(allowlist.destination_domains),
    }


def snapshot(detectors: DetectorSettings) -> dict[str, Any]:
    """Everything detectors.yaml decided, as JSON data (defaults, overrides, allowlists)."""
    return {
        "suppression_minutes": detectors.suppression_minutes,
        "detectors": {
            name: {
                "default": settings_data(tuning.default),
                "tenants": {t: settings_data(c) for t, c in sorted(tuning.tenants.items())},
                "allowlist": allowlist_data(tuning.allowlist),
                "tenant_allowlists": {
                    t: allowlist_data(a) for t, a in sorted(tuning.tenant_allowlists.items())
                },
            }
            for name, tuning in sorted(detectors.configs.items())
        },
    }


def encoded(snap: Mapping[str, Any]) -> bytes:
    """The canonical bytes of a snapshot (sorted keys): what the hash is taken over."""
    return orjson.dumps(snap, option=orjson.OPT_SORT_KEYS)


def config_hash(snap: Mapping[str, Any]) -> str:
    return hashlib.sha256(encoded(snap)).hexdigest()[:HASH_CHARS]


ALLOWLIST_KEYS = ("actors", "teams", "actor_patterns", "destination_domains")


def own_allowlist(section: Mapping[str, Any], tenant: str) -> dict[str, list[str]]:
    """The tenant's own allowlist entries (`tenant_allowlists`), as written."""
    own = (section.get("tenant_allowlists") or {}).get(tenant) or {}
    return {k: sorted(own.get(k, [])) for k in ALLOWLIST_KEYS}


def shared_entries(section: Mapping[str, Any]) -> int:
    """How many entries the detector-wide allowlist has (they apply to every tenant)."""
    base = section.get("allowlist") or {}
    return sum(len(base.get(k, [])) for k in ALLOWLIST_KEYS)


def controls_for(
    snap: Mapping[str, Any], tenant: str, pseudonymize: Callable[[str], str]
) -> dict[str, Any]:
    """What applied to `tenant` and is its own: each detector's settings after the tenant's
    overrides (with the names of the overridden ones), its own allowlist (actors
    pseudonymized) and how many detector-wide allowlist entries applied too. The
    detector-wide entries themselves (actors, teams, domains of any tenant) and other
    tenants' overrides are never shown: a tenant's report holds only its own controls."""
    detectors = {}
    for name, section in sorted((snap.get("detectors") or {}).items()):
        default = section.get("default") or {}
        settings = (section.get("tenants") or {}).get(tenant) or default
        allowlist = own_allowlist(section, tenant)
        allowlist["actors"] = sorted(pseudonymize(actor) for actor in allowlist["actors"])
        detectors[name] = {
            "settings": {k: shown(k, v) for k, v in settings.items()},
            "overridden": sorted(k for k, v in settings.items() if default.get(k) != v),
            "allowlist": allowlist,
            "shared_allowlist_entries": shared_entries(section),
        }
    return {"suppression_minutes": snap.get("suppression_minutes"), "detectors": detectors}


def shown(name: str, value: Any) -> Any:
    """A setting as a report shows it: a `*_file` path only by its file name."""
    if name.endswith("_file") and isinstance(value, str) and value:
        return value.replace("\\", "/").rsplit("/", 1)[-1]
    return value

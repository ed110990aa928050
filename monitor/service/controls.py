"""Controls in force: the detector settings as plain data, their hash, and what applies to
one tenant after its overrides and allowlists (the assurance report's last section).

The worker stores the snapshot of the configuration it runs with in the ledger under its
hash, and counts every tenant's events per hash, so a report shows the controls that
actually judged that tenant's traffic, not whatever the config file says today.

A snapshot also names the kinds of trusted value (tenants, team, type) some source gave
the worker (`trusted`, monitor/service/assignments.py): a control that needs one no source gives
is *not in force* (`not_in_force`), and the worker's start-up log, `/health` and the
report say so (docs/operations.md, "Controls not in force").
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from detectors.tuning import Allowlist
from monitor.service.config import DetectorSettings

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


def snapshot(detectors: DetectorSettings, trusted: Iterable[str] | None = None) -> dict[str, Any]:
    """Everything detectors.yaml decided, as JSON data (defaults, overrides, allowlists),
    and with `trusted` the kinds of trusted value the worker had."""
    snap = {
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
    if trusted is not None:
        snap["trusted"] = sorted(trusted)
    return snap


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
    trusted = snap.get("trusted")
    return {
        "suppression_minutes": snap.get("suppression_minutes"),
        "detectors": detectors,
        # None: a snapshot written before the worker recorded its trusted sources
        "not_in_force": None if trusted is None else not_in_force(detectors, trusted),
    }


def shown(name: str, value: Any) -> Any:
    """A setting as a report shows it: a `*_file` path only by its file name."""
    if name.endswith("_file") and isinstance(value, str) and value:
        return value.replace("\\", "/").rsplit("/", 1)[-1]
    return value


# ---------------------------------------------------------------- controls not in force

TENANTS, TEAM, TYPE = "tenants", "team", "type"
# Settings whose rule compares an actor with its team (what the peers share), judged
# against the tenant-wide group when no trusted team is known (detectors/base.py).
TEAM_PEERS = {
    "compare_team": "peer windows",
    "team_min_peers": "peer sums",
    "shift_rule": "peer shifts",
    "team_devices": "known devices",
}


def needs(
    name: str, settings: Mapping[str, Any], allowlist: Mapping[str, Any]
) -> list[tuple[str, str, str]]:
    """(control, kind of trusted value it needs, what happens without one) for one
    detector's settings and allowlist."""
    out = []
    if name == "cross_tenant":
        out.append((name, TENANTS, "silent: no actor has trusted tenants"))
    for key, shared in TEAM_PEERS.items():
        if settings.get(key):
            out.append((f"{name}.{key}", TEAM, f"{shared} are the whole tenant's, not the team's"))
    if settings.get("shift_rule"):
        out.append((f"{name}.shift_rule", TYPE, "peer shifts of every actor type together"))
    if settings.get("exempt_actor_types"):
        out.append((f"{name}.exempt_actor_types", TYPE, "exempts nobody"))
    if allowlist.get("teams"):
        out.append((f"{name}.allowlist.teams", TEAM, "exempts nobody"))
    return out


def not_in_force(
    detectors: Mapping[str, Mapping[str, Any]], trusted: Iterable[str]
) -> list[dict[str, str]]:
    """The controls of `detectors` (name -> {"settings", "allowlist"}, as `controls_for`
    gives them) that need a kind of trusted value not in `trusted`."""
    have = set(trusted)
    return [
        {"control": control, "needs": f"trusted {kind}", "effect": effect}
        for name, section in sorted(detectors.items())
        for control, kind, effect in needs(name, section["settings"], section["allowlist"])
        if kind not in have
    ]


def not_in_force_anywhere(snap: Mapping[str, Any], trusted: Iterable[str]) -> list[dict[str, str]]:
    """`not_in_force` for the defaults and every tenant's overrides together (the worker's
    view: start-up log and /health)."""
    sections = (snap.get("detectors") or {}).values()
    tenants = {
        t for s in sections for t in (*s.get("tenants", {}), *s.get("tenant_allowlists", {}))
    }
    kinds = set(trusted)
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for tenant in ["", *sorted(tenants)]:
        for row in not_in_force(controls_for(snap, tenant, str)["detectors"], kinds):
            rows.setdefault((row["control"], row["needs"]), row)
    return list(rows.values())


def not_in_force_text(rows: Iterable[Mapping[str, str]]) -> str:
    """One line naming each control not in force, what it needs and what happens."""
    return "; ".join(f"{r['control']} (needs {r['needs']}: {r['effect']})" for r in rows)

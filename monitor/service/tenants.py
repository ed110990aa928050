"""The registered tenants: the set of tenant names this deployment monitors.

`tenants.yaml` in the config directory (or the file named by BLINDAR_TENANTS_FILE) lists
them; the shipped deploy/config/tenants.yaml registers the demo and simulator tenants:

    tenants: [acme-bank, telco-one]

When the set is configured, an event whose `tenant` or `resource.tenant` names any other
tenant is dead-lettered with reason `unknown_tenant` (monitor/service/events.py): it creates no
state, no finding and no ledger row, and its dead letter is counted under the ledger's
tag for input that names no tenant, never under the name it claims. When it is not
configured (no file, or BLINDAR_TENANTS_FILE set to an empty value), every tenant name is
accepted and the worker says at start that the registry is not in force; the ledger then
still keeps at most `BLINDAR_LEDGER_MAX_TENANTS` tenants per worker (monitor/service/ledger.py).
"""

from __future__ import annotations

from pathlib import Path

from monitor.service.config import ConfigError, expect_keys, read_yaml
from monitor.service.contract import FORBIDDEN_RE, ID

MAX_REGISTERED = 10_000  # tenant names a registry may list


def load_tenants(path: Path | None) -> frozenset[str] | None:
    """The registered tenants in `path` (None: not configured, every tenant accepted)."""
    if path is None:
        return None
    doc = read_yaml(path)
    expect_keys(doc, {"tenants"}, path.name, "")
    names = doc.get("tenants")
    if not isinstance(names, list) or not names:
        raise ConfigError(f"{path.name}: tenants: must be a non-empty list of tenant names")
    if len(names) > MAX_REGISTERED:
        raise ConfigError(f"{path.name}: tenants: more than {MAX_REGISTERED} names")
    for name in names:
        if not isinstance(name, str) or not name or len(name) > ID or FORBIDDEN_RE.search(name):
            raise ConfigError(f"{path.name}: tenants: {name!r} is not a valid tenant name")
    return frozenset(names)


def registry_line(tenants: frozenset[str] | None, path: Path | None) -> str:
    """What the worker says at start about the registry (names are not logged)."""
    if tenants is None:
        return (
            "tenant registry NOT in force: events may name any tenant (register them in "
            "tenants.yaml in the config directory, or BLINDAR_TENANTS_FILE)"
        )
    return f"tenant registry: {len(tenants)} tenants from {path}; others are dead-lettered"

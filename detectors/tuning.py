"""Per-tenant tuning of a detector: its config with tenant overrides, and allowlists."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

C = TypeVar("C")
T = TypeVar("T")


def param(default: T, doc: str) -> T:
    """A detector setting: its default and what it means, in one line. The defaults in
    detectors.yaml and the parameter tables of docs/detectors.md are generated from it."""
    return field(default=default, metadata={"doc": doc})  # type: ignore[no-any-return]


def params(config: type) -> list[tuple[str, Any, str]]:
    """(name, default, meaning) of every setting of a detector's config dataclass: its own
    first, then those of the groups of settings it inherits (a default it redeclares
    included), each in declaration order."""
    bases = [b for b in config.__mro__[1:] if dataclasses.is_dataclass(b)]
    inherited = {f.name for base in bases for f in dataclasses.fields(base)}
    out = []
    for f in sorted(dataclasses.fields(config), key=lambda f: f.name in inherited):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        out.append((f.name, default, f.metadata.get("doc", "")))
    return out


@dataclass(frozen=True)
class Allowlist:
    """Who and where a detector never alerts on (service accounts, data-ops teams, …)."""

    actors: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    actor_patterns: tuple[re.Pattern[str], ...] = ()
    destination_domains: frozenset[str] = frozenset()

    def allows_actor(self, actor: str, team: str | None) -> bool:
        if actor in self.actors or (team is not None and team in self.teams):
            return True
        return any(pattern.search(actor) for pattern in self.actor_patterns)

    def allows_domain(self, domain: str | None) -> bool:
        """True for an allowlisted domain or any subdomain of one."""
        if not domain:
            return False
        domain = domain.lower().rstrip(".")
        return any(domain == d or domain.endswith("." + d) for d in self.destination_domains)

    def __bool__(self) -> bool:
        return bool(self.actors or self.teams or self.actor_patterns or self.destination_domains)

    def merged(self, other: Allowlist) -> Allowlist:
        return Allowlist(
            self.actors | other.actors,
            self.teams | other.teams,
            self.actor_patterns + other.actor_patterns,
            self.destination_domains | other.destination_domains,
        )


@dataclass(frozen=True)
class Tuning(Generic[C]):
    """The default config, per-tenant configs (defaults with overrides) and allowlists."""

    default: C
    tenants: Mapping[str, C] = field(default_factory=dict)
    allowlist: Allowlist = field(default_factory=Allowlist)
    tenant_allowlists: Mapping[str, Allowlist] = field(default_factory=dict)

    def __post_init__(self) -> None:
        merged = {t: self.allowlist.merged(extra) for t, extra in self.tenant_allowlists.items()}
        object.__setattr__(self, "_merged", merged)
        anyone = self.allowlist != Allowlist() or any(merged.values())
        object.__setattr__(self, "_any", anyone)

    def for_tenant(self, tenant: str) -> C:
        return self.tenants.get(tenant, self.default)

    def allowlist_for(self, tenant: str) -> Allowlist:
        return self._merged.get(tenant, self.allowlist)  # type: ignore[attr-defined,no-any-return]

    def allows_actor(self, tenant: str, actor: str, team: str | None) -> bool:
        """Whether the tenant's allowlist names the actor or its team (fast when empty)."""
        if not self._any:  # type: ignore[attr-defined]
            return False
        return self.allowlist_for(tenant).allows_actor(actor, team)

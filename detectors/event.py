"""The normalized event (contract v1) that every detector reads."""

from __future__ import annotations

from dataclasses import dataclass

# The actions that reach a tenant's data: a record, a report or a file read, changed or
# taken out (what cross_tenant counts).
DATA_ACTIONS = frozenset(
    {
        "record.view",
        "record.search",
        "record.update",
        "record.export",
        "report.export",
        "file.download",
        "print",
        "pii.unmask",
    }
)
ACTIONS = DATA_ACTIONS | {
    "interaction.start",
    "interaction.end",
    "clipboard.copy",
    "screen.capture",
    "message.send",
    "auth.login",
    "auth.logout",
}
ACTOR_TYPES = frozenset({"agent", "supervisor", "admin", "service"})
CLASSIFICATIONS = frozenset({"public", "internal", "pii", "pci", "phi"})
SENSITIVE = frozenset({"pii", "pci", "phi"})
DESTINATION_KINDS = frozenset({"email", "usb", "cloud", "printer", "clipboard", "screen", "api"})
OUTCOMES = frozenset({"success", "failure"})


@dataclass(slots=True, unsafe_hash=True)
class Event:
    """One validated interaction event; field names follow the contract (dots → underscores).

    Treated as immutable (build a changed copy with `dataclasses.replace`), but not frozen:
    a frozen dataclass sets each of its 31 fields through `object.__setattr__`, which made
    its constructor about four times the cost of this one on the worker's hot path. Hashed
    by value, as a frozen one would be."""

    event_id: str
    ts_ms: int
    tenant: str
    channel: str
    actor_id: str
    action: str
    actor_type: str = "agent"
    actor_team: str | None = None
    actor_site: str | None = None
    actor_tenants: tuple[str, ...] = ()
    known_action: bool = True
    resource_type: str | None = None
    resource_id: str | None = None
    resource_tenant: str | None = None
    classification: str = "internal"
    customer_id: str | None = None
    interaction_id: str | None = None
    records: int = 1
    bytes: int = 0
    source_ip: str | None = None
    device_id: str | None = None
    country: str | None = None
    lat: float | None = None
    lon: float | None = None
    destination_kind: str | None = None
    destination_domain: str | None = None
    destination_external: bool | None = None
    outcome: str = "success"
    # Set by the monitor from a trusted source (monitor/service/assignments.py): the team that
    # allowlists read, what decided `actor_tenants` (None: no trusted assignment), and the
    # actor type that exemptions by type read (None: no trusted type).
    trusted_team: str | None = None
    assignment_source: str | None = None
    trusted_type: str | None = None

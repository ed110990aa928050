"""The simulated contact center's model: tenants, sites, teams and agents (the types the
population, the traffic and the leak scenarios share), and its fixed catalogs."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

Event = dict[str, Any]
EventGen = Generator[Event, None, int]

HOUR_MS = 3_600_000
SHIFT_MS = 8 * HOUR_MS
CUSTOMERS_PER_TENANT = 100_000
RECORDS_PER_CUSTOMER = 3
EXPORT_ACTIONS = ("record.export", "report.export", "file.download", "print")
EXPORT_WEIGHTS = (35, 45, 12, 8)
# Measured: one agent on shift sends about this many events per second.
EVENTS_PER_AGENT_S = 0.02

TENANT_CATALOG = (
    ("acme-bank", "America/New_York"),
    ("telco-one", "Europe/Madrid"),
    ("shopmart", "America/Mexico_City"),
    ("healthplus", "America/Chicago"),
    ("insura-co", "Europe/London"),
    ("travelgo", "America/Bogota"),
    ("utilipower", "America/Los_Angeles"),
    ("fintech-pay", "Asia/Manila"),
)
SHIFT_STARTS = (6, 7, 8, 9, 10, 12, 14, 16, 22)
TEAM_KINDS: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "voice": (("voice", "ivr"), (85, 15)),
    "chat": (("chat", "social"), (80, 20)),
    "email": (("email", "sms", "social"), (60, 25, 15)),
    "backoffice": (("backoffice",), (1,)),
}


@dataclass(frozen=True, slots=True)
class Site:
    """A contact-center building: where agents sit and which network they use."""

    name: str
    country: str
    lat: float
    lon: float
    octet: int


SITES = (
    Site("site-bogota", "CO", 4.711, -74.072, 11),
    Site("site-manila", "PH", 14.599, 120.984, 12),
    Site("site-madrid", "ES", 40.417, -3.704, 13),
    Site("site-monterrey", "MX", 25.687, -100.316, 14),
    Site("site-cebu", "PH", 10.316, 123.886, 15),
)
FAR_AWAY = (
    ("RU", 55.756, 37.617),
    ("NG", 6.524, 3.379),
    ("VN", 10.823, 106.630),
    ("RO", 44.426, 26.102),
)


@dataclass(frozen=True, slots=True)
class Tenant:
    """A BPO client whose customers the agents serve, with its time zone."""

    name: str
    tz: ZoneInfo
    customers: int = CUSTOMERS_PER_TENANT


@dataclass(frozen=True, slots=True)
class Team:
    """A peer group: one tenant, one kind of work, one site, one shift."""

    id: str
    tenant: Tenant
    kind: str
    site: Site
    shift_start: int
    days_off: tuple[int, int]


@dataclass(frozen=True, slots=True)
class Workstation:
    """Where an agent works from on a shift: a device, its address and location."""

    place: str  # desk, home, pod
    device: str
    ip: str
    country: str
    lat: float
    lon: float
    weight: float = 1.0

    @property
    def dynamic_ip(self) -> bool:
        """Home broadband addresses change now and then (a router restart, the ISP)."""
        return self.place == "home"


@dataclass(slots=True)
class Agent:
    """One simulated actor; `actor` is the contract's actor object, shared by its events.
    `role` says what work fills its shifts (front: interactions; supervisor: QA reviews,
    look-ups and escalations; back_office: cases with no interaction); `per_hour` is its
    pace (interactions, tasks or cases an hour); `workstations`, when set, are where it
    works from, weighted (else one of `devices` at random each shift)."""

    id: str
    type: str
    team: Team
    tenants: tuple[Tenant, ...]
    devices: tuple[str, ...]
    ips: tuple[str, ...]
    per_hour: float
    actor: dict[str, Any] = field(default_factory=dict)
    role: str = "front"
    shift_start: int = 0
    shift_hours: int = SHIFT_MS // HOUR_MS
    days_off: tuple[int, ...] = ()
    workstations: tuple[Workstation, ...] = ()

    @property
    def channel(self) -> str:
        """The agent's main channel (used for logins and exports)."""
        return TEAM_KINDS[self.team.kind][0][0]

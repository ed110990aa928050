"""The contract-v1 events of the simulated traffic and the resources they touch (records,
reports, attachments, media), and where an agent works from."""

from __future__ import annotations

from operator import itemgetter
from random import Random
from typing import Any

from simulator.model import RECORDS_PER_CUSTOMER, Agent, Event, Tenant
from simulator.workforce import home_ip

by_ts = itemgetter("ts")  # the sort key of events: their event time


def new_event(
    agent: Agent, ts: int, action: str, channel: str, tenant: str, source: dict, **fields: Any
) -> Event:
    """A contract-v1 event; event_id is filled in when the stream is numbered."""
    event = {
        "event_id": "",
        "ts": ts,
        "tenant": tenant,
        "channel": channel,
        "actor": agent.actor,
        "action": action,
        "source": source,
    }
    event.update(fields)
    return event


def usual_source(agent: Agent, rng: Random, stable: bool = False) -> dict[str, Any]:
    """One of the agent's usual devices and IPs, at its site (or one of its workstations;
    `stable`: never a changed home address)."""
    if agent.workstations:
        return _workstation_source(agent, rng, stable)
    k = rng.randrange(len(agent.devices))
    site = agent.team.site
    return {
        "ip": agent.ips[k],
        "device_id": agent.devices[k],
        "country": site.country,
        "lat": site.lat,
        "lon": site.lon,
    }


HOME_IP_CHANGE = 0.1  # share of shifts at home on a new broadband address


def _workstation_source(agent: Agent, rng: Random, stable: bool) -> dict[str, Any]:
    """One of the agent's workstations by weight; at home the address sometimes changes."""
    place = rng.choices(agent.workstations, [w.weight for w in agent.workstations])[0]
    ip = place.ip
    if place.dynamic_ip and not stable and rng.random() < HOME_IP_CHANGE:
        ip = home_ip(rng)
    return {
        "ip": ip,
        "device_id": place.device,
        "country": place.country,
        "lat": place.lat,
        "lon": place.lon,
    }


def customer_id(tenant: Tenant, customer: int) -> str:
    """The id of a tenant's customer (events' `customer_id`)."""
    return f"cust-{tenant.name}-{customer}"


def record(tenant: Tenant, customer: int, k: int) -> dict[str, Any]:
    """Record k of a customer: 0 and 1 hold pii, 2 holds card (pci) or health (phi) data."""
    sensitive = "phi" if tenant.name.startswith("health") else "pci"
    return {
        "type": "customer_record",
        "id": f"rec-{tenant.name}-{customer * RECORDS_PER_CUSTOMER + k}",
        "tenant": tenant.name,
        "classification": sensitive if k == 2 else "pii",
    }


def pick_tenant(agent: Agent, rng: Random) -> Tenant:
    """Mostly the primary tenant; agents on two tenants serve the second 30% of the time."""
    if len(agent.tenants) > 1 and rng.random() < 0.3:
        return agent.tenants[1]
    return agent.tenants[0]


def report(tenant: Tenant, n: int, classification: str) -> dict[str, Any]:
    """A CRM report resource."""
    return {
        "type": "report",
        "id": f"rpt-{tenant.name}-{n}",
        "tenant": tenant.name,
        "classification": classification,
    }


def attachment(tenant: Tenant, rng: Random) -> dict[str, Any]:
    """A call recording, chat transcript or email attachment."""
    kind = rng.choice(("recording", "transcript", "attachment"))
    return {
        "type": kind,
        "id": f"{kind[:3]}-{tenant.name}-{rng.randrange(10**7)}",
        "tenant": tenant.name,
        "classification": "pii",
    }


def media(tenant: Tenant, kind: str, prefix: str, customer: int) -> dict[str, Any]:
    """The recording or transcript of a customer's last interaction."""
    return {
        "type": kind,
        "id": f"{prefix}-{tenant.name}-{customer}",
        "tenant": tenant.name,
        "classification": "pii",
    }

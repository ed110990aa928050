"""Redis keys of detector state: every key belongs to an owner and carries its hash tag.

An owner is an actor, a team (of a tenant), a source address (of a tenant), a channel or
a tenant. Each part of an owner's identity is percent-encoded (every character outside
`A-Za-z0-9._~@-`, so `%`, `:`, `{`, `}` and control characters too): two different
identities never share a key, and the hash tag (`{...}`) always spans the whole owner,
so all of one owner's keys live in one Redis Cluster slot.
"""

from __future__ import annotations

import re
from urllib.parse import quote

_PLAIN = re.compile(r"[A-Za-z0-9._~@-]*")


def part(text: str) -> str:
    """One identity part, encoded: plain ids stay readable, nothing else can collide."""
    if _PLAIN.fullmatch(text):
        return text
    return quote(text, safe="@", errors="surrogatepass")


def actor_tag(actor: str) -> str:
    return f"{{a:{part(actor)}}}"


def team_tag(tenant: str, team: str) -> str:
    return f"{{t:{part(tenant)}:{part(team)}}}"


def address_tag(tenant: str, address: str) -> str:
    return f"{{i:{part(tenant)}:{part(address)}}}"


def channel_tag(channel: str) -> str:
    return f"{{c:{part(channel)}}}"


def tenant_tag(tenant: str) -> str:
    return f"{{n:{part(tenant)}}}"


def alert_field(detector: str, tenant: str, late: bool = False) -> str:
    """The field of an owner's hash holding its alert record for (detector, tenant); late
    arrivals (the late lane) have a record of their own."""
    return f"!{part(detector)}:{part(tenant)}{':late' if late else ''}"


def claim_field(detector: str, tenant: str) -> str:
    """The field of an owner's hash holding the episode last paged for (detector, tenant)."""
    return f"~{part(detector)}:{part(tenant)}"

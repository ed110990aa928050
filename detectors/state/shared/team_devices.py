"""Team devices (shared): the devices (desks, shared terminals) a team's actors used, with
when each was last used; those used recently. A device a teammate used is the team's, not
news (hot desks). Lua side: team_devices.lua. Setting a device again only moves its
last-used time on; at most `cap` devices are kept (least recently used first out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from detectors.state.shared.memory import (
    SharedMemory,
    handles_op,
    handles_query,
    keep_newest,
    slack,
)
from detectors.state.shared.plan import Plan
from detectors.state.shared.protocol import TeamDevicesSince, TeamDevicesUsed


@dataclass(slots=True)
class Devices:
    """The devices used since a given time."""

    used: frozenset[str] = field(default_factory=frozenset)

    def fill(self, raw: Any) -> None:
        self.used = frozenset(str(x) for x in raw)


def used(plan: Plan, key: str, device: str, ts_ms: int, cap: int, ttl_ms: int) -> None:
    plan.op(TeamDevicesUsed, key, device, ts_ms, cap, ttl_ms)


def since(plan: Plan, key: str, since_ms: int) -> Devices:
    return plan.ask(Devices(), TeamDevicesSince, key, since_ms)


@handles_op(TeamDevicesUsed)
def _used(memory: SharedMemory, a: TeamDevicesUsed) -> None:
    devices: dict[str, int] = memory.data.setdefault(a.key, {})
    if a.ts_ms > devices.get(a.device, -1):
        devices[a.device] = a.ts_ms
    keep_newest(devices, a.cap, slack(a.cap), int)


@handles_query(TeamDevicesSince)
def _since(memory: SharedMemory, q: TeamDevicesSince) -> list[str]:
    return sorted(d for d, ts in memory.data.get(q.key, {}).items() if ts >= q.since_ms)

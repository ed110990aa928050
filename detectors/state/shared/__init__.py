"""Shared state families: a Python plan helper, a typed reply, an in-process twin and a
Lua side (same name, `.lua`) each. The store loads the Lua of `FAMILIES`, in order."""

FAMILIES = (
    "guarded_sum",
    "team_sample",
    "team_totals",
    "team_rates",
    "team_devices",
    "channel_traffic",
    "ledger",
)

# importing a family registers its in-process twin
from detectors.state.shared import (  # noqa: E402,F401
    channel_traffic,
    guarded_sum,
    ledger,
    team_devices,
    team_rates,
    team_sample,
    team_totals,
)

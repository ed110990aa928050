"""access_burst: one actor views or searches records far faster than usual, for them and their team.

An agent normally opens the record of the customer on the line, a few per call. A
sudden run of record views or searches (someone paging through the CRM to copy what
they see, or a script driving the agent's session) stands out against the actor's own
history and against the team's. Counts views/searches per actor in 5-minute windows
and compares with robust baselines (median + k·MAD) of the actor and of the team; a
static floor fires from day one, before any baseline exists.

Tuning. With replay: look at the `baseline_median`/`team_median` of the findings; if a
team legitimately works in bursts (a back-office team clearing a queue), raise `k` or
`min_observed` for that tenant, or put the team on the allowlist. The simulated scenario
`access_burst` (90-140 views in 4 minutes, below the static floor) needs about one shift
of history for its actor before the baseline rule can catch it.
"""

from __future__ import annotations

from detectors.access_burst.config import NAME
from detectors.baseline import WindowBaseline

# The rules a finding names in its evidence ("rule"), as docs/detectors.md lists them.
RULES = {
    "static_threshold": "views/searches in a window ≥ `static_threshold`",
    "baseline": (
        "≥ `min_observed` and above the actor's robust threshold (and the team's, with "
        "`compare_team`)"
    ),
}


class AccessBurst(WindowBaseline):
    """Record views/searches per actor per window against static floor and baselines."""

    name = NAME
    headline = "Access burst"
    counted = "record views/searches"

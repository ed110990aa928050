"""unmask_rate: one actor reveals masked personal data far more often than allowed or usual.

Card numbers, national ids and health data are masked on agent screens; `pii.unmask`
reveals them and is legitimately rare (an identity check now and then). Many unmasks
in an hour is how an insider harvests card or identity data without exporting
anything. Counts unmasks per actor per hour: a static floor (30/h) always applies,
and once the actor has history, a count far above their own baseline (median + k·MAD)
fires too.

Tuning. Per tenant: a tenant whose workflow needs frequent unmasks (fraud desks) gets a
higher `static_threshold` under `tenants:`; replay a week of its traffic and check that
the baseline findings left are the ones a supervisor would want to see.
"""

from __future__ import annotations

from detectors.baseline import WindowBaseline
from detectors.unmask_rate.config import NAME

# The rules a finding names in its evidence ("rule"), as docs/detectors.md lists them.
RULES = {
    "static_threshold": "unmasks in a window ≥ `static_threshold`",
    "baseline": (
        "≥ `min_observed` and above the actor's robust threshold (and the team's, with "
        "`compare_team`)"
    ),
}


class UnmaskRate(WindowBaseline):
    """pii.unmask per actor per hour against a static floor and the actor's baseline."""

    name = NAME
    headline = "Unmask rate"
    counted = "pii.unmask"

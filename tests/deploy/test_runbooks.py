"""Every detector has a runbook where its alerts' runbook_url points."""

from __future__ import annotations

import pytest

from detectors.catalog import CATALOG
from monitor.settings import REPO_ROOT

RUNBOOKS = REPO_ROOT / "docs" / "runbooks"
# The detector catalog of the design (DESIGN.md §3).
DESIGN_CATALOG = (
    "bulk_export",
    "access_burst",
    "enumeration",
    "orphan_access",
    "off_hours",
    "new_device",
    "unusual_location",
    "cross_tenant",
    "exfil_sequence",
    "unmask_rate",
    "auth_failures",
    "channel_silence",
    "cumulative_access",
)


@pytest.mark.parametrize("detector", sorted(set(DESIGN_CATALOG) | set(CATALOG)))
def test_detector_has_a_runbook(detector: str) -> None:
    path = RUNBOOKS / f"{detector}.md"
    assert path.exists(), f"docs/runbooks/{detector}.md missing"
    text = path.read_text()
    assert text.startswith(f"# {detector}\n")
    for section in ("**Fires when**", "**Why it matters.**", "## Triage", "## Contain"):
        assert section in text, f"{detector}: no {section}"

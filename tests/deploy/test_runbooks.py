"""Every detector of the catalog has a runbook in its folder, where its alerts' runbook_url
points (BLINDAR_RUNBOOK_BASE_URL, default `detectors`, + `/<detector>/runbook.md`)."""

from __future__ import annotations

import pytest

from detectors.catalog import CATALOG
from monitor.service.settings import REPO_ROOT
from monitor.service.sinks.alertmanager import runbook_url
from monitor.service.sinks.settings import SinkSettings


@pytest.mark.parametrize("detector", list(CATALOG))
def test_detector_has_a_runbook(detector: str) -> None:
    url = runbook_url(SinkSettings().runbook_base_url, detector)
    path = REPO_ROOT / url
    assert path.exists(), f"{url} missing"
    text = path.read_text()
    assert text.startswith(f"# {detector}\n")
    for section in ("**Fires when**", "**Why it matters.**", "## Triage", "## Contain"):
        assert section in text, f"{detector}: no {section}"

"""The committed dashboards are what the generator makes, and are well formed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.dashboards import GRAFANA, committed, generator, panel_queries

pytestmark = pytest.mark.filterwarnings("ignore:Prefer using dashboardv2:DeprecationWarning")


def test_committed_dashboards_are_current(tmp_path: Path) -> None:
    written = generator().write(tmp_path)
    assert {p.name for p in written} == set(committed())
    for path in written:
        current = (GRAFANA / "dashboards" / path.name).read_text()
        assert path.read_text() == current, f"{path.name} is stale: run `make dashboards`"


def test_dashboards_have_the_panels_the_soc_needs() -> None:
    boards = committed()
    overview = {p["title"] for p in boards["overview.json"]["panels"]}
    for title in (
        "Events/s by channel",
        "Invalid events/s by reason",
        "Processing lag by channel",
        "Consumer lag by topic",
        "Alerts by detector and severity",
        "Redis round trip and errors",
        "Alert delivery by sink",
    ):
        assert title in overview
    for board in boards.values():
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), "panel ids must be unique"
        assert {v["name"] for v in board["templating"]["list"]} >= {"datasource"}
        for panel in board["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == "${datasource}"
                assert panel["targets"], panel["title"]
        for title, expr in panel_queries(board):
            assert "$" not in expr, f"{title}: unsubstituted variable in {expr}"
            assert "blindar_" in expr, title


def test_provisioning_points_at_the_dashboards() -> None:
    sources = yaml.safe_load((GRAFANA / "provisioning/datasources/blindar.yml").read_text())
    [source] = sources["datasources"]
    assert source["type"] == "prometheus" and source["uid"]
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/blindar.yml").read_text())
    [provider] = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"].startswith("/")

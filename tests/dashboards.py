"""Reading the generated Grafana dashboards: the generator module and every panel's queries."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType
from typing import Any

from monitor.service.settings import REPO_ROOT

GRAFANA = REPO_ROOT / "deploy" / "grafana"
# What Grafana substitutes into queries, for running them against Prometheus directly.
VARIABLES = {
    "$__rate_interval": "1m",
    "$__range": "5m",
    "$channel": ".*",
    "$detector": ".*",
}


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("blindar_dashboards", GRAFANA / "dashboards.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def committed() -> dict[str, dict[str, Any]]:
    return {
        p.name: json.loads(p.read_text()) for p in sorted((GRAFANA / "dashboards").glob("*.json"))
    }


def panel_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL with variables substituted) for every query of every panel."""
    out = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        for target in panel["targets"]:
            expr = target["expr"]
            for name, value in VARIABLES.items():
                expr = expr.replace(name, value)
            out.append((f"{dashboard['title']} / {panel['title']} / {target['refId']}", expr))
    return out

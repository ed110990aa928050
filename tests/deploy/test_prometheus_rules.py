"""Prometheus rules and configs, and Alertmanager routing, checked by the real tools
(Debian `prometheus`: promtool; `prometheus-alertmanager`: amtool)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from monitor.service.settings import REPO_ROOT
from tests.servers import binary

PROM = REPO_ROOT / "deploy" / "prometheus"
AM_CONFIG = REPO_ROOT / "deploy" / "alertmanager" / "alertmanager.yml"


def run(*args: str, cwd: Path = PROM) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=cwd)
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def test_rules_are_valid() -> None:
    out = run(binary("promtool"), "check", "rules", "rules.yml")
    assert "SUCCESS" in out


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus-k8s.yml"])
def test_prometheus_configs_are_valid(config: str, tmp_path: Path) -> None:
    """promtool checks that the token file a scrape sends exists: the mounted secret's
    path is stood in for by a file here (the configs' own paths are checked elsewhere)."""
    token = tmp_path / "web-token"
    token.write_text("t" * 32)
    text = (PROM / config).read_text()
    assert "credentials_file: /" in text
    (tmp_path / config).write_text(
        re.sub(r"credentials_file: \S+", f"credentials_file: {token}", text)
    )
    shutil.copy(PROM / "rules.yml", tmp_path)
    out = run(binary("promtool"), "check", "config", config, cwd=tmp_path)
    assert "is valid prometheus config" in out


def test_rule_unit_tests_pass() -> None:
    assert "SUCCESS" in run(binary("promtool"), "test", "rules", "rules.test.yml")


def test_every_rule_has_a_firing_and_a_quiet_case() -> None:
    rules = yaml.safe_load((PROM / "rules.yml").read_text())
    names = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {
        "BlindarWorkerDown",
        "BlindarConsumerLagHigh",
        "BlindarDeadLetterRateHigh",
        "BlindarRedisErrors",
        "BlindarProcessingLagHigh",
        "BlindarChannelSilent",
        "BlindarAlertDeliveryFailing",
        "BlindarCanaryMissed",
    } <= names
    tests = yaml.safe_load((PROM / "rules.test.yml").read_text())["tests"]
    cases = [case for t in tests for case in t.get("alert_rule_test", [])]
    fires = {c["alertname"] for c in cases if c["exp_alerts"]}
    quiet = {c["alertname"] for c in cases if not c["exp_alerts"]}
    assert fires == names, f"rules without a firing test: {names - fires}"
    assert quiet == names, f"rules without a quiet test: {names - quiet}"
    for rule in (r for g in rules["groups"] for r in g["rules"]):
        assert rule["annotations"]["runbook_url"].startswith("docs/runbooks/monitor-health.md#")
        anchor = rule["annotations"]["runbook_url"].partition("#")[2]
        runbook = (REPO_ROOT / "docs" / "runbooks" / "monitor-health.md").read_text()
        assert f"## {rule['alert']}" in runbook, f"{anchor} missing from the runbook"


def test_alertmanager_config_and_routes() -> None:
    amtool = binary("amtool")
    assert "SUCCESS" in run(amtool, "check-config", str(AM_CONFIG))

    def route(*labels: str) -> str:
        out = run(amtool, "config", "routes", "test", f"--config.file={AM_CONFIG}", *labels)
        return out.splitlines()[0].strip()

    page = ("alertname=bulk_export", "source=blindar", "tenant=acme", "actor=agent-7")
    assert route(*page, "severity=critical") == "security-oncall"
    assert route(*page, "severity=medium") == "soc-queue"
    assert route("alertname=BlindarWorkerDown", "component=blindar-monitor") == "platform-oncall"
    canary = ("alertname=BlindarCanaryMissed", "component=blindar-monitor", "severity=critical")
    assert route(*canary) == "platform-oncall"

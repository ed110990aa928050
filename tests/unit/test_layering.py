"""Layering: detection logic is pure. Importing every detector module (each folder's
logic, config and helpers, and the shared ones; not the scenarios, which build simulated
traffic, nor the tests) pulls in no Kafka, Faust or Redis client and nothing of monitor/."""

from __future__ import annotations

import subprocess
import sys

from monitor.settings import REPO_ROOT

FORBIDDEN = ("confluent_kafka", "faust", "aiokafka", "redis", "monitor")


def detector_modules() -> list[str]:
    modules = []
    for path in sorted((REPO_ROOT / "detectors").rglob("*.py")):
        if path.name == "scenario.py" or path.name.startswith("test_"):
            continue
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


def test_detector_modules_import_no_service_client_and_no_monitor() -> None:
    modules = detector_modules()
    assert "detectors.bulk_export.detector" in modules and "detectors.catalog" in modules
    probe = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(' '.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"detector modules import: {out.stdout.strip()}"


def test_the_check_sees_a_scenario_import_monitor() -> None:
    """The probe would catch it: a scenario module does import monitor (the simulator)."""
    probe = "import sys, detectors.bulk_export.scenario\nprint('monitor' in sys.modules)\n"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True"

"""`blindar backtest` end to end on the real Redis: a small realistic period with both
collectors is simulated, replayed on a scratch namespace and scored."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from monitor.cli import main
from monitor.settings import Settings


def test_backtest_scores_the_collectors_and_names_the_noise(
    services: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", services.redis_url)
    figures_path = tmp_path / "figures.json"
    argv = ["backtest", "--agents", "40", "--days", "3", "--leak-day", "2", "--collectors", "1"]
    argv += ["--each", "0", "--dir", str(tmp_path), "--json", str(figures_path), "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "simulated" in out and "replaying in batches of" in out
    assert "cumulative_access" in out and "false pages on actors with no leak" in out
    # trusts what the worker would: the simulated population's own assignments file
    assert f"assignments file {tmp_path / 'assignments.yaml'} (40 actors)" in out
    assert {p.name for p in tmp_path.iterdir()} >= {
        "events.jsonl", "labels.jsonl", "roster.yaml", "detectors.yaml", "figures.json",
        "assignments.yaml",
    }  # fmt: skip
    figures = orjson.loads(figures_path.read_bytes())
    leaks = {leak["scenario"]: leak for leak in figures["leaks"]}
    assert set(leaks) == {"uncovered_collector", "covered_collector"}
    # ~17 orphan views an hour: orphan_access pages the uncovered collector in its first shift
    assert leaks["uncovered_collector"]["first_page_days"]["orphan_access"] < 1.0
    # the covered collector opens every account inside an interaction: never an orphan
    assert "orphan_access" not in leaks["covered_collector"]["first_page_days"]
    cumulative = figures["detectors"]["cumulative_access"]
    assert cumulative["labels"] == 2 and figures["normal_agent_days"] > 100
    agents = figures["agents_by_trait"]  # by combination of traits, e.g. supervisor+laptop
    assert agents["(agents)"] == 40
    assert sum(n for kind, n in agents.items() if "supervisor" in kind.split("+")) == 4

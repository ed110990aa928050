"""`blindar backtest` end to end on the real Redis: a small realistic period with both
collectors is simulated, replayed on a scratch namespace and scored."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from monitor.cli import main
from monitor.service.settings import Settings


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


def test_backtest_prints_and_writes_the_detection_floor_curve(
    services: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--curve adds careful collectors at each multiple of the team's rate (one per shift
    pattern the population has) and reports days to the first page and the false pages of
    everyone else, in the text and in the JSON."""
    monkeypatch.setenv("REDIS_URL", services.redis_url)
    figures_path = tmp_path / "figures.json"
    argv = ["backtest", "--agents", "60", "--days", "4", "--leak-day", "3", "--collectors", "0"]
    argv += ["--each", "0", "--curve", "--team-size", "10", "--json", str(figures_path)]
    assert main([*argv, "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "detection-floor curve: careful collectors inside short interactions" in out
    curve = orjson.loads(figures_path.read_bytes())["curve"]
    points = curve["points"]
    assert {p["multiple"] for p in points} == {1.5, 2.0, 2.5, 3.0}
    assert {p["pattern"] for p in points} >= {"day"}
    assert all(p["team_size"] >= 8 for p in points)
    day3 = [p for p in points if p["pattern"] == "day" and p["multiple"] == 3.0]
    # two warm-up days are too few for a peer sample: paged once the team has one, not fast
    assert day3 and day3[0]["days_to_page"] is not None
    assert set(curve["false_pages_per_1000_agent_days"]) <= set(
        orjson.loads(figures_path.read_bytes())["detectors"]
    )

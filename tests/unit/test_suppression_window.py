"""alerts.suppression_minutes accepts fractions (short windows for tests and drills)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.service.config import ConfigError, load_detectors


@pytest.mark.parametrize("value", [0.1, 30])
def test_fractional_and_whole_windows_load(tmp_path: Path, value: float) -> None:
    path = tmp_path / "detectors.yaml"
    path.write_text(f"alerts:\n  suppression_minutes: {value}\n")
    assert load_detectors(path).suppression_minutes == value


@pytest.mark.parametrize("value", ["true", "'5'", "-1", "0.0"])
def test_non_positive_or_non_numbers_are_refused(tmp_path: Path, value: str) -> None:
    path = tmp_path / "detectors.yaml"
    path.write_text(f"alerts:\n  suppression_minutes: {value}\n")
    with pytest.raises(
        ConfigError, match=r"alerts\.suppression_minutes: must be a positive number"
    ):
        load_detectors(path)

"""The worker's registry reload: new registry on a valid change, old one kept on error."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.service import metrics
from monitor.service.channel_reload import ChannelWatcher
from monitor.service.channels import load_channels


def reloads(result: str) -> float:
    return metrics.CHANNEL_RELOADS.labels(result=result)._value.get()


def test_reload_picks_up_new_files_and_keeps_the_old_registry_on_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "channels.yaml").write_text("channels:\n  voice: {}\n")
    watcher = ChannelWatcher(tmp_path, load_channels(tmp_path / "channels.yaml"))
    assert watcher.poll() is None  # nothing changed

    (tmp_path / "channels.d").mkdir()
    (tmp_path / "channels.d" / "crm.yaml").write_text("partitions: 3\n")
    registry = watcher.poll()
    assert registry is not None and registry.names() == ["voice", "crm"]
    assert watcher.poll() is None

    errors = reloads("error")
    (tmp_path / "channels.d" / "crm.yaml").write_text("partitions: -1\n")
    assert watcher.poll() is None
    assert reloads("error") == errors + 1
    assert watcher.registry.names() == ["voice", "crm"]
    assert "channels.d/crm.yaml: partitions: must be a positive integer" in caplog.text
    assert watcher.poll() is None  # the same broken file is reported once

    (tmp_path / "channels.d" / "crm.yaml").unlink()
    registry = watcher.poll()
    assert registry is not None and registry.names() == ["voice"]

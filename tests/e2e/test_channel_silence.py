"""channel_silence in the real worker: a registered channel that sends nothing produces
no batch, yet the worker's periodic check pages once on dlp.alerts."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from monitor.service.settings import DEFAULT_CONFIG_DIR, Settings
from tests.harness import TopicReader, WorkerProcess, produce, wait_until

pytestmark = pytest.mark.services

SILENCE_MINUTES = 0.25  # 15 s


def short_silence_config(tmp_path: Path) -> Path:
    """A copy of deploy/config with two channels and a 15 s silence period."""
    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    channels = yaml.safe_load((config / "channels.yaml").read_text())
    channels["channels"] = {"voice": {}, "sms": {}}
    (config / "channels.yaml").write_text(yaml.safe_dump(channels))
    detectors = yaml.safe_load((config / "detectors.yaml").read_text())
    detectors["detectors"]["channel_silence"]["silence_minutes"] = SILENCE_MINUTES
    (config / "detectors.yaml").write_text(yaml.safe_dump(detectors))
    return config


def search(n: int) -> dict:
    return {
        "event_id": f"s-{n}",
        "ts": int(time.time() * 1000),
        "tenant": "acme",
        "action": "record.search",
        "actor": {"id": "agent-3", "team": "t-1"},
    }


def test_a_silent_channel_raises_one_alert(settings: Settings, tmp_path: Path) -> None:
    settings = replace(settings, config_dir=short_silence_config(tmp_path))
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    alerts: TopicReader | None = None
    try:
        worker.wait_ready()
        alerts = TopicReader(settings, settings.alerts_topic)  # reads from the beginning
        n = 0

        def voice_talks_until_an_alert() -> list:
            nonlocal n
            assert alerts is not None
            n += 1
            produce(settings, "voice", [search(n)])
            return alerts.poll(1.0)

        wait_until(voice_talks_until_an_alert, 90, 0.1, "a channel_silence alert")
        # Keep voice busy for three more checks: no repeat for sms, nothing for voice.
        deadline = time.monotonic() + 16
        while time.monotonic() < deadline:
            n += 1
            produce(settings, "voice", [search(n)])
            alerts.poll(1.0)
        found = alerts.values()
        assert [a["actor"]["user"]["uid"] for a in found] == ["channel:sms"], worker.log_tail()
        [alert] = found
        assert alert["finding_info"]["analytic"]["name"] == "channel_silence"
        assert alert["type_uid"] == 200401 and alert["metadata"]["tenant_uid"] == "*"
        data = alert["evidences"][0]["data"]
        assert data["channel"] == "sms" and data["clock"] == "wall_clock"
        assert data["silent_minutes"] >= SILENCE_MINUTES
        assert worker.metric("blindar_events_total", channel="voice") >= n - 2
    finally:
        worker.stop()
        if alerts is not None:
            alerts.close()

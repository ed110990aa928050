"""The opt-in latency log: off by default, one int64 of decision minus event time per event."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.service.events import parse_event
from monitor.service.latency_log import ENV, LatencyLog, read_latency_ms


def event(ts_ms: int, n: int):
    doc = {
        "event_id": f"e{n}",
        "ts": ts_ms,
        "tenant": "acme-bank",
        "actor": {"id": "agent-1"},
        "action": "auth.login",
    }
    return parse_event(doc, "voice", ts_ms)


def test_off_unless_the_variable_names_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert LatencyLog.from_env() is None
    monkeypatch.setenv(ENV, "")
    assert LatencyLog.from_env() is None


def test_appends_decision_minus_event_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "latency.bin"
    monkeypatch.setenv(ENV, str(path))
    log = LatencyLog.from_env()
    assert log is not None
    log.record([event(1_000, 1), event(1_250, 2)], decided_ms=1_500)
    log.record([event(1_900, 3)], decided_ms=3_000)
    assert list(read_latency_ms(path)) == [500, 250, 1100]
    assert path.stat().st_size == 3 * 8

"""blindar's log lines escape control characters that came with event data."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from monitor.service.text import escape_logs


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    factory = logging.getLogRecordFactory()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    escape_logs()
    loggers = [
        logging.getLogger(n) for n in ("monitor.service.pipeline", "blindar.worker", "faust")
    ]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    yield stream
    for logger in loggers:
        logger.removeHandler(handler)
        logger.propagate = True
    logging.setLogRecordFactory(factory)


def test_event_text_cannot_forge_a_log_line_or_drive_a_terminal(captured: io.StringIO) -> None:
    actor = "agent-1\nERROR forged line\x1b[31m\u202e"
    logging.getLogger("monitor.service.pipeline").warning("alert actor=%s", actor)
    logging.getLogger("blindar.worker").warning("title %s", "a\rb\x00")
    lines = captured.getvalue().splitlines()
    assert lines == [
        "monitor.service.pipeline: alert actor=agent-1\\nERROR forged line\\x1b[31m\\u202e",
        "blindar.worker: title a\\rb\\x00",
    ]


def test_other_libraries_multi_line_messages_are_left_alone(captured: io.StringIO) -> None:
    logging.getLogger("faust").warning("table\n+---+")
    assert captured.getvalue() == "faust: table\n+---+\n"

"""`blindar alerts tail` line format, colours by severity and filters."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from monitor.tools.tail import COLOURS, RESET, _wanted, format_alert
from tests.sinks_helpers import alert, finding


def doc(
    severity: int = 3, kind: str = "new", tenant: str = "acme", detector: str = "bulk_export"
) -> dict[str, Any]:
    f = replace(finding(severity=severity, tenant=tenant), detector=detector)
    return alert(f, kind, 1 if kind == "new" else 3).document


def test_line_has_kind_severity_detector_actor_title_count_and_uid() -> None:
    line = format_alert(doc(kind="update"), colour=False)
    assert " UPDATE Medium   bulk_export    acme/agent-7  Bulk export: 600 records" in line
    assert line.endswith(f"x3  uid={doc()['finding_info']['uid'][:12]}")
    assert "\033[" not in line
    assert " NEW    " in format_alert(doc(), colour=False)


@pytest.mark.parametrize("severity", [3, 4, 5])
def test_colour_follows_severity(severity: int) -> None:
    line = format_alert(doc(severity=severity), colour=True)
    assert line.startswith(COLOURS[severity]) and line.endswith(RESET)
    assert len({COLOURS[s] for s in (3, 4, 5)}) == 3, "each severity has its own colour"


def test_filters_by_tenant_detector_and_minimum_severity() -> None:
    high = doc(severity=4)
    assert _wanted(high, None, None, 1)
    assert _wanted(high, "acme", "bulk_export", 4)
    assert not _wanted(high, "other-bank", None, 1)
    assert not _wanted(high, None, "enumeration", 1)
    assert not _wanted(high, None, None, 5)
    assert _wanted(doc(detector="enumeration", tenant="telco"), "telco", "enumeration", 3)


def test_missing_fields_do_not_break_the_line() -> None:
    assert "?" in format_alert({"time": 0}, colour=False)
    assert not _wanted({}, None, None, 1)


def test_terminal_escapes_in_an_alert_never_reach_the_terminal() -> None:
    hostile = doc()
    hostile["finding_info"]["title"] = "x\x1b[2J\x1b]0;owned\x07\x1b[31mred\rback\x9b"
    hostile["actor"]["user"]["uid"] = "agent\x1b[1A"
    line = format_alert(hostile, colour=True)
    body = line[len(COLOURS[3]) : -len(RESET)]
    assert "\x1b" not in body and "\r" not in body and "\x9b" not in body
    assert "agent/" not in body and "agent" in body and "red" in body and "\\r" in body

"""The assurance report built from ledger contents (pure), and its HTML."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import orjson
import pytest

from monitor.cli import main
from monitor.service import controls
from monitor.service.config import load_detectors
from monitor.service.ledger import DAY_MS, day_start_ms
from monitor.service.pseudonym import Pseudonymizer
from monitor.service.settings import DEFAULT_CONFIG_DIR
from monitor.tools import report_cli
from monitor.tools.ledger_reader import TenantDay
from monitor.tools.report import (
    LedgerView,
    Period,
    bucket_quantile,
    build_report,
    percentile,
    resumed_ms,
)
from monitor.tools.report_html import CHARTS, render_html

MIN = 60_000
PERIOD = Period(date(2026, 11, 29), date(2026, 11, 30))
D1, D2 = PERIOD.days
T1 = day_start_ms(D1)
PSEUDONYM = Pseudonymizer(b"k" * 32)
SNAPSHOT = controls.snapshot(load_detectors(DEFAULT_CONFIG_DIR / "detectors.yaml"))
HASH = controls.config_hash(SNAPSHOT)


def empty_days(days: list[str]) -> dict[str, TenantDay]:
    return {d: TenantDay({}, {}) for d in days}


def busy(*minutes: int) -> list[int]:
    """Minutes of a day with events, as the ledger reader returns them."""
    return sorted(minutes)


def silence_row(uid: str, channel: str, last_ms: int) -> dict[str, str]:
    summary = {
        "uid": uid,
        "detector": "channel_silence",
        "severity": 4,
        "actor": None,
        "channels": [channel],
        "window_start_ms": last_ms,
        "first_seen_ms": last_ms + 11 * MIN,
        "crossed_ms": last_ms + 10 * MIN,
        "paged_ms": last_ms + 10 * MIN + 3000,
        "observed": 11.0,
        "threshold": 10.0,
    }
    return {uid: orjson.dumps(summary).decode()}


def alert_row(uid: str, actor: str, at: int, delay_ms: int, count: int) -> dict[str, str]:
    summary = {
        "uid": uid,
        "detector": "bulk_export",
        "severity": 3,
        "actor": PSEUDONYM(actor),
        "channels": ["voice"],
        "window_start_ms": at - 15 * MIN,
        "first_seen_ms": at,
        "crossed_ms": at,
        "paged_ms": at + delay_ms,
        "observed": 800,
        "threshold": 500,
    }
    return {uid: orjson.dumps(summary).decode(), f"{uid}|count": str(count), f"{uid}|severity": "4"}


def view(acme_uses_sms: bool = True) -> LedgerView:
    days = PERIOD.lookback + PERIOD.days
    tenant = empty_days(days)
    tenant[D1].counters.update(
        {
            "ev|voice": 100,
            "cfg|" + HASH: 100 + (5 if acme_uses_sms else 0),
            "lag|n": 100 + (5 if acme_uses_sms else 0),
            "lag|sum_ms": 210_000,
            "lag|max_ms": 9_000,
            "lag|le|1": 60,
            "lag|le|5": 40,
            "lag|le|15": 5 if acme_uses_sms else 0,
            "dl|voice|missing_field": 2,
            "pg|bulk_export|3": 2,
        }
    )
    if acme_uses_sms:
        tenant[D1].counters["ev|sms"] = 5
    tenant[D1].alerts.update(alert_row("a1", "agent-1", T1 + 600 * MIN, 2000, 3))
    tenant[D1].alerts.update(alert_row("a2", "agent-1", T1 + 700 * MIN, 8000, 1))
    monitor = empty_days(days)
    # sms silent from 10:00 on day 1, traffic again in minute 10:42; voice silent on day 2.
    monitor[D1].alerts.update(silence_row("s1", "sms", T1 + 600 * MIN))
    monitor[D2].alerts.update(silence_row("s2", "chat", T1 + DAY_MS + 60 * MIN))
    minutes = {("sms", D1): busy(599, 600, 642, 643)}
    return LedgerView(tenant, monitor, minutes, {HASH: SNAPSHOT})


def report(v: LedgerView, generated_ms: int = T1 + 3 * DAY_MS) -> dict:
    return build_report("acme", PERIOD, v, generated_ms, PSEUDONYM, SNAPSHOT, HASH, 400)


def test_coverage_counts_dead_letters_and_lag() -> None:
    cov = report(view())["coverage"]
    assert cov["events_total"] == 105
    assert cov["channels"] == [
        {"channel": "sms", "events": 5, "days_with_events": 1, "dead_letters": 0},
        {"channel": "voice", "events": 100, "days_with_events": 1, "dead_letters": 2},
    ]
    assert cov["events_per_day"] == [
        {"day": D1, "channels": {"sms": 5, "voice": 100}},
        {"day": D2, "channels": {}},
    ]
    assert cov["dead_letters"] == {
        "total": 2,
        "by_channel_and_reason": {"voice": {"missing_field": 2}},
    }
    day1 = cov["lag"]["per_day"][0]
    assert day1 == {
        "day": D1,
        "events": 105,
        "avg_s": 2.0,
        "max_s": 9.0,
        "p50_at_most_s": 1.0,
        "p95_at_most_s": 5.0,
    }
    assert cov["lag"]["per_day"][1]["avg_s"] is None


def test_a_silence_is_shown_to_the_tenants_of_its_channel_with_its_end() -> None:
    [silence] = report(view())["coverage"]["silences"]
    assert silence == {
        "channel": "sms",
        "last_event_at": "2026-11-29T10:00:00Z",
        "paged_at": "2026-11-29T10:10:03Z",
        "resumed_by": "2026-11-29T10:43:00Z",
        "ongoing": False,
        "silent_minutes": 43.0,
        "threshold_minutes": 10.0,
        "alert_uid": "s1",
    }
    assert report(view(acme_uses_sms=False))["coverage"]["silences"] == []


def test_a_silence_without_traffic_after_it_is_ongoing_until_the_report() -> None:
    v = view()
    v.minutes = {}
    [silence] = report(v, generated_ms=T1 + 12 * 60 * MIN)["coverage"]["silences"]
    assert silence["ongoing"] and silence["resumed_by"] is None
    assert silence["silent_minutes"] == 120.0


def test_a_channel_used_the_week_before_still_counts_for_its_silences() -> None:
    v = view(acme_uses_sms=False)
    v.tenant[PERIOD.lookback[-1]].counters["ev|sms"] = 1
    assert [s["channel"] for s in report(v)["coverage"]["silences"]] == ["sms"]


def test_detections_time_to_page_repeats_and_top_actors() -> None:
    det = report(view())["detections"]
    assert det["alerts_total"] == 2 and det["alerts_not_listed"] == 0
    assert det["by_detector"] == {"bulk_export": 2} and det["by_severity"] == {"3": 2}
    assert det["time_to_page_s"] == {"alerts": 2, "p50": 2.0, "p95": 8.0, "max": 8.0}
    assert det["repeats_folded"] == 2
    assert det["top_actors"] == [
        {"actor": PSEUDONYM("agent-1"), "alerts": 2, "detectors": ["bulk_export"]}
    ]
    assert det["alerts"][0]["max_severity"] == 4 and det["alerts"][0]["repeats"] == 2


def test_controls_come_from_the_ledger_and_pseudonymize_allowlisted_actors() -> None:
    snap = orjson.loads(orjson.dumps(SNAPSHOT))
    bulk = snap["detectors"]["bulk_export"]
    bulk["tenants"] = {"acme": {**bulk["default"], "threshold_records": 900}}
    bulk["tenant_allowlists"] = {"acme": {"actors": ["svc-1"], "teams": ["t-9"]}}
    v = view()
    v.snapshots = {HASH: snap}
    [version] = report(v)["controls"]["config_versions"]
    assert version["source"] == "ledger" and version["events"] == 105
    shown = version["controls"]["detectors"]["bulk_export"]
    assert shown["settings"]["threshold_records"] == 900
    assert shown["overridden"] == ["threshold_records"]
    assert shown["allowlist"]["actors"] == [PSEUDONYM("svc-1")]
    assert shown["allowlist"]["teams"] == ["t-9"]


def test_a_tenant_sees_only_its_own_controls() -> None:
    """Detector-wide allowlist entries (anyone's actors, teams, domains) and other tenants'
    overrides and allowlists are not in a tenant's report: only how many shared entries
    applied."""
    snap = orjson.loads(orjson.dumps(SNAPSHOT))
    bulk = snap["detectors"]["bulk_export"]
    bulk["allowlist"] = {
        "actors": ["svc-global"],
        "teams": ["t-globex"],
        "destination_domains": ["globex.example"],
    }
    bulk["tenants"] = {"globex": {**bulk["default"], "threshold_records": 12345}}
    bulk["tenant_allowlists"] = {
        "acme": {"actors": ["svc-1"]},
        "globex": {"actors": ["svc-globex"], "teams": ["t-globex-2"]},
    }
    v = view()
    v.snapshots = {HASH: snap}
    r = report(v)
    shown = r["controls"]["config_versions"][0]["controls"]["detectors"]["bulk_export"]
    assert shown["allowlist"] == {
        "actors": [PSEUDONYM("svc-1")],
        "teams": [],
        "actor_patterns": [],
        "destination_domains": [],
    }
    assert shown["shared_allowlist_entries"] == 3
    text = orjson.dumps(r).decode() + render_html(r)
    for other in ("svc-global", "t-globex", "globex", "12345", PSEUDONYM("svc-global"),
                  PSEUDONYM("svc-globex")):  # fmt: skip
        assert other not in text, other
    assert "3 detector-wide entries (not listed)" in render_html(r)


def test_dead_letters_that_name_no_tenant_are_not_in_a_tenants_report() -> None:
    """They may be any tenant's: a tenant's report never reads them."""
    r = report(view())
    assert "unattributed" not in orjson.dumps(r).decode()
    assert "could not be read" not in render_html(r)


def test_without_events_the_current_configuration_is_shown_as_such() -> None:
    days = PERIOD.lookback + PERIOD.days
    empty = LedgerView(empty_days(days), empty_days(days))
    data = report(empty)
    [version] = data["controls"]["config_versions"]
    assert version["source"].startswith("current configuration")
    assert data["coverage"]["events_total"] == 0 and data["detections"]["alerts"] == []
    html = render_html(data)
    assert html.count("<svg") == len(CHARTS)


def test_late_arrivals_are_shown_per_channel_judged_and_dropped() -> None:
    """late|C (judged in a late lane, also in ev|C) and late_dropped|C (dropped unjudged)
    make the "Late arrivals" rows, in the JSON and the HTML; a channel whose only events
    were dropped is still one of the tenant's channels."""
    v = view()
    v.tenant[D1].counters.update({"late|voice": 30, "late_dropped|fax": 4})
    v.tenant[D2].counters.update({"late|voice": 2})
    data = report(v)
    assert data["coverage"]["late_arrivals"] == {
        "judged_late": 32,
        "dropped": 4,
        "by_channel": [
            {"channel": "fax", "judged_late": 0, "dropped": 4},
            {"channel": "voice", "judged_late": 32, "dropped": 0},
        ],
    }
    assert "fax" in [c["channel"] for c in data["coverage"]["channels"]]
    html = render_html(data)
    assert "<h3>Late arrivals" in html and "<td>voice</td><td>32</td><td>0</td>" in html
    assert "<td>fax</td><td>0</td><td>4</td>" in html
    assert report(view())["coverage"]["late_arrivals"]["by_channel"] == []
    assert "No event of this tenant arrived late." in render_html(report(view()))


def test_the_html_is_self_contained_and_escapes_names() -> None:
    data = report(view())
    data["tenant"] = "<script>alert(1)</script>"
    html = render_html(data)
    for name in CHARTS:
        assert f'data-chart="{name}"><svg' in html
    assert "<script" not in html and "&lt;script&gt;" in html
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert not re.search(r"\b(src|href)=", html)


def test_percentiles() -> None:
    assert percentile([], 50) is None
    assert percentile([5, 1, 3, 2, 4], 50) == 3 and percentile([5, 1, 3, 2, 4], 95) == 5
    assert bucket_quantile({"1": 90, "5": 10}, 95, 4.2) == 4.2
    assert bucket_quantile({"1": 90, "5": 10}, 50, 4.2) == 1.0
    assert bucket_quantile({"inf": 3}, 50, 7200.0) == 7200.0
    assert bucket_quantile({}, 50, 0.0) is None


def test_resumed_searches_the_following_days() -> None:
    minutes = {("sms", D2): busy(5)}
    assert resumed_ms(minutes, "sms", T1 + 1400 * MIN, T1 + 3 * DAY_MS) == T1 + DAY_MS + 6 * MIN
    assert resumed_ms(minutes, "sms", T1 + 1400 * MIN, T1 + DAY_MS) is None


def test_the_command_refuses_a_backwards_period_and_a_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backwards = ["report", "--tenant", "acme", "--from", "2026-12-02", "--to", "2026-12-01"]
    assert main(backwards) == 2
    assert "ends before it starts" in capsys.readouterr().err
    nowhere = str(tmp_path / "missing" / "r.html")
    args = ["report", "--tenant", "acme", "--from", "2026-12-01", "--to", "2026-12-01"]
    assert main([*args, "--out", nowhere]) == 2
    assert "no such directory" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", "--tenant", "acme", "--from", "yesterday", "--to", "2026-12-01"])


def test_the_command_gives_up_when_redis_does_not_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_cli, "READ_TIMEOUT_S", 1.0)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    monkeypatch.setenv("BLINDAR_REDIS_CLUSTER", "no")
    out = tmp_path / "r.html"
    args = ["report", "--tenant", "acme", "--from", "2026-12-01", "--to", "2026-12-01"]
    assert main([*args, "--out", str(out)]) == 1
    assert "did not answer within 1 s" in capsys.readouterr().err
    assert not out.exists()

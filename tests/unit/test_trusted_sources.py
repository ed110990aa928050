"""Issue 20, items 1 and 2: the config the docs describe loads (`trusted: [tenants, team,
type]`, parsed out of docs/operations.md so the docs and the loader cannot drift), and a
control with no trusted source is reported not in force: the worker's start-up WARNING,
/health's list, the report's controls section, replay's summary."""

from __future__ import annotations

import logging
import re
from datetime import date
from pathlib import Path

import orjson
import pytest
import yaml

from monitor.service import controls
from monitor.service.assignments import Assignments, Trust, load_assignments, trusted_kinds
from monitor.service.channels import load_channels
from monitor.service.config import load_detectors
from monitor.service.events import decode_message
from monitor.service.health import Health
from monitor.service.ledger import Ledger
from monitor.service.pseudonym import Pseudonymizer
from monitor.service.settings import DEFAULT_CONFIG_DIR, REPO_ROOT
from monitor.service.trust_status import TrustStatus
from monitor.tools.ledger_reader import TenantDay
from monitor.tools.replay import ReplayOptions, trust_text
from monitor.tools.report import LedgerView, Period, build_report
from monitor.tools.report_html import render_html

DETECTORS = load_detectors(DEFAULT_CONFIG_DIR / "detectors.yaml")
SHIPPED = load_channels(DEFAULT_CONFIG_DIR / "channels.yaml")
ALL = frozenset({"tenants", "team", "type"})


def docs_examples() -> list[dict]:
    """The YAML examples of docs/operations.md's *Trusted assignments* section."""
    text = (REPO_ROOT / "docs" / "operations.md").read_text()
    section = text.split("## Trusted assignments", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    return [yaml.safe_load(re.sub(r"(?m)^  ", "", block)) for block in blocks]


def docs_example(key: str) -> dict:
    [doc] = [d for d in docs_examples() if key in d]
    return doc


def test_the_docs_trusted_channel_example_loads_and_trusts_all_three(tmp_path: Path) -> None:
    doc = docs_example("channels")
    (tmp_path / "channels.yaml").write_text(yaml.safe_dump(doc))
    [iam] = load_channels(tmp_path / "channels.yaml").channels
    assert iam.trusted == ALL
    assert trusted_kinds(Assignments(), [iam.trusted]) == ALL
    # ... and the worker's decoding honours it: the feed's own type is the trusted one.
    trust = Trust(Assignments(), iam.name, True, True, "type" in iam.trusted)
    raw = orjson.dumps(
        {
            "event_id": "e-1",
            "ts": 1_780_000_000_000,
            "tenant": "acme",
            "action": "auth.login",
            "actor": {"id": "sup-1", "type": "supervisor", "team": "t-1", "tenants": ["acme"]},
        }
    )
    [event], [] = decode_message(raw, iam.name, 1_780_000_000_000, trust=trust)
    assert (event.trusted_type, event.trusted_team, event.actor_tenants) == (
        "supervisor",
        "t-1",
        ("acme",),
    )


def test_the_docs_assignments_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "assignments.yaml"
    path.write_text(yaml.safe_dump(docs_example("actors")))
    assignments = load_assignments(path)
    assert assignments.by_actor["sup-2"].type == "supervisor"
    assert trusted_kinds(assignments, []) == ALL


def test_trusted_kinds_come_from_the_file_and_the_channels() -> None:
    shipped = [c.trusted for c in SHIPPED.channels]
    assert trusted_kinds(Assignments(), shipped) == frozenset()  # as shipped: nothing
    assert trusted_kinds(Assignments(), [frozenset({"tenants"})]) == {"tenants"}
    tenants_only = Assignments(load_assignments_text("actors:\n  a: {tenants: [acme]}\n"))
    assert trusted_kinds(tenants_only, shipped) == {"tenants"}


def load_assignments_text(text: str) -> dict:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "assignments.yaml"
        path.write_text(text)
        return load_assignments(path).by_actor


def names(rows: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {(r["control"], r["needs"]) for r in rows}


def test_the_shipped_config_without_a_trusted_source_names_the_controls_not_in_force() -> None:
    snap = controls.snapshot(DETECTORS)
    missing = names(controls.not_in_force_anywhere(snap, frozenset()))
    assert ("cross_tenant", "trusted tenants") in missing
    assert ("access_burst.compare_team", "trusted team") in missing
    assert ("cumulative_access.shift_rule", "trusted type") in missing
    assert ("orphan_access.exempt_actor_types", "trusted type") in missing
    tenants_only = names(controls.not_in_force_anywhere(snap, {"tenants"}))
    assert "cross_tenant" not in {control for control, _ in tenants_only}
    assert controls.not_in_force_anywhere(snap, ALL) == []


def test_a_tenant_override_or_allowlist_that_needs_a_source_is_named() -> None:
    snap = orjson.loads(orjson.dumps(controls.snapshot(DETECTORS)))
    bulk = snap["detectors"]["bulk_export"]
    bulk["tenant_allowlists"] = {"acme": {"teams": ["t-reporting"]}}
    missing = names(controls.not_in_force_anywhere(snap, {"tenants", "type"}))
    assert ("bulk_export.allowlist.teams", "trusted team") in missing


def test_the_worker_warns_at_start_naming_the_controls_and_health_lists_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    health = Health()
    status = TrustStatus(DETECTORS, health)
    with caplog.at_level(logging.WARNING, logger="blindar.worker"):
        status.update(frozenset())
    [line] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "controls NOT in force" in line.getMessage()
    assert "cross_tenant (needs trusted tenants" in line.getMessage()
    report = health.report()
    assert report["status"] == "ok"  # not degraded: ready, it runs with less
    assert ("cross_tenant", "trusted tenants") in names(report["controls_not_in_force"])
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="blindar.worker"):
        status.update(frozenset())  # unchanged: not logged again
        assert caplog.records == []
        status.update(ALL)  # an assignments file arrived
    assert health.report()["controls_not_in_force"] == []
    assert "every control is in force" in caplog.records[-1].getMessage()


def test_the_ledger_snapshot_records_what_was_trusted() -> None:
    snap = controls.snapshot(DETECTORS)
    text = controls.encoded(snap).decode()
    ledger = Ledger("p:", controls.config_hash(snap), text, str)
    ledger.use_trusted(frozenset())
    untrusted = ledger.config
    assert orjson.loads(ledger.snapshot_text)["trusted"] == []
    ledger.wrote()
    ledger.use_trusted(frozenset())
    assert ledger.config == untrusted  # unchanged
    ledger.use_trusted(ALL)
    assert ledger.config != untrusted and ledger.snapshot(1_780_000_000_000) is not None


PERIOD = Period(date(2026, 11, 29), date(2026, 11, 29))


def report_for(snap: dict) -> dict:
    days = PERIOD.lookback + PERIOD.days
    tenant = {d: TenantDay({}, {}) for d in days}
    config = controls.config_hash(snap)
    tenant[PERIOD.days[0]].counters.update({"ev|voice": 10, f"cfg|{config}": 10})
    others = {d: TenantDay({}, {}) for d in days}
    view = LedgerView(tenant, others, {d: TenantDay({}, {}) for d in PERIOD.days})
    view.snapshots = {config: snap}
    pseudonym = Pseudonymizer(b"k" * 32)
    return build_report("acme", PERIOD, view, 0, pseudonym, snap, config, 400)


def test_the_report_shows_the_controls_not_in_force() -> None:
    data = report_for(controls.snapshot(DETECTORS, frozenset()))
    [version] = data["controls"]["config_versions"]
    shown = names(version["controls"]["not_in_force"])
    assert ("cross_tenant", "trusted tenants") in shown
    html = render_html(data)
    assert "Controls NOT in force" in html and "cross_tenant" in html
    trusted = report_for(controls.snapshot(DETECTORS, ALL))
    [version] = trusted["controls"]["config_versions"]
    assert version["controls"]["not_in_force"] == []
    assert "Every control was in force" in render_html(trusted)


def test_replay_says_what_it_trusted() -> None:
    base = ReplayOptions(redis_url="redis://x", redis_db=15)
    assert "no trusted source" in trust_text(base)
    assert "not trusted (--trust-events" in trust_text(base)
    file = Assignments(load_assignments_text("actors:\n  a: {tenants: [acme]}\n"), "a.yaml")
    assert "assignments file a.yaml (1 actors)" in trust_text(
        ReplayOptions("r", 15, assignments=file)
    )
    assert "--trust-events" in trust_text(ReplayOptions("r", 15, trust_events=True))

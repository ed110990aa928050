"""Trusted assignments: loading the WFM export (YAML or CSV), live reload, and what the
decoded Event carries on trusted and untrusted channels."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from monitor.service.assignments import (
    Assignment,
    Assignments,
    AssignmentWatcher,
    Trust,
    load_assignments,
)
from monitor.service.config import ConfigError
from monitor.service.events import decode_message

NOW = 1_800_000_000_000
FILE = Assignments({"agent-1": Assignment(("acme",), "t-ops")})


def message(**actor: object) -> bytes:
    return orjson.dumps(
        {
            "event_id": "e",
            "ts": NOW,
            "tenant": "acme",
            "action": "record.view",
            "actor": {"id": "agent-1", **actor},
            "resource": {"id": "r", "tenant": "globex"},
        }
    )


def decode(raw: bytes, trust: Trust | None):  # type: ignore[no-untyped-def]
    [event], _ = decode_message(raw, "chat", NOW, trust=trust)
    return event


def test_untrusted_channel_ignores_what_the_event_claims() -> None:
    claim = message(id="agent-9", tenants=["acme", "globex"], team="t-ops")
    event = decode(claim, Trust(FILE, "chat"))
    assert event.actor_tenants == () and event.assignment_source is None
    assert event.trusted_team is None and event.actor_team == "t-ops"  # peer group only
    typed = decode(message(id="agent-9", type="supervisor"), Trust(FILE, "chat"))
    assert typed.trusted_type is None  # a claimed supervisor exempts nobody


def test_the_file_decides_for_the_actors_it_lists() -> None:
    event = decode(message(tenants=["globex"], team="t-sales"), Trust(FILE, "chat"))
    assert event.actor_tenants == ("acme",) and event.assignment_source == "assignments_file"
    assert event.trusted_team == event.actor_team == "t-ops"


def test_a_trusted_channel_s_own_values_count() -> None:
    trust = Trust(Assignments(), "iam", tenants_from_event=True, team_from_event=True)
    event = decode(message(tenants=["globex"], team="t-sales"), trust)
    assert event.actor_tenants == ("globex",) and event.assignment_source == "channel:iam"
    assert event.trusted_team == "t-sales"
    assert event.trusted_type is None  # the channel is not trusted for the type
    typed = Trust(Assignments(), "iam", type_from_event=True)
    assert decode(message(type="supervisor"), typed).trusted_type == "supervisor"
    assert decode(message(), typed).trusted_type == "agent"


def test_the_file_s_type_is_trusted_whatever_the_event_says() -> None:
    supervisors = Assignments({"agent-1": Assignment(("acme",), "t-qa", "supervisor")})
    event = decode(message(type="agent"), Trust(supervisors, "chat"))
    assert event.trusted_type == event.actor_type == "supervisor"
    assert decode(message(type="supervisor"), Trust(FILE, "chat")).trusted_type is None


def test_without_trust_the_event_s_own_values_count() -> None:
    """Replay (an operator's own file) decodes without trust: its teams allowlist too."""
    event = decode(message(tenants=["globex"], team="t-sales"), None)
    assert event.actor_tenants == ("globex",) and event.assignment_source is None
    assert event.trusted_team == event.actor_team == "t-sales"
    assert decode(message(type="supervisor"), None).trusted_type == "supervisor"


def test_yaml_and_csv_exports(tmp_path: Path) -> None:
    yaml_file = tmp_path / "a.yaml"
    yaml_file.write_text("actors:\n  agent-1: {tenants: [acme, globex], team: t-1}\n")
    csv_file = tmp_path / "a.csv"
    csv_file.write_text(
        "actor,tenants,team,type\nagent-1,acme;globex,t-1,supervisor\nagent-2,acme,,\n"
    )
    assert load_assignments(yaml_file).get("agent-1") == Assignment(("acme", "globex"), "t-1")
    loaded = load_assignments(csv_file)
    assert loaded.get("agent-1") == Assignment(("acme", "globex"), "t-1", "supervisor")
    assert loaded.get("agent-2") == Assignment(("acme",), None)


@pytest.mark.parametrize(
    "text",
    [
        "actors: [a]\n",
        "actors:\n  a: {tenants: x, role: y}\n",
        'actors:\n  "a\\u001b": {}\n',
        "actors:\n  a: {tenants: [acme], type: boss}\n",
    ],
)
def test_bad_files_are_config_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        load_assignments(path)


def test_watcher_reloads_a_changed_file_and_keeps_the_old_one_on_error(tmp_path: Path) -> None:
    path = tmp_path / "assignments.yaml"
    path.write_text("actors:\n  agent-1: {tenants: [acme]}\n")
    watcher = AssignmentWatcher(path, load_assignments(path))
    assert watcher.poll() is None
    path.write_text("actors:\n  agent-1: {tenants: [acme, globex]}\n")
    os.utime(path, ns=(1, 2))
    reloaded = watcher.poll()
    assert reloaded is not None and reloaded.get("agent-1") == Assignment(("acme", "globex"))
    path.write_text("actors: {{{\n")
    os.utime(path, ns=(3, 4))
    assert watcher.poll() is None and watcher.assignments is reloaded


def test_a_hostile_claim_is_rejected_even_when_the_file_would_replace_it() -> None:
    [], [rejection] = decode_message(message(team="t\x1b[2J"), "chat", NOW, trust=Trust(FILE))
    assert rejection.reason == "bad_value" and rejection.detail.startswith("actor.team:")

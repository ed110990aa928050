"""Config files load, and errors point at the exact key with the reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.service.channels import load_channels
from monitor.service.config import REPLACED, ConfigError, load_detectors
from monitor.service.settings import DEFAULT_CONFIG_DIR, Settings, SettingsError


def test_shipped_config_is_valid() -> None:
    registry = load_channels(DEFAULT_CONFIG_DIR / "channels.yaml")
    assert registry.names() == ["voice", "chat", "email", "sms", "social", "ivr", "backoffice"]
    assert {c.topic for c in registry.channels} == {f"interactions.{n}" for n in registry.names()}
    detectors = load_detectors(DEFAULT_CONFIG_DIR / "detectors.yaml")
    assert detectors.configs["bulk_export"].default.threshold_records == 500
    assert detectors.configs["enumeration"].default.threshold_distinct == 300
    assert detectors.suppression_minutes == 30


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("detectors:\n  bulk_exprot: {}\n", "detectors.bulk_exprot: unknown detector"),
        (
            "detectors:\n  bulk_export:\n    window_minutes: -5\n",
            "detectors.bulk_export.window_minutes: must be a positive integer",
        ),
        (
            "detectors:\n  bulk_export:\n    threshhold: 5\n",
            "detectors.bulk_export.threshhold: unknown key",
        ),
        (
            "detectors:\n  enumeration:\n    actions: record.view\n",
            "detectors.enumeration.actions: must be a list of strings",
        ),
        ("alerts:\n  suppression_minutes: 0\n", "alerts.suppression_minutes: must be a positive"),
        ("detectors: [\n", "not valid YAML at line"),
    ],
)
def test_detector_config_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "detectors.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"detectors\.yaml: ") as err:
        load_detectors(path)
    assert message in str(err.value)


def test_disabled_detector_is_not_built(tmp_path: Path) -> None:
    path = tmp_path / "detectors.yaml"
    path.write_text("detectors:\n  bulk_export: {enabled: false}\n  enumeration: {}\n")
    assert [d.name for d in load_detectors(path).build()] == ["enumeration"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "channels:\n  crm:\n    mapping: {actor.idd: user}\n",
            "channels.crm.mapping.actor.idd: unknown contract field 'actor.idd'",
        ),
        ("channels:\n  crm:\n    partitions: 0\n", "channels.crm.partitions: must be a positive"),
        ("channels: {}\n", "channels: must be a non-empty mapping"),
        ("channels:\n  bad name: {}\n", "channels.bad name: name must be"),
    ],
)
def test_channel_config_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "channels.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_channels(path)
    assert message in str(err.value)


def test_production_mode_needs_a_pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLINDAR_ENV", "production")
    monkeypatch.delenv("BLINDAR_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("BLINDAR_PSEUDONYM_KEY_FILE", raising=False)
    with pytest.raises(SettingsError, match="must be set in production"):
        Settings.from_env()
    monkeypatch.setenv("BLINDAR_PSEUDONYM_KEY", "k" * 32)
    assert Settings.from_env().pseudonym_key == b"k" * 32


def test_settings_from_env_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAFKA_BOOTSTRAP", "REDIS_URL", "BLINDAR_WEB_PORT", "BLINDAR_WEB_HOST"):
        monkeypatch.delenv(name, raising=False)
    s = Settings.from_env()
    assert (s.kafka_bootstrap, s.redis_url) == ("127.0.0.1:9092", "redis://127.0.0.1:6379/0")
    assert (s.web_host, s.web_port) == ("127.0.0.1", 6066)
    monkeypatch.setenv("BLINDAR_WEB_PORT", "eighty")
    with pytest.raises(SettingsError, match="BLINDAR_WEB_PORT"):
        Settings.from_env()


def test_tenant_overrides_and_allowlists(tmp_path: Path) -> None:
    path = tmp_path / "detectors.yaml"
    path.write_text(
        "detectors:\n"
        "  bulk_export:\n"
        "    threshold_records: 500\n"
        "    allowlist: {actors: [svc-report], actor_patterns: ['^bot-'], teams: [t-ops]}\n"
        "    tenants:\n"
        "      acme: {threshold_records: 900, allowlist: {actors: [agent-1]}}\n"
    )
    tuning = load_detectors(path).configs["bulk_export"]
    assert tuning.for_tenant("acme").threshold_records == 900
    assert tuning.for_tenant("acme").window_minutes == 15  # inherited default
    assert tuning.for_tenant("other").threshold_records == 500
    assert tuning.allowlist_for("acme").allows_actor("agent-1", None)
    assert not tuning.allowlist_for("other").allows_actor("agent-1", None)
    assert tuning.allowlist_for("other").allows_actor("bot-7", None)
    assert tuning.allowlist_for("other").allows_actor("agent-9", "t-ops")
    assert not tuning.allowlist_for("other").allows_actor("agent-9", "t-sales")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "detectors:\n  bulk_export:\n    allowlist: {actor_patterns: ['(']}\n",
            "detectors.bulk_export.allowlist.actor_patterns[0]: bad regex",
        ),
        (
            "detectors:\n  bulk_export:\n    allowlist: {people: [a]}\n",
            "detectors.bulk_export.allowlist.people: unknown key",
        ),
        (
            "detectors:\n  bulk_export:\n    tenants: {acme: {window_minutes: -1}}\n",
            "detectors.bulk_export.tenants.acme.window_minutes: must be a positive integer",
        ),
    ],
)
def test_tuning_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "detectors.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_detectors(path)
    assert message in str(err.value)


def test_every_problem_is_reported_at_once_with_file_key_and_allowed_values(
    tmp_path: Path,
) -> None:
    path = tmp_path / "detectors.yaml"
    path.write_text(
        "alerts: {suppression_minutes: 5, sound: on}\n"
        "state: {late_minutes: 180}\n"
        "detectors:\n"
        "  bulk_export: {lateness_minutes: 60, window_minutes: 0}\n"
        "  enumeration: {tenants: {acme: {actions: view}}}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_detectors(path)
    assert err.value.problems == [
        "detectors.yaml: alerts.sound: unknown key (allowed: suppression_minutes)",
        "detectors.yaml: detectors.bulk_export.window_minutes: must be a positive integer, got 0",
        f"detectors.yaml: detectors.bulk_export.lateness_minutes: {REPLACED}",
        "detectors.yaml: detectors.enumeration.tenants.acme.actions: must be a list of strings",
        f"detectors.yaml: state.late_minutes: {REPLACED}",
    ]


def test_channel_problems_name_the_allowed_values(tmp_path: Path) -> None:
    path = tmp_path / "channels.yaml"
    path.write_text(
        "channels:\n"
        "  crm: {trusted: [boss], colour: red}\n"
        "  chat: {quiet_hours: [{days: [someday], from: '22:00', to: '06:00'}]}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_channels(path)
    assert err.value.problems == [
        "channels.yaml: channels.crm.trusted: must be a list of tenants, team, type",
        "channels.yaml: channels.crm.colour: unknown key (allowed: mapping, partitions, "
        "quiet_hours, silence_minutes, topic, trusted)",
        "channels.yaml: channels.chat.quiet_hours[0].days: must be a list of mon, tue, wed, "
        "thu, fri, sat, sun",
    ]


def test_config_check_lists_the_problems_or_says_ok(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(DEFAULT_CONFIG_DIR, tmp_path / "config")
    monkeypatch.setenv("BLINDAR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("BLINDAR_TENANTS_FILE", raising=False)
    monkeypatch.delenv("BLINDAR_ASSIGNMENTS_FILE", raising=False)
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert "channels.yaml + channels.d: ok (7 channels)" in out
    assert "tenants.yaml: ok (8 tenants)" in out
    detectors = tmp_path / "config" / "detectors.yaml"
    detectors.write_text(detectors.read_text().replace("window_minutes: 15", "window_minutes: x"))
    (tmp_path / "config" / "channels.yaml").write_text("channels: {voice: {partitions: 0}}\n")
    assert main(["config", "check"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[1:] == [
        "  channels.yaml: channels.voice.partitions: must be a positive integer, got 0",
        "  detectors.yaml: detectors.bulk_export.window_minutes: must be a positive integer, "
        "got 'x'",
    ]


def test_every_invalid_variable_is_named_with_what_it_must_be(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BLINDAR_WEB_PORT", "eighty")
    monkeypatch.setenv("BLINDAR_REDIS_CLUSTER", "maybe")
    monkeypatch.setenv("BLINDAR_LEDGER_MAX_ALERTS", "0")
    with pytest.raises(SettingsError) as err:
        Settings.from_env()
    assert str(err.value).splitlines() == [
        "BLINDAR_REDIS_CLUSTER: expected one of auto, yes, no, got 'maybe'",
        "BLINDAR_WEB_PORT: expected an integer, got 'eighty'",
        "BLINDAR_LEDGER_MAX_ALERTS: must be a positive integer, got 0",
    ]

"""Config files load, and errors point at the exact key with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.channels import load_channels
from monitor.config import ConfigError, load_detectors
from monitor.settings import DEFAULT_CONFIG_DIR, Settings, SettingsError


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

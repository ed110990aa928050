"""The tenant registry: loaded from tenants.yaml, refused when malformed, enforced while
decoding (unknown_tenant), and shipped with the simulator's tenants."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from monitor.service.config import ConfigError
from monitor.service.events import REASONS, decode_message
from monitor.service.settings import DEFAULT_CONFIG_DIR, Settings
from monitor.service.tenants import load_tenants, registry_line
from simulator.model import TENANT_CATALOG

NOW = 1_780_000_000_000


def event(tenant: str, record_tenant: str | None = None) -> dict:
    doc = {"event_id": "e1", "ts": NOW, "tenant": tenant, "action": "record.view",
           "actor": {"id": "a-1"}, "resource": {"id": "r-1"}}  # fmt: skip
    if record_tenant is not None:
        doc["resource"]["tenant"] = record_tenant
    return doc


def test_the_shipped_registry_holds_every_simulator_tenant() -> None:
    tenants = load_tenants(DEFAULT_CONFIG_DIR / "tenants.yaml")
    assert tenants == {name for name, _ in TENANT_CATALOG}


@pytest.mark.parametrize(
    "text",
    ["tenants: []\n", "tenants: acme\n", "tenants: [acme, 7]\n", "tenant: [acme]\n",
     'tenants: ["a\\u0000b"]\n', f"tenants: [{'x' * 129}]\n"],
)  # fmt: skip
def test_a_malformed_registry_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "tenants.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"tenants\.yaml"):
        load_tenants(path)


def test_the_registry_file_comes_from_the_config_dir_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLINDAR_CONFIG_DIR", str(tmp_path))
    monkeypatch.delenv("BLINDAR_TENANTS_FILE", raising=False)
    assert Settings.from_env().tenants_file is None  # no file: not configured
    (tmp_path / "tenants.yaml").write_text("tenants: [acme]\n")
    assert Settings.from_env().tenants_file == tmp_path / "tenants.yaml"
    monkeypatch.setenv("BLINDAR_TENANTS_FILE", "")
    assert Settings.from_env().tenants_file is None  # said so: not configured
    monkeypatch.setenv("BLINDAR_TENANTS_FILE", str(tmp_path / "other.yaml"))
    assert Settings.from_env().tenants_file == tmp_path / "other.yaml"
    assert load_tenants(None) is None
    assert "NOT in force" in registry_line(None, None)
    assert "acme" not in registry_line(frozenset({"acme"}), tmp_path / "tenants.yaml")


def test_an_event_naming_an_unregistered_tenant_is_rejected() -> None:
    registered = frozenset({"acme"})
    raw = orjson.dumps([event("acme"), event("evil"), event("acme", "evil"), event("acme", "acme")])
    events, rejections = decode_message(raw, "voice", NOW, tenants=registered)
    assert [e.event_id for e in events] == ["e1", "e1"]
    assert [(r.index, r.reason, r.tenant) for r in rejections] == [
        (1, "unknown_tenant", None),
        (2, "unknown_tenant", "acme"),
    ]
    assert "unknown_tenant" in REASONS
    assert all("evil" not in r.detail for r in rejections)
    # no registry: every tenant accepted, as before
    events, rejections = decode_message(raw, "voice", NOW)
    assert len(events) == 4 and rejections == []

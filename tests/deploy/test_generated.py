"""The files generated from the detector folders are current: `make generate` writes
them, and a change to a folder (a setting, its meaning, a docstring, a rule) that was not
regenerated fails here."""

from __future__ import annotations

import importlib.util

import pytest

from detectors.catalog import CATALOG
from detectors.tuning import params
from monitor.service.config import load_detectors
from monitor.service.settings import REPO_ROOT

spec = importlib.util.spec_from_file_location("generate", REPO_ROOT / "deploy" / "generate.py")
assert spec and spec.loader
generate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(generate)
OUTPUTS = generate.outputs()


@pytest.mark.parametrize("path", sorted(OUTPUTS), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_generated_file_is_current(path) -> None:  # type: ignore[no-untyped-def]
    assert path.read_text() == OUTPUTS[path], f"{path.name} is stale: run `make generate`"


def test_shipped_config_holds_every_default_of_every_detector() -> None:
    settings = load_detectors(REPO_ROOT / "deploy" / "config" / "detectors.yaml")
    assert list(settings.configs) == list(CATALOG)
    for name, entry in CATALOG.items():
        assert settings.configs[name].default == entry.config(), name


@pytest.mark.parametrize("name", list(CATALOG))
def test_every_setting_and_rule_says_what_it_means(name: str) -> None:
    entry = CATALOG[name]
    assert all(doc for _, _, doc in params(entry.config)), f"{name}: a setting without a doc"
    assert entry.rules and all(entry.rules.values()), f"{name}: no rules, or one unexplained"
    docs = (REPO_ROOT / "docs" / "detectors.md").read_text()
    assert f"\n## {name}\n" in docs

"""Writes what is generated from the detector folders: the shipped detector defaults
(deploy/config/detectors.yaml), the Kubernetes ConfigMaps carrying deploy/config/*.yaml
verbatim (deploy/k8s/config.yaml) and docs/detectors.md.

Run by `make generate`; tests/deploy/test_generated.py fails when a committed file differs
from what this writes. Hand-written prose lives in deploy/templates/, the rest in
detectors/<name>/ (docstring, config.py with each setting's default and meaning, RULES).
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from detectors.catalog import CATALOG, Entry  # noqa: E402
from detectors.tuning import params  # noqa: E402

DEPLOY = ROOT / "deploy"
TEMPLATES = DEPLOY / "templates"
WIDTH = 92  # comment and list wrapping in detectors.yaml
K8S_HEADER = """\
# Channel registry and detector settings: generated from deploy/config/*.yaml by
# `make generate` (a test checks they match). Edit deploy/config, regenerate,
# `kubectl apply`, then restart the workers to load them.
"""
ALLOWLIST = {"actors": [], "teams": [], "actor_patterns": []}


# ---------------------------------------------------------------- detectors.yaml


class Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper: sets as sorted lists, multi-line text as literal blocks."""


def _set(dumper: yaml.SafeDumper, value: frozenset[Any] | set[Any]) -> yaml.Node:
    return dumper.represent_list(sorted(value))


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(frozenset, _set)
Dumper.add_representer(set, _set)
Dumper.add_representer(str, _text)
Dumper.add_representer(tuple, lambda dumper, value: dumper.represent_list(list(value)))


def dump(doc: Any, width: int = WIDTH, flow: bool | None = None) -> str:
    """YAML by PyYAML (`flow`: inline collections; None: block, leaf collections inline)."""
    text = yaml.dump(
        doc, Dumper=Dumper, default_flow_style=flow, sort_keys=False, width=width, indent=2
    )
    return text.removesuffix("...\n")  # a lone scalar's end-of-document mark


def setting(key: str, value: Any, indent: str) -> str:
    """`key: value` at `indent`, inline; a long list wrapped under its opening bracket."""
    lead = f"{indent}{key}: "
    # PyYAML breaks a flow list once a line is past `width`: leave room for one item
    lines = dump(value, WIDTH - len(lead) - 16, flow=True).splitlines()
    pad = " " * (len(lead) + 1)
    return lead + "".join([lines[0], *(f"\n{pad}{line.strip()}" for line in lines[1:])]) + "\n"


def comment(text: str, indent: str) -> str:
    lines = textwrap.wrap(text, WIDTH - len(indent) - 2, break_on_hyphens=False)
    return "".join(f"{indent}# {line}\n" for line in lines)


def yaml_section(name: str, entry: Entry) -> str:
    """One detector's section: every setting with its meaning, allowlist and tenants."""
    config_module = importlib.import_module(entry.config.__module__)
    shipped = dict(getattr(config_module, "SHIPPED", {}))  # shipped besides the defaults
    out = [f"  {name}:\n", "    enabled: true\n"]
    for key, default, doc in params(entry.config):
        if doc:
            out.append(comment(doc[0].upper() + doc[1:] + ".", "    "))
        out.append(setting(key, shipped.pop(key, default), "    "))
    allowlist = {**ALLOWLIST, **shipped.pop("allowlist", {})}
    out.append(setting("allowlist", allowlist, "    "))
    tenants = shipped.pop("tenants", {})
    if tenants:
        out.append("    tenants:\n")
        out += [setting(str(t), overrides, "      ") for t, overrides in tenants.items()]
    else:
        out.append("    tenants: {}\n")
    if shipped:
        raise ValueError(f"detectors/{name}: SHIPPED names unknown settings {sorted(shipped)}")
    return "".join(out)


def detectors_yaml() -> str:
    sections = "\n".join(yaml_section(name, entry) for name, entry in CATALOG.items())
    template = (TEMPLATES / "detectors.yaml.in").read_text()
    return template.replace("{{detectors}}\n", sections).replace("{{detectors}}", sections)


# ---------------------------------------------------------------- k8s ConfigMaps


def config_map(name: str, file: str, body: str) -> str:
    return dump(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "blindar"},
            "data": {file: body},
        },
        flow=False,
    )


def k8s_config(detectors: str) -> str:
    maps = [
        config_map(
            "blindar-channels", "channels.yaml", (DEPLOY / "config" / "channels.yaml").read_text()
        ),
        config_map("blindar-detectors", "detectors.yaml", detectors),
        config_map(
            "blindar-canary", "canary.yaml", (DEPLOY / "config" / "canary.yaml").read_text()
        ),
    ]
    return K8S_HEADER + "---\n".join(maps)


# ---------------------------------------------------------------- docs/detectors.md


def markdown_value(value: Any) -> str:
    if isinstance(value, frozenset | set | list | tuple):
        items = sorted(value) if isinstance(value, frozenset | set) else list(value)
        return ", ".join(str(v) for v in items) if items else "[]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return '""' if value == "" else str(value)


def docstring(entry: Entry) -> tuple[str, str]:
    """(summary, body) of the detector module's docstring (its first line names it)."""
    doc = importlib.import_module(entry.detector.__module__).__doc__ or ""
    first, _, body = doc.strip().partition("\n")
    summary = first.split(":", 1)[1].strip() if ":" in first else first
    return summary[0].upper() + summary[1:], body.strip()


def markdown_section(name: str, entry: Entry) -> str:
    summary, body = docstring(entry)
    rows = [
        f"| `{key}` | {markdown_value(default)} | {doc} |"
        for key, default, doc in params(entry.config)
    ]
    rules = [f"- `{rule}`: {meaning}" for rule, meaning in entry.rules.items()]
    scenarios = [s for s, detector in scenario_detectors().items() if detector == name]
    parts = [
        f"## {name}",
        f"**{summary}**",
        body,
        "| parameter | default | meaning |\n|---|---|---|\n" + "\n".join(rows),
        "Rules (`rule` in the alert's evidence):\n\n" + "\n".join(rules),
        f"Runbook: [{entry.folder}/runbook.md](../{entry.folder}/runbook.md)."
        + (f" Scenarios: {', '.join(f'`{s}`' for s in scenarios)}." if scenarios else ""),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"


def scenario_detectors() -> dict[str, str]:
    """Scenario name -> the detector it is labelled for (from the folders' scenario.py)."""
    from detectors.scenarios import SCENARIO_DETECTORS, SILENCE_DETECTORS

    return {**SCENARIO_DETECTORS, **SILENCE_DETECTORS}


def detectors_md() -> str:
    sections = "\n".join(markdown_section(name, entry) for name, entry in CATALOG.items())
    return (TEMPLATES / "detectors.md.in").read_text().replace("{{detectors}}\n", sections)


# ---------------------------------------------------------------- all of it


def outputs() -> dict[Path, str]:
    """Every generated file and what it must hold."""
    detectors = detectors_yaml()
    return {
        DEPLOY / "config" / "detectors.yaml": detectors,
        DEPLOY / "k8s" / "config.yaml": k8s_config(detectors),
        ROOT / "docs" / "detectors.md": detectors_md(),
    }


if __name__ == "__main__":
    for path, text in outputs().items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            sys.stdout.write(f"wrote {path.relative_to(ROOT)}\n")

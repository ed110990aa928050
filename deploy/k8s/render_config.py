"""Writes deploy/k8s/config.yaml: ConfigMaps carrying deploy/config/*.yaml verbatim.

Run by `make k8s-config`; a test checks the committed file is current.
"""

from __future__ import annotations

import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent.parent
HEADER = """\
# Channel registry and detector settings: generated from deploy/config/*.yaml by
# `make k8s-config` (a test checks they match). Edit deploy/config, regenerate,
# `kubectl apply`, then restart the workers to load them.
"""


def config_map(name: str, file: str) -> str:
    body = (DEPLOY / "config" / file).read_text()
    indented = "".join(f"    {line}" if line.strip() else "\n" for line in body.splitlines(True))
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: blindar\n"
        f"data:\n  {file}: |\n{indented}"
    )


def render() -> str:
    maps = [
        config_map("blindar-channels", "channels.yaml"),
        config_map("blindar-detectors", "detectors.yaml"),
    ]
    return HEADER + "---\n".join(maps)


if __name__ == "__main__":
    target = DEPLOY / "k8s" / "config.yaml"
    target.write_text(render())
    sys.stdout.write(f"wrote {target.relative_to(DEPLOY.parent)}\n")

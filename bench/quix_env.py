"""The Quix Streams peer's own virtualenv under .cache/ (Quix Streams pins confluent-kafka
below 2.13, blindar 2.16.1): created and filled on first use by the benchmark itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from monitor.service.settings import REPO_ROOT

QUIXSTREAMS = "quixstreams==3.28.1"
VENV = REPO_ROOT / ".cache" / "quix-venv"
MARKER = VENV / ".installed"


def quix_python() -> Path:
    """The virtualenv's interpreter, installing Quix Streams first when it is missing."""
    python = VENV / "bin" / "python"
    if MARKER.exists() and MARKER.read_text().strip() == QUIXSTREAMS:
        return python
    print(f"  installing {QUIXSTREAMS} into {VENV.relative_to(REPO_ROOT)} (once)", flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", QUIXSTREAMS],
        check=True,
    )
    MARKER.write_text(QUIXSTREAMS + "\n")
    return python

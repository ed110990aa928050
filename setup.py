"""Build hook: a detector's tests live in its folder (detectors/<name>/test_<name>.py) and
stay out of the installed package. Everything else is in pyproject.toml.

BLINDAR_MYPYC=1 also compiles the detection modules (COMPILED) with mypyc, which needs mypy
(not in the lock files) and a C compiler; the pure-Python modules stay the default. In place,
for the in-process profile: `BLINDAR_MYPYC=1 python setup.py build_ext --inplace`
(`git clean -fX detectors` removes the built .so files).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_py import build_py

# Compiled with BLINDAR_MYPYC=1: every module under detectors/ but the tests, the scenarios
# (simulated traffic, never on the worker's path) and the detectors' settings (config.py:
# dataclasses that pydantic models and dataclasses.fields read, and that inherit mixins),
# and the detection stage's own per-event code in monitor/service.
SKIPPED = ("test_", "scenario", "config.py")
MONITOR = ["monitor/service/detection.py", "monitor/service/ledger.py"]


class BuildWithoutTests(build_py):
    """build_py leaving out test modules (test_*.py) found in the packages."""

    def find_package_modules(self, package: str, package_dir: str) -> list[tuple[str, str, str]]:
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if not m[1].startswith("test_")]


def compiled() -> list[str]:
    """The modules mypyc compiles: none unless BLINDAR_MYPYC=1."""
    if os.environ.get("BLINDAR_MYPYC") != "1":
        return []
    root = Path(__file__).parent
    paths = sorted(root.glob("detectors/**/*.py"))
    detectors = [str(p.relative_to(root)) for p in paths if not p.name.startswith(SKIPPED)]
    return [*detectors, *MONITOR]


def extensions() -> dict[str, Any]:
    modules = compiled()
    if not modules:
        return {}
    from mypyc.build import mypycify

    # the modules they import are type-checked only as far as the compiled ones use them
    return {"ext_modules": mypycify(["--follow-imports=silent", *modules], opt_level="3")}


setup(cmdclass={"build_py": BuildWithoutTests}, **extensions())

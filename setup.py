"""Build hook: a detector's tests live in its folder (detectors/<name>/test_<name>.py) and
stay out of the installed package. Everything else is in pyproject.toml."""

from __future__ import annotations

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithoutTests(build_py):
    """build_py leaving out test modules (test_*.py) found in the packages."""

    def find_package_modules(self, package: str, package_dir: str) -> list[tuple[str, str, str]]:
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if not m[1].startswith("test_")]


setup(cmdclass={"build_py": BuildWithoutTests})

"""Every package the code imports is declared in pyproject.toml (runtime code: in
`dependencies`; tests, benchmarks and deploy scripts: there or in the `dev` extra), and
the lock file pins exactly what pyproject.toml declares."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from monitor.service.settings import REPO_ROOT

RUNTIME = ("monitor", "detectors", "simulator")
TOOLING = ("tests", "bench", "deploy", "examples")
# a detector folder's test modules are tooling: the package build leaves them out (setup.py)
TEST_MODULE = "test_*.py"
OWN = {"monitor", "detectors", "simulator", "tests", "bench"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(group: str | None) -> set[str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return {canonical(re.split(r"[\[=<>!~ ;]", spec, maxsplit=1)[0]) for spec in specs}


def sources(folders: tuple[str, ...], runtime: bool) -> list[Path]:
    """The Python files of `folders`: runtime code without test modules, or tooling with
    the detector folders' test modules."""
    paths = [path for folder in folders for path in (REPO_ROOT / folder).rglob("*.py")]
    if runtime:
        return [path for path in paths if not path.match(TEST_MODULE)]
    return paths + sorted((REPO_ROOT / "detectors").rglob(TEST_MODULE))


def imported(folders: tuple[str, ...]) -> dict[str, str]:
    """Top-level third-party modules imported anywhere under `folders`, with one file each."""
    found: dict[str, str] = {}
    for path in sources(folders, folders == RUNTIME):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in OWN:
                    found.setdefault(top, str(path.relative_to(REPO_ROOT)))
    return found


def undeclared(folders: tuple[str, ...], allowed: set[str]) -> list[str]:
    owners = packages_distributions()
    missing = []
    for module, where in sorted(imported(folders).items()):
        dists = {canonical(d) for d in owners.get(module, [module])}
        if not dists & allowed:
            missing.append(f"{module} ({where}) from {sorted(dists)}")
    return missing


def test_runtime_code_imports_only_declared_dependencies() -> None:
    assert undeclared(RUNTIME, declared(None)) == []


def own_venvs() -> set[str]:
    """Packages the benchmark installs into a virtualenv of their own, pinned exactly where
    it is made (Quix Streams needs an older confluent-kafka than blindar)."""
    from bench.quix_env import QUIXSTREAMS

    name, pin, version = QUIXSTREAMS.partition("==")
    assert pin and version, "the peer's virtualenv pins an exact version"
    return {canonical(name)}


def test_tools_and_tests_import_only_declared_packages() -> None:
    assert undeclared(TOOLING, declared(None) | declared("dev") | own_venvs()) == []


def pins(name: str) -> dict[str, str]:
    """A lock file's pinned versions; every pin carries sha256 hashes."""
    text = (REPO_ROOT / name).read_text()
    found = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9_.\-]+)==(\S+)", block)
        if match:
            assert "--hash=sha256:" in block, f"{name}: {match.group(0)} has no hash"
            found[canonical(match.group(1))] = match.group(2)
    return found


def test_lock_files_pin_every_declared_dependency_with_hashes() -> None:
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert declared(None) <= set(runtime)
    assert declared(None) | declared("dev") <= set(dev)
    assert runtime.items() <= dev.items(), "the test tools' lock holds the runtime versions"


def test_installs_use_the_lock_files() -> None:
    script = (REPO_ROOT / "deploy" / "local" / "python.sh").read_text()
    assert "requirements-dev.lock" in script and "--require-hashes" in script
    dockerfile = (REPO_ROOT / "deploy" / "docker" / "Dockerfile").read_text()
    assert "-r requirements.lock" in dockerfile and "--require-hashes" in dockerfile

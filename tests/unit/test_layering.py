"""Layering, read from the code's own imports (ast; nothing is imported to find them).

From the bottom up: simulator/ (the contact-center simulator) imports no other layer;
detectors/ (pure detection logic, and each folder's scenario built on the simulator)
imports simulator/ but not monitor/; monitor/ uses both. Inside monitor/ the service room
(monitor/service/: the worker and what it needs) never imports the tools room
(monitor/tools/: the simulate CLI, replay, backtest, reports, the other commands), and
neither imports monitor/cli.py, the `blindar` command in front of both. No two
project modules import each other, directly or round a circle, at any level (imports in
functions and under TYPE_CHECKING count too).

And at run time: importing every module of detectors/ and simulator/ pulls in no Kafka,
Faust or Redis client and nothing of monitor/.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from monitor.service.settings import REPO_ROOT

PACKAGES = ("simulator", "detectors", "monitor", "bench", "deploy", "tests")
# (importer, imported): no module under the first may import one under the second.
UPWARD = (
    ("detectors", "monitor"),
    ("simulator", "monitor"),
    ("simulator", "detectors"),
    ("monitor.service", "monitor.tools"),
    ("monitor.service", "monitor.cli"),  # `blindar`, the command in front of both rooms
    ("monitor.tools", "monitor.cli"),
)
FORBIDDEN_AT_RUN_TIME = ("confluent_kafka", "faust", "aiokafka", "redis", "monitor")


@dataclass(frozen=True)
class Arrow:
    """One import of a project module by another, where the code says it."""

    importer: str
    imported: str
    path: Path
    line: int

    def __str__(self) -> str:
        where = self.path.relative_to(REPO_ROOT)
        return f"{where}:{self.line} ({self.importer}) imports {self.imported}"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    """Every Python module of the project's folders, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                found[module_name(path)] = path
    return found


def within(name: str, prefix: str) -> bool:
    """Whether module `name` is `prefix` or lies under it (whole dotted parts)."""
    return name == prefix or name.startswith(prefix + ".")


def resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The project module an import names: the longest dotted prefix that is one."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        name = ".".join(parts[:end])
        if name in modules:
            return name
    return None


def targets(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool) -> Iterator[str]:
    """The dotted names an import statement asks for (relative ones made absolute)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        anchor = importer.split(".")
        anchor = anchor if is_package else anchor[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    for alias in node.names:  # `from a import b`: b may be a module of a
        yield f"{base}.{alias.name}"


def arrows(modules: dict[str, Path]) -> list[Arrow]:
    """Every import of one project module by another (a package's own __init__ that an
    import passes through is not counted: only the module it names)."""
    found = []
    for importer, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in targets(node, importer, path.name == "__init__.py"):
                imported = resolve(target, modules)
                if imported is not None and imported != importer:
                    found.append(Arrow(importer, imported, path, node.lineno))
    return found


def circles(found: list[Arrow]) -> list[list[str]]:
    """The strongly connected groups of two or more modules (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for arrow in found:
        graph.setdefault(arrow.importer, set()).add(arrow.imported)
        graph.setdefault(arrow.imported, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_import_reader_sees_the_layers() -> None:
    """The reader finds imports of each kind (a check that checks nothing would pass)."""
    modules = project_modules()
    found = {(a.importer, a.imported) for a in arrows(modules)}
    assert "simulator.leaks" in modules and "detectors.scenarios" in modules
    assert ("detectors.bulk_export.scenario", "simulator.leaks") in found
    assert ("detectors.scenarios", "detectors.catalog") in found
    assert any(within(b, "detectors") for a, b in found if within(a, "monitor"))


def test_no_import_circle() -> None:
    found = arrows(project_modules())
    groups = circles(found)
    lines = []
    for group in groups:
        members = set(group)
        lines.append("circle: " + ", ".join(group))
        lines += [f"  {a}" for a in found if a.importer in members and a.imported in members]
    assert not groups, "modules import each other round a circle:\n" + "\n".join(lines)


def test_no_upward_arrow() -> None:
    """The detector folders' own tests (test_*.py, left out of the build) may use monitor/."""
    bad = sorted(
        {
            f"{arrow}: {low} may not import {high}"
            for arrow in arrows(project_modules())
            if not arrow.path.name.startswith("test_")
            for low, high in UPWARD
            if within(arrow.importer, low) and within(arrow.imported, high)
        }
    )
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def lower_layer_modules() -> list[str]:
    """The modules of detectors/ and simulator/, without the detector folders' tests."""
    return [
        name
        for name, path in project_modules().items()
        if within(name, "detectors") or within(name, "simulator")
        if not path.name.startswith("test_")
    ]


def test_lower_layers_import_no_service_client_and_no_monitor() -> None:
    modules = lower_layer_modules()
    assert "detectors.bulk_export.detector" in modules and "simulator.traffic" in modules
    probe = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN_AT_RUN_TIME!r})\n"
        "print(' '.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"detectors/ and simulator/ import: {out.stdout.strip()}"

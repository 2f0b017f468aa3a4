"""The layering of docs/ARCHITECTURE.md, read from the import statements of every module.

suite (the engine) imports neither gui nor any task; gui imports no task; a task imports no other task
and no gui; benchmarks use the engine (and the window) and reach tasks only through the registry, never a task's
internals.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers import REPO


def imports_of(path: Path) -> set[str]:
    """Every module a file imports (absolute names; relative imports resolved against its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                found.add(node.module)
    return found


def modules(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def offending(folder: str, allowed) -> list[str]:
    bad = []
    for path in modules(folder):
        for name in sorted(imports_of(path)):
            top = name.split(".")[0]
            if top in ("suite", "gui", "tasks") and not allowed(path, name):
                bad.append(f"{path.relative_to(REPO)} imports {name}")
    return bad


def test_the_engine_imports_no_gui_and_no_task():
    assert offending("suite", lambda path, name: name.split(".")[0] == "suite") == []


def test_the_window_imports_no_task():
    assert offending("gui", lambda path, name: name.split(".")[0] in ("suite", "gui")) == []


def test_a_task_imports_only_the_engine_and_itself():
    def allowed(path: Path, name: str) -> bool:
        own = path.relative_to(REPO / "tasks").parts[0]
        return name.split(".")[0] == "suite" or name == f"tasks.{own}" or name.startswith(f"tasks.{own}.")
    assert offending("tasks", allowed) == []


def test_benchmarks_use_public_apis_only():
    """The engine and the window (the GUI's own benchmark); a task only as the registry gives it."""
    assert offending("bench", lambda path, name: name.split(".")[0] in ("suite", "gui")) == []


@pytest.mark.parametrize("folder", ["suite", "gui", "tasks", "bench"])
def test_the_reader_sees_imports(folder):
    """Guard against a test that cannot fail: each folder's files do import something of the house."""
    assert any(name.split(".")[0] in ("suite", "gui", "tasks") for path in modules(folder)
               for name in imports_of(path))

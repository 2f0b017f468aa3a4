"""The README's quick start is what CI runs, and what it names exists."""

from __future__ import annotations

import ast
import re
import sys

import pytest

from helpers import REPO

# import name -> distribution name, where they differ
DISTRIBUTIONS = {"yaml": "pyyaml", "PySide6": "pyside6-essentials", "mlflow": "mlflow-skinny", "sklearn": "scikit-learn",
                 "sklearn_crfsuite": "sklearn-crfsuite"}


def pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the product itself runs on 3.10
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def quick_start() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quick_start_is_two_commands():
    assert quick_start() == ['pip install -e ".[dev]" && python main.py --task forecast', "pytest"]


def test_ci_runs_the_readme_commands_after_the_cpu_torch_pin():
    lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    commands = quick_start()
    positions = [lines.index(command) for command in commands]  # each appears verbatim
    assert positions == sorted(positions)
    pin = next(i for i, line in enumerate(lines) if "pip install" in line and "torch==" in line)
    assert pin < positions[0]
    assert "RNN_SUITE_REQUIRE_DATA=1" in (REPO / ".ci" / "run").read_text()


def test_project_declares_what_the_readme_promises():
    project = pyproject()["project"]
    deps = " ".join(project["dependencies"]).lower()
    for name in ("lightning", "torch", "torchmetrics", "datasets", "numpy"):
        assert name in deps, name
    extras = project["optional-dependencies"]
    # the README's Install paragraph: a headless core, the window and the music libraries as extras
    for extra, names in {"gui": ("pyside6", "pyqtgraph"), "music": ("music21", "scipy")}.items():
        declared = " ".join(extras[extra]).lower()
        for name in names:
            assert name in declared and name not in deps, (extra, name)
    assert "!=6.12.0" in " ".join(extras["gui"])
    assert "optuna" in " ".join(extras["sweeps"]) and "optuna" not in deps
    assert {"fastapi", "uvicorn"} <= {re.split(r"[<>=!~ ;\[]", d)[0].lower() for d in extras["serve"]}
    assert "fastapi" not in deps and "uvicorn" not in deps  # the core stays headless and server-free
    for extra, names in {"export": ("onnx", "onnxruntime"), "baselines": ("scikit-learn", "sklearn-crfsuite"),
                         "insight": ("captum",), "audio": ("pyside6-addons",)}.items():
        declared = {re.split(r"[<>=!~ ;\[]", d)[0].lower() for d in extras[extra]}
        assert set(names) <= declared and not any(name in deps for name in names), (extra, names)
    # every extra but the test tools is in [all], and README's install table names each of them
    assert extras["all"] == [f"rnn-suite[{','.join(e for e in extras if e not in ('all', 'dev'))}]"]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert all(f'pip install ".[{extra}]"' in readme for extra in extras if extra != "dev"), "README install table"
    assert "rnn-suite[all]" in extras["dev"]  # the quick start's .[dev] installs everything
    torch_spec = next(d for d in project["dependencies"] if d.startswith("torch>"))
    assert "==" not in torch_spec  # a range that GPU users can satisfy
    assert {"pytest", "pytest-qt", "hypothesis"} <= {re.split(r"[<>=]", d)[0] for d in project["optional-dependencies"]["dev"]}
    assert project["scripts"]["rnn-suite"] == "main:main"
    assert project["entry-points"]["rnn_suite.tasks"]["forecast"] == "tasks.forecast:ForecastTask"
    for path in ("docs/PLUGINS.md", "main.py", "suite", "tasks", "gui", "tests", "bench", "resources"):
        assert (REPO / path).exists(), path


def imported_modules(folders: list[str], skip: tuple[str, ...] = ()) -> set[str]:
    names = set()
    for folder in folders:
        root = REPO / folder
        for path in [root] if root.is_file() else root.rglob("*.py"):
            if any(path.is_relative_to(REPO / other) for other in skip):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    # (_runtime: suite/export/runtime.py as an export folder holds it, beside the predict.py that imports it)
    local = {p.stem for p in REPO.rglob("*.py")} | {p.name for p in REPO.iterdir() if p.is_dir()} | {"_runtime"}
    return {n for n in names if n not in sys.stdlib_module_names and n not in local and n != "__future__"}


def test_every_third_party_import_is_declared():
    """A fresh install must get what the code and the tests import (seqeval was once only installed by hand)."""
    project = pyproject()["project"]
    extras = project["optional-dependencies"]

    def names(specs):
        found = set()
        for spec in specs:
            name = re.split(r"[<>=!~ ;\[]", spec)[0].lower()
            if name == project["name"]:  # the project's own extras, e.g. dev's rnn-suite[all], expanded
                found |= names([d for extra in re.findall(r"\[(.*?)\]", spec)[0].split(",")
                                for d in extras[extra.strip()]])
            else:
                found.add(name)
        return found
    runtime = names(project["dependencies"])
    dev = runtime | names(project["optional-dependencies"]["dev"])
    # the core serves the engine and the tasks; the window and the music task may also use their extras
    headless = ["suite"] + [f"tasks/{p.name}" for p in sorted((REPO / "tasks").iterdir())
                            if p.is_dir() and p.name not in ("music", "__pycache__")]
    parts = {"core": (headless, set()), "gui": (["gui"], names(extras["gui"])),
             "music": (["tasks/music"], names(extras["music"])),
             "sweeps": (["suite/sweeps"], names(extras["sweeps"])),
             "serve": (["suite/serving"], names(extras["serve"])),
             "export": (["suite/export"], names(extras["export"])),
             "insight": (["suite/insight"], names(extras["insight"])),
             "baselines": ([str(p.relative_to(REPO)) for p in sorted(REPO.glob("tasks/*/baselines.py"))],
                           names(extras["baselines"]))}
    for part, (folders, extra) in parts.items():
        skip = [f for name, (fs, _) in parts.items() if name not in ("core", "gui", "music") for f in fs] \
            if part == "core" else ()
        for module in imported_modules(folders, skip=skip):
            assert DISTRIBUTIONS.get(module, module).lower() in runtime | extra, f"{part} imports {module}"
    for module in imported_modules(["tests", "bench"]):
        assert DISTRIBUTIONS.get(module, module).lower() in dev, f"the tests or benchmarks import {module}"

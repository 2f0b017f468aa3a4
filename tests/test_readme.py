"""The README's quick start is what CI runs, and what it names exists."""

from __future__ import annotations

import re
import tomllib

from helpers import REPO


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
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = " ".join(project["dependencies"]).lower()
    for name in ("lightning", "torch", "torchmetrics", "datasets", "numpy", "pyside6", "pyqtgraph"):
        assert name in deps, name
    torch_spec = next(d for d in project["dependencies"] if d.startswith("torch>"))
    assert "==" not in torch_spec  # a range that GPU users can satisfy
    assert {"pytest", "pytest-qt", "hypothesis"} <= {re.split(r"[<>=]", d)[0] for d in project["optional-dependencies"]["dev"]}
    assert project["scripts"]["rnn-suite"] == "main:main"
    assert project["entry-points"]["rnn_suite.tasks"]["forecast"] == "tasks.forecast:ForecastTask"
    for path in ("docs/PLUGINS.md", "main.py", "suite", "tasks", "gui", "tests", "bench", "resources"):
        assert (REPO / path).exists(), path

"""The commands that only read settings start without torch, Lightning or Qt (importing Lightning alone takes
seconds; bench/startup.py measures the times). Each runs in a fresh interpreter that reports what it loaded."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import REPO, cli_env

HEAVY = ("torch", "lightning", "PySide6", "pyqtgraph")
TASKS = ("forecast", "sentiment", "tagging", "translation", "music")

# main.py run as a script, as `python main.py ARGS` would; then the heavy modules it left in sys.modules
PROBE = f"""
import json, runpy, sys
args = json.loads(sys.argv[1])
sys.argv = ["main.py", *args]
code = 0
try:
    runpy.run_path({str(REPO / "main.py")!r}, run_name="__main__")
except SystemExit as exc:
    code = exc.code
loaded = sorted(name for name in {HEAVY!r} if name in sys.modules)
print("\\nPROBE " + json.dumps({{"code": code, "loaded": loaded}}), file=sys.stderr)
"""


def probe(args: list[str], tmp_path) -> tuple[dict, str]:
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], cwd=tmp_path, env=cli_env(),
                          capture_output=True, text=True, timeout=120)
    report = json.loads(done.stderr.rsplit("PROBE ", 1)[1])
    return report, done.stdout


@pytest.mark.parametrize("args, expect", [
    (["--help"], "installed tasks:"),
    (["--list-tasks"], "forecast"),
    (["--task", "forecast", "--help"], "--lookback"),
    (["--task", "forecast", "--print-config"], "task: forecast"),
    (["--config", "forecast-etth1", "--print-config"], "lookback: 96"),  # a shipped config, by name
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_settings_commands_import_no_torch_lightning_or_qt(args, expect, tmp_path):
    report, out = probe(args, tmp_path)
    assert report["code"] in (0, None), out
    assert expect in out
    assert report["loaded"] == [], f"{' '.join(args)} imported {report['loaded']}"


@pytest.mark.parametrize("task", TASKS)
def test_every_task_prints_its_help_and_config_without_torch(task, tmp_path):
    for args in (["--task", task, "--help"], ["--task", task, "--print-config"]):
        report, out = probe(args, tmp_path)
        assert report["code"] in (0, None) and out, args
        assert report["loaded"] == [], f"{' '.join(args)} imported {report['loaded']}"


def test_the_lightning_base_classes_still_import_from_suite_task():
    """Plugins write ``from suite.task import TaskModule``: the class loads on first use (PEP 562)."""
    import lightning as L

    import suite.events
    import suite.stream
    import suite.task
    from suite.task import TaskDataModule, TaskModule

    assert issubclass(TaskModule, L.LightningModule) and issubclass(TaskDataModule, L.LightningDataModule)
    assert {"TaskModule", "TaskDataModule", "Task"} <= set(dir(suite.task))
    assert suite.events.EventStream is suite.stream.EventStream
    with pytest.raises(AttributeError):
        suite.task.NoSuchThing  # noqa: B018

"""The plugin path: a throwaway distribution with an entry point, found and run end to end.

The plugin's code is taken from docs/PLUGINS.md, so the documented example is what is tested.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from helpers import REPO, cli_env, one_line_error, read_results, run_cli
from suite.registry import GROUP


def plugin_source() -> str:
    text = (REPO / "docs" / "PLUGINS.md").read_text()
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


def plugin_pyproject() -> str:
    text = (REPO / "docs" / "PLUGINS.md").read_text()
    return re.search(r"```toml\n(.*?)```", text, re.S).group(1)


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory):
    """The plugin package and pyproject.toml of docs/PLUGINS.md, installed by pip as written."""
    source = tmp_path_factory.mktemp("plugin")
    (source / "adding_plugin").mkdir()
    (source / "adding_plugin" / "__init__.py").write_text(plugin_source())
    (source / "pyproject.toml").write_text(plugin_pyproject())
    site = tmp_path_factory.mktemp("site")
    # no build isolation and no dependencies: offline, and rnn-suite is installed already
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                           "--no-index", "--target", str(site), str(source)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    (info,) = site.glob("adding_plugin-*.dist-info")
    assert f"[{GROUP}]" in (info / "entry_points.txt").read_text()
    return cli_env(PYTHONPATH=str(site))


def test_documented_plugin_is_about_fifty_lines():
    code_lines = [line for line in plugin_source().splitlines() if line.strip()]
    assert len(code_lines) <= 65


def test_plugin_is_listed_with_its_description(plugin_env, tmp_path):
    done = run_cli("--list-tasks", cwd=tmp_path, env=plugin_env)
    assert done.returncode == 0, done.stderr
    listed = dict(line.split(None, 1) for line in done.stdout.strip().splitlines())
    assert "forecast" in listed
    assert listed["adding"].startswith("sum the two marked numbers")


def test_plugin_flags_come_from_its_config(plugin_env, tmp_path, capsys, monkeypatch):
    done = run_cli("--task", "adding", "--help", cwd=tmp_path, env=plugin_env)
    assert done.returncode == 0, done.stderr
    assert "--length" in done.stdout and "--examples" in done.stdout
    assert "sequence length (default: 50)" in done.stdout
    # the refusal in this process: entry points are read from sys.path when a task is looked up
    monkeypatch.syspath_prepend(plugin_env["PYTHONPATH"])
    message = one_line_error(capsys, "--task", "adding", "--length", "1")
    assert message == "options.length (--length): must be at least 2, got 1"


def test_plugin_trains_end_to_end_and_predicts(plugin_env, tmp_path):
    run_dir = tmp_path / "adding-run"
    done = run_cli("--task", "adding", "--length", "10", "--examples", "2000", "--hidden", "32",
                   "--max-epochs", "3", "--lr", "0.01", "--run-dir", str(run_dir), cwd=tmp_path, env=plugin_env)
    assert done.returncode == 0, done.stderr
    results = read_results(run_dir)
    assert results["task"] == "adding"
    assert results["config"]["backbone"]["cell"] == "lstm"  # the plugin's own defaults apply
    assert results["epochs_completed"] == 3
    assert results["baseline"]["name"] == "always 1.0"
    # an LSTM learns the sum well beyond the constant guess within three epochs
    assert results["metrics"]["test"]["mse"] < 0.5 * results["baseline"]["test"]["mse"]
    assert (run_dir / "checkpoints" / "best.ckpt").exists()

    answer = run_cli("--checkpoint", str(run_dir), "--predict", "0.1 *0.6 0.2 0.9 *0.3 0.4",
                     cwd=tmp_path, env=plugin_env)
    assert answer.returncode == 0, answer.stderr
    assert abs(json.loads(answer.stdout)["sum"] - 0.9) < 0.35


def test_broken_plugin_is_reported_not_crashed(tmp_path, capsys, monkeypatch):
    site = tmp_path / "site"
    (site / "broken_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "broken_plugin.py").write_text("raise ImportError('needs a library that is not installed')\n")
    (site / "broken_plugin-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 0.1\n")
    (site / "broken_plugin-0.1.dist-info" / "entry_points.txt").write_text(f"[{GROUP}]\nbroken = broken_plugin:Task\n")
    monkeypatch.syspath_prepend(str(site))  # where entry points are found, as PYTHONPATH would put it
    monkeypatch.delitem(sys.modules, "broken_plugin", raising=False)
    message = one_line_error(capsys, "--task", "broken")
    assert "task 'broken' (broken_plugin:Task) failed to load: ImportError" in message

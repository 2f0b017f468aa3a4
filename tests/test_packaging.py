"""``pip install .`` (not editable) gives the whole product: every package, the shipped configs, the task
entry points and the ``rnn-suite`` console script. The wheel is built offline from a copy of the checkout
(so that the build's own folders never land in the working tree), without installing anything."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from helpers import REPO, cli_env

PACKAGED = ("suite", "tasks", "gui")
SOURCES = ("pyproject.toml", "README.md", "main.py", "resources", *PACKAGED)
CONFIGS = sorted((REPO / "resources" / "configs").glob("*.yaml"))


def tree_packages() -> list[str]:
    """Every package of the checkout's product folders (a folder holding an __init__.py)."""
    return sorted(".".join(p.parent.relative_to(REPO).parts) for top in PACKAGED
                  for p in (REPO / top).rglob("__init__.py"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    env = cli_env(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")  # offline: nothing is downloaded
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), str(source)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (built,) = out.glob("rnn_suite-*.whl")
    return built


def dist_info(archive: zipfile.ZipFile, name: str) -> str:
    (path,) = [n for n in archive.namelist() if n.endswith(f".dist-info/{name}")]
    return archive.read(path).decode()


def test_the_wheel_holds_every_package_and_module(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "main.py" in names
    for package in tree_packages():  # a package added to the tree but not to pyproject's list fails here
        assert f"{package.replace('.', '/')}/__init__.py" in names, f"{package} is missing from the wheel"
    modules = {str(p.relative_to(REPO)) for top in PACKAGED for p in (REPO / top).rglob("*.py")}
    assert modules <= names, sorted(modules - names)
    assert not {n for n in names if n.split("/")[0] in ("tests", "bench", "docs", "resources")}


def test_the_wheel_ships_the_configs_as_package_data(wheel):
    assert CONFIGS, "no shipped configs in resources/configs"
    with zipfile.ZipFile(wheel) as archive:
        for path in CONFIGS:
            assert archive.read(f"suite/configs/{path.name}") == path.read_bytes(), path.name


def test_the_wheel_declares_the_entry_points_and_extras(wheel):
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    with zipfile.ZipFile(wheel) as archive:
        points = configparser.ConfigParser()
        points.read_string(dist_info(archive, "entry_points.txt"))
        metadata = Parser().parsestr(dist_info(archive, "METADATA"))
    assert dict(points["console_scripts"]) == {"rnn-suite": "main:main"}
    assert dict(points["rnn_suite.tasks"]) == project["entry-points"]["rnn_suite.tasks"]
    assert {"gui", "music", "tracking", "all", "dev"} <= set(metadata.get_all("Provides-Extra"))
    core = [r for r in metadata.get_all("Requires-Dist") if "extra ==" not in r]
    assert not [r for r in core if r.lower().startswith(("pyside6", "pyqtgraph", "music21", "scipy"))], core


def test_shipped_configs_are_found_by_name_from_any_folder(tmp_path, monkeypatch):
    from suite.shipped import find_config, shipped_configs

    monkeypatch.chdir(tmp_path)
    assert set(shipped_configs()) == {p.stem for p in CONFIGS}
    etth1 = REPO / "resources" / "configs" / "forecast-etth1.yaml"
    for spelling in ("forecast-etth1", "forecast-etth1.yaml", "resources/configs/forecast-etth1.yaml"):
        assert find_config(spelling).resolve() == etth1.resolve(), spelling
    (tmp_path / "forecast-etth1.yaml").write_text("task: forecast\n")
    assert find_config("forecast-etth1.yaml") == Path("forecast-etth1.yaml")  # the user's own file wins
    assert find_config("elsewhere/forecast-etth1.yaml") == Path("elsewhere/forecast-etth1.yaml")
    assert find_config("no-such-config") == Path("no-such-config")  # the reader says it is not there


@pytest.mark.slow
def test_the_installed_wheel_works_from_any_folder(wheel, tmp_path):
    """A fresh virtual environment that sees this one's packages (torch is not installed again), the wheel
    installed into it without dependencies, its console script run from a folder that is not the checkout."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    script = python.with_name("rnn-suite")
    env = cli_env(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", RNN_SUITE_RUNS=str(tmp_path / "runs"))
    env.pop("PYTHONPATH", None)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], env=env, check=True,
                   timeout=300)
    where = tmp_path / "elsewhere"
    where.mkdir()
    located = subprocess.run([str(python), "-c", "import suite; print(suite.__file__)"], cwd=where, env=env,
                             capture_output=True, text=True, timeout=60)
    assert str(venv) in located.stdout, located.stdout  # the wheel's copy, not the checkout's
    listed = subprocess.run([str(script), "--list-tasks"], cwd=where, env=env, capture_output=True, text=True,
                            timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert {line.split()[0] for line in listed.stdout.splitlines()} == {
        "forecast", "sentiment", "tagging", "translation", "music"}
    shown = subprocess.run([str(script), "--config", "forecast-etth1", "--print-config"], cwd=where, env=env,
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and "lookback: 96" in shown.stdout, shown.stderr

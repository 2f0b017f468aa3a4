"""Shared fixtures: the real-data root, and running the CLI as a user would (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Nothing may download at test time; a Hub lookup must fail at once.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def shared_data_root() -> Path:
    return Path(os.environ.get("RNN_SUITE_DATA") or REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def data_root() -> Path:
    """../shared/data (or $RNN_SUITE_DATA). Missing: skip, unless RNN_SUITE_REQUIRE_DATA=1 (CI) says fail."""
    root = shared_data_root()
    if not root.is_dir():
        message = f"real data not found at {root} (set RNN_SUITE_DATA)"
        if os.environ.get("RNN_SUITE_REQUIRE_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return root


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
    env.update(extra)
    return env


def run_cli(*args: str, cwd: Path, timeout: float = 300, env: dict[str, str] | None = None,
            input: str | None = None) -> subprocess.CompletedProcess:
    """``python main.py ARGS`` in ``cwd``, as a user would run it."""
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], cwd=cwd, env=env or cli_env(),
                          capture_output=True, text=True, timeout=timeout, input=input)


def read_results(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "results.json").read_text())


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# A few fast settings for end-to-end runs of the forecast task on small series.
FAST = ("--max-epochs", "2", "--hidden", "16", "--batch-size", "64")

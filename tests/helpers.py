"""Helpers shared by the tests: running the CLI as a user would (a subprocess), reading results, comparing answers.

(A module of its own: two conftest.py files would both import as `conftest`.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def shared_data_root() -> Path:
    return Path(os.environ.get("RNN_SUITE_DATA") or REPO.parent / "shared" / "data")


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


def one_line_error(capsys, *args: str, code: int = 2) -> str:
    """Run the CLI in this process; it must fail with one ``error:`` line and ``code``. Returns the message."""
    from suite.cli import main

    capsys.readouterr()  # what earlier steps printed is not this command's answer
    exit_code = main(list(args))
    err = capsys.readouterr().err.strip()
    assert exit_code == code, err
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err[len("error: "):]


def same(a, b) -> bool:
    """Equal, probabilities within a rounding step (a text alone and in a padded batch differ by ~1e-7)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, (int, float)):
        return abs(a - b) <= 1e-4 + 1e-6 * abs(b)
    return a == b

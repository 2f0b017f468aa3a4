"""Helpers for the export tests: running an exported predict.py where torch (and this product) cannot be
imported, and comparing its answers with ``main.py --checkpoint RUN --predict``.

(A module of its own beside helpers.py, imported by the tests/test_export_*.py files.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers import cli_env, run_cli

#: what an exported ONNX predictor must do without: torch, this product's engine and tasks, Lightning
BLOCKED = ("torch", "suite", "tasks", "lightning", "pytorch_lightning", "lightning_fabric", "torchmetrics")

_BLOCKER = '''
import sys

_BLOCKED = {blocked!r}


class _Blocker:
    """Refuses the modules an exported predictor must not need, as if they were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in _BLOCKED:
            raise ImportError(f"{{name}} is blocked: an exported predictor must not import it")
        return None

    def find_module(self, name, path=None):  # older importers
        return None


sys.meta_path.insert(0, _Blocker())
'''

_site_dirs: dict[tuple[str, ...], Path] = {}


def _site_dir(blocked: tuple[str, ...]) -> Path:
    """A folder with a sitecustomize.py that installs the blocker (made once per set of blocked names)."""
    if blocked not in _site_dirs:
        folder = Path(tempfile.mkdtemp(prefix="no-torch-site-"))
        (folder / "sitecustomize.py").write_text(_BLOCKER.format(blocked=blocked), encoding="utf-8")
        _site_dirs[blocked] = folder
    return _site_dirs[blocked]


def blocked_env(allow_torch: bool = False) -> dict[str, str]:
    blocked = tuple(b for b in BLOCKED if not (allow_torch and b == "torch"))
    env = cli_env()
    env["PYTHONPATH"] = str(_site_dir(blocked))  # and nothing else: the repository is not on the path
    env.pop("RNN_SUITE_DATA", None)
    return env


def run_without_torch(args: Sequence[str], cwd: Path | None = None, *, allow_torch: bool = False,
                      timeout: float = 120) -> subprocess.CompletedProcess:
    """``python ARGS`` (e.g. ``[DIR/predict.py, INPUT]``) in a subprocess where importing torch, suite, tasks
    or lightning raises ImportError; numpy and onnxruntime import as usual. ``allow_torch``: for a TorchScript
    export, which needs torch but still nothing of this product's. ``cwd`` defaults to a fresh empty folder,
    so neither the repository nor the export folder is the working folder."""
    cwd = Path(cwd) if cwd is not None else Path(tempfile.mkdtemp(prefix="predict-cwd-"))
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=blocked_env(allow_torch),
                          capture_output=True, text=True, timeout=timeout)


def check_blocker() -> None:
    """The blocker works: torch and suite fail to import, numpy and onnxruntime do import."""
    code = ("import numpy, onnxruntime\n"
            "for name in ('torch', 'suite', 'tasks', 'lightning'):\n"
            "    try:\n        __import__(name)\n    except ImportError:\n        continue\n"
            "    raise SystemExit(name + ' imported')\n")
    result = run_without_torch(["-c", code])
    assert result.returncode == 0, result.stderr + result.stdout


def predict_cli(run: Path, inputs: str, *extra: str, cwd: Path, output: Path | None = None
                ) -> subprocess.CompletedProcess:
    """``main.py --checkpoint RUN --predict INPUT [--output FILE] EXTRA``, asserted to succeed."""
    args = ["--checkpoint", str(run), "--predict", inputs, *extra]
    if output is not None:
        args += ["--output", str(output)]
    result = run_cli(*args, cwd=cwd, env=cli_env())
    assert result.returncode == 0, result.stderr
    return result


def predict_exported(export_dir: Path, inputs: str, *extra: str, output: Path | None = None,
                     allow_torch: bool = False, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python DIR/predict.py INPUT [--output FILE] EXTRA`` without torch, asserted to succeed."""
    args = [Path(export_dir) / "predict.py", inputs, *extra]
    if output is not None:
        args += ["--output", str(output)]
    result = run_without_torch(args, cwd=cwd, allow_torch=allow_torch)
    assert result.returncode == 0, result.stderr + result.stdout
    return result


def export_cli(run: Path, fmt: str, out_dir: Path, *, cwd: Path) -> subprocess.CompletedProcess:
    result = run_cli("--checkpoint", str(run), "--export", fmt, "--output", str(out_dir), cwd=cwd)
    assert result.returncode == 0, result.stderr + result.stdout
    return result


def assert_close_outputs(expected: Any, got: Any, *, atol: float, path: str = "$") -> None:
    """Two JSON-like values are equal, numbers within ``atol`` (strings, keys, lengths and order exactly)."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and list(expected) == list(got), f"{path}: keys {list(expected)} != {got!r:.200}"
        for key in expected:
            assert_close_outputs(expected[key], got[key], atol=atol, path=f"{path}.{key}")
    elif isinstance(expected, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(expected) == len(got), \
            f"{path}: lengths {len(expected)} != {len(got) if isinstance(got, (list, tuple)) else got!r}"
        for i, (a, b) in enumerate(zip(expected, got)):
            assert_close_outputs(a, b, atol=atol, path=f"{path}[{i}]")
    elif isinstance(expected, bool) or expected is None or isinstance(expected, str):
        assert expected == got, f"{path}: {expected!r} != {got!r}"
    elif isinstance(expected, (int, float)):
        assert isinstance(got, (int, float)) and not isinstance(got, bool), f"{path}: {expected!r} != {got!r}"
        assert abs(float(expected) - float(got)) <= atol or (np.isnan(expected) and np.isnan(got)), \
            f"{path}: {expected!r} != {got!r} (tolerance {atol:g})"
    else:
        assert expected == got, f"{path}: {expected!r} != {got!r}"


def assert_close_json_text(expected: str, got: str, *, atol: float) -> None:
    """Two printed (or written) JSON documents, compared as :func:`assert_close_outputs` does."""
    assert_close_outputs(json.loads(expected), json.loads(got), atol=atol)


def assert_close_csv(expected: Path, got: Path, *, atol: float) -> None:
    """Two CSV files: the same header and text cells, numeric cells within ``atol``."""
    import csv

    with open(expected, newline="", encoding="utf-8") as a, open(got, newline="", encoding="utf-8") as b:
        rows_a, rows_b = list(csv.reader(a)), list(csv.reader(b))
    assert len(rows_a) == len(rows_b), f"{got}: {len(rows_b)} rows, expected {len(rows_a)}"
    for n, (ra, rb) in enumerate(zip(rows_a, rows_b), start=1):
        assert len(ra) == len(rb), f"{got}, line {n}: {rb} != {ra}"
        for ca, cb in zip(ra, rb):
            try:
                fa, fb = float(ca), float(cb)
            except ValueError:
                assert ca == cb, f"{got}, line {n}: {cb!r} != {ca!r}"
                continue
            assert abs(fa - fb) <= atol, f"{got}, line {n}: {cb} != {ca} (tolerance {atol:g})"




def predict_in_process(capsys, run: Path, raw: str, *extra: str, output: Path | None = None) -> str:
    """What ``main.py --checkpoint RUN --predict RAW [--output FILE] EXTRA`` prints, run in this process (the
    command line's own code path, without paying for Lightning's import once more)."""
    from suite.cli import main

    args = ["--checkpoint", str(run), "--predict", raw, *extra]
    if output is not None:
        args += ["--output", str(output)]
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def export_in_process(capsys, run: Path, fmt: str, out_dir: Path) -> str:
    """``main.py --checkpoint RUN --export FMT --output DIR``, in this process; returns what it printed."""
    from suite.cli import main

    capsys.readouterr()
    code = main(["--checkpoint", str(run), "--export", fmt, "--output", str(out_dir)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out

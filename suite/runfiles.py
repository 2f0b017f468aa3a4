"""Reading a run's own files without trusting them: each reader returns what the rest of the suite may
rely on, or raises a one-line :class:`UserError` naming the file and what is wrong with it.

What is damage and what is not:

* ``config.yaml`` and ``results.json`` are written whole (atomically), so anything unexpected in them is
  damage: not text, not valid YAML/JSON, not a mapping, or a field the suite reads of the wrong type.
* ``events.jsonl`` and ``metrics.csv`` are appended line by line. A killed process leaves its last line
  cut short, and a resume then appends after that fragment, so a line that does not parse is skipped,
  wherever it is. But the writers emit only whole JSON objects and CSV rows of ASCII text: a complete
  line that is not UTF-8, or a JSON line that is not an object, means the file is not the run's own.
"""

from __future__ import annotations

import copy
import csv
import json
import os
from pathlib import Path
from typing import Any

from .errors import UserError
from .saferead import MAX_CONFIG_BYTES, kind_of, read_bytes, read_text, read_yaml_mapping

#: results.json holds metrics, a report and file names: kilobytes; a huge one is not the run's
MAX_RESULTS_BYTES = 64_000_000
METRICS_HEADER = ["time", "step", "epoch", "name", "value"]


# --- config.yaml -------------------------------------------------------------------------------------------

#: config.yaml files already read, by (path, inode, size, mtime): a run's config does not change once written,
#: and the window's Runs tab re-lists every run after each run (the pure-Python YAML parser takes ~8 ms a file;
#: the C one crashes on deep nesting, see saferead.py)
_CONFIGS: dict[tuple, dict[str, Any]] = {}
MAX_CACHED_CONFIGS = 4096


def read_run_config(path: Path) -> dict[str, Any]:
    try:
        st = os.stat(path)
        key = (os.path.abspath(path), st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        key = None  # the reader below names the problem
    if key is not None and key in _CONFIGS:
        return copy.deepcopy(_CONFIGS[key])
    data = _read_run_config(path)
    if key is not None:
        if len(_CONFIGS) >= MAX_CACHED_CONFIGS:
            _CONFIGS.clear()
        _CONFIGS[key] = copy.deepcopy(data)
    return data


def _read_run_config(path: Path) -> dict[str, Any]:
    from .config import flatten  # the same structure check --config and --resume apply

    data = read_yaml_mapping(path, "run configuration", "a run configuration (a mapping with a 'task' key)",
                             MAX_CONFIG_BYTES)
    if not isinstance(data.get("task"), str) or not data["task"]:
        raise UserError(f"{path}: expected a run configuration with a 'task' name")
    if data.get("preset") is not None and not isinstance(data["preset"], str):
        raise UserError(f"{path}: 'preset' must be a name, not {kind_of(data['preset'])}")
    flatten(data, str(path))  # sections are mappings, no unknown top-level keys (e.g. backbone: hello)
    return data


# --- results.json ------------------------------------------------------------------------------------------

def read_results(path: Path) -> dict[str, Any]:
    text = read_text(path, "results file", MAX_RESULTS_BYTES)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise UserError(f"{path}: not valid JSON (nested too deeply)") from None
    check_results(data, path)
    return data


def check_results(data: Any, path: Path | str) -> None:
    """The fields the suite reads back (listing, comparing, loading, deleting) have their written types."""
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object, not {kind_of(data)}")
    for key in ("task", "status", "monitor", "best_checkpoint", "last_checkpoint", "test_split"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise UserError(f"{path}: '{key}' must be a string, not {kind_of(data[key])}")
    if data.get("metrics") is not None:
        if not isinstance(data["metrics"], dict):
            raise UserError(f"{path}: 'metrics' must be an object, not {kind_of(data['metrics'])}")
        for split in ("val", "test"):
            _check_scores(data["metrics"].get(split), f"metrics.{split}", path)
    baseline = data.get("baseline")
    if baseline is not None:
        if not isinstance(baseline, dict):
            raise UserError(f"{path}: 'baseline' must be an object, not {kind_of(baseline)}")
        if baseline.get("name") is not None and not isinstance(baseline["name"], str):
            raise UserError(f"{path}: 'baseline.name' must be a string, not {kind_of(baseline['name'])}")
        for split in ("val", "test"):
            _check_scores(baseline.get(split), f"baseline.{split}", path)
        for key in ("strong", "strong_note"):
            if baseline.get(key) is not None and not isinstance(baseline[key], str):
                raise UserError(f"{path}: 'baseline.{key}' must be a string, not {kind_of(baseline[key])}")
        others = baseline.get("others")
        if others is not None and not isinstance(others, dict):
            raise UserError(f"{path}: 'baseline.others' must be an object, not {kind_of(others)}")
        for name, entry in (others or {}).items():
            if not isinstance(entry, dict):
                raise UserError(f"{path}: 'baseline.others.{name}' must be an object, not {kind_of(entry)}")
            for split in ("val", "test"):
                _check_scores(entry.get(split), f"baseline.others.{name}.{split}", path)
    outputs = data.get("outputs")
    if outputs is not None and not (isinstance(outputs, list) and all(isinstance(o, str) for o in outputs)):
        raise UserError(f"{path}: 'outputs' must be a list of file names")


def _check_scores(scores: Any, where: str, path: Path | str) -> None:
    if scores is None:
        return
    if not isinstance(scores, dict):
        raise UserError(f"{path}: '{where}' must be an object of scores, not {kind_of(scores)}")
    for name, value in scores.items():
        # null is a score that was not finite (NaN is not JSON); a boolean is not a score
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise UserError(f"{path}: '{where}.{name}' must be a number, not {kind_of(value)}")


# --- events.jsonl and metrics.csv --------------------------------------------------------------------------

def _complete_lines(path: Path, kind: str, head: int | None) -> list[tuple[int, str]]:
    """(line number, text) of every line that ends in a newline; the rest was cut short by a killed
    process (or by ``head``, the bytes read when only checking the start of a large file)."""
    data = read_bytes(path, kind, head, head=True)
    pieces = data.split(b"\n")[:-1]  # the last piece never ended: a cut line, or b"" after the final newline
    lines = []
    for number, raw in enumerate(pieces, 1):
        try:
            lines.append((number, raw.decode("utf-8")))
        except UnicodeDecodeError:
            raise UserError(f"{path}, line {number}: not a text file (binary data)") from None
    return lines


def read_events(path: Path, head: int | None = None) -> list[dict[str, Any]]:
    out = []
    for number, line in _complete_lines(path, "events file", head):
        try:
            event = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue  # the fragment a killed process left, perhaps with a resumed run's first event after it
        if not isinstance(event, dict):
            raise UserError(f"{path}, line {number}: not an event (expected a JSON object, not {kind_of(event)})")
        out.append(event)
    return out


def read_metric_rows(path: Path, head: int | None = None) -> list[dict[str, str]]:
    """metrics.csv as rows of strings (time, step, epoch, name, value); values are checked by the reader
    that converts them, which skips a row it cannot use."""
    lines = _complete_lines(path, "metrics file", head)
    if not lines:
        return []
    try:
        rows = list(csv.reader([text.removesuffix("\r") for _, text in lines]))
    except csv.Error as exc:  # e.g. a field over the csv module's size limit: not the run's rows
        raise UserError(f"{path}: not a metrics file ({exc})") from None
    if rows[0] != METRICS_HEADER:
        shown = ",".join(rows[0])[:60]
        raise UserError(f"{path}: not a metrics file (its first line is {shown!r}, "
                        f"expected {','.join(METRICS_HEADER)})")
    return [dict(zip(METRICS_HEADER, row)) for row in rows[1:]]


def reason(exc: UserError, run_dir: str | os.PathLike) -> str:
    """The error without the run folder's path in front: what a list of runs shows beside the run."""
    return str(exc).removeprefix(f"{run_dir}{os.sep}")

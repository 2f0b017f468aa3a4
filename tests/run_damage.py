"""Run folders as the suite writes them, and the same folders with one file damaged: shared by the engine
tests (tests/test_damaged_run_files.py) and the window's (tests/gui/test_damaged_runs.py).

(A module of its own, like helpers.py: two conftest.py files would both import as `conftest`.)
"""

from __future__ import annotations

import json
from pathlib import Path

# a PNG's signature, then every byte value: not text, and its first line is not UTF-8 already
BINARY = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4

# "billion laughs": nine levels of nine aliases, 81 aliases that expand to 9**9 (387 million) strings
BOMB = "task: forecast\noptions:\n  a: &a [" + ", ".join(['"lol"'] * 9) + "]\n" + "".join(
    f"  {name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]\n" for prev, name in zip("abcdefgh", "bcdefghi"))

METRICS_HEADER = "time,step,epoch,name,value\r\n"


def good_config() -> str:
    from suite.config import build_run_config
    from suite.registry import get_task

    return build_run_config(get_task("forecast")).to_yaml()


def good_results(**changes) -> dict:
    results = {"task": "forecast", "status": "finished", "monitor": "mse",
               "metrics": {"val": {"mse": 0.1}, "test": {"mse": 0.2}},
               "baseline": {"name": "repeat last", "val": {"mse": 0.3}, "test": {"mse": 0.4}, "others": {}},
               "best_checkpoint": None, "outputs": []}
    results.update(changes)
    return results


def event_lines(*events: dict) -> str:
    return "".join(json.dumps(e) + "\n" for e in events)


STARTED = {"event": "started", "time": 1.0, "max_epochs": 1}
METRIC = {"event": "metric", "time": 2.0, "name": "train/loss", "step": 1, "epoch": 0, "value": 0.5}


def write_run(path: Path, *, finished: bool = True, config: str | None = None, results: dict | None = None,
              events: str | None = None, metrics: str | None = None) -> Path:
    """A run folder as the suite leaves it: finished (with results.json) or not (killed while training)."""
    path.mkdir(parents=True)
    (path / "checkpoints").mkdir()
    (path / "config.yaml").write_text(config if config is not None else good_config(), encoding="utf-8")
    (path / "events.jsonl").write_text(events if events is not None else event_lines(STARTED, METRIC))
    rows = "".join(f"{2.0 + i},{i},0,train/loss,{0.5 - i / 100}\r\n" for i in range(5))
    (path / "metrics.csv").write_text(metrics if metrics is not None else METRICS_HEADER + rows, newline="")
    if finished:
        (path / "results.json").write_text(json.dumps(results or good_results(), indent=2))
    return path


def _replace(name: str, content: bytes | str | None):
    """Overwrite one file of the run (None: make it a folder)."""
    def damage(run: Path) -> None:
        target = run / name
        target.unlink(missing_ok=True)
        if content is None:
            target.mkdir()
            (target / "inside.txt").write_text("not a config")
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    return damage


#: name -> (finished, how the run is damaged, what the reason shown beside it starts with, words in it).
#: Events damage is in unfinished runs: their status is read from the events.
DAMAGES = {
    "results-bad-json": (True, _replace("results.json", '{"task": "forecast", "status": '),
                         "results.json: not valid JSON", ""),
    "results-binary": (True, _replace("results.json", BINARY), "results.json: not a text file", ""),
    "results-list": (True, _replace("results.json", "[1, 2]"), "results.json: expected a JSON object", "list"),
    "results-metrics-list": (True, _replace("results.json", json.dumps(good_results(metrics=[1, 2]))),
                             "results.json: 'metrics' must be an object", "list"),
    "results-string-metric": (True, _replace("results.json", json.dumps(good_results(
        metrics={"val": {"mse": 0.1}, "test": {"mse": "0.2"}}))), "results.json: 'metrics.test.mse' must be a number",
        "string"),
    "config-binary": (True, _replace("config.yaml", BINARY), "config.yaml: not a text file", ""),
    "config-folder": (True, _replace("config.yaml", None), "config.yaml: is a folder", ""),
    "config-backbone-hello": (True, _replace("config.yaml", "task: forecast\nbackbone: hello\n"),
                              "config.yaml: 'backbone' must be a mapping", ""),
    "config-unknown-structure": (True, _replace("config.yaml", "task: forecast\nlayers: [1, 2]\n"),
                                 "config.yaml: unknown top-level key", "layers"),
    "config-list": (True, _replace("config.yaml", "- task\n- forecast\n"), "config.yaml: expected a run configuration",
                    "list"),
    "config-bomb": (True, _replace("config.yaml", BOMB), "config.yaml: YAML aliases expand to over", "refused"),
    "events-list-line": (False, _replace("events.jsonl", event_lines(STARTED) + "[1, 2]\n"),
                         "events.jsonl, line 2: not an event", "list"),
    "events-binary": (False, _replace("events.jsonl", BINARY), "events.jsonl, line 1: not a text file", ""),
    "metrics-binary": (True, _replace("metrics.csv", BINARY), "metrics.csv, line 1: not a text file", ""),
}


def write_damaged(root: Path, name: str) -> Path:
    finished, damage, _, _ = DAMAGES[name]
    run = write_run(root / "forecast" / name, finished=finished)
    damage(run)
    return run

"""The run directory: ``runs/<task>/<timestamp>-<slug>/`` with config, events, metrics,
checkpoints, predictions and results; plus listing old runs and loading a trained one.

``results.json`` is written last and atomically: a run without it did not finish, whatever else
its directory holds.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import UserError

RUNS_ENV = "RNN_SUITE_RUNS"
#: set by rank zero so that the processes Lightning's DDP launcher starts write into the same run
RUN_DIR_ENV = "RNN_SUITE_RUN_DIR"


def runs_root() -> Path:
    return Path(os.environ.get(RUNS_ENV) or "runs")


#: what a run writes at its top level; a --run-dir that already holds any of these is refused, and only
#: these (plus the outputs results.json lists) are ever removed from a run folder
RUN_FILES = ("config.yaml", "events.jsonl", "metrics.csv", "results.json", "checkpoints")


class Run:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        #: folders this process created for the run, outermost first: all that discard() may remove
        self.created_dirs: list[Path] = []

    # well-known files
    config_path = property(lambda self: self.path / "config.yaml")
    events_path = property(lambda self: self.path / "events.jsonl")
    metrics_path = property(lambda self: self.path / "metrics.csv")
    results_path = property(lambda self: self.path / "results.json")
    checkpoints = property(lambda self: self.path / "checkpoints")
    best_checkpoint = property(lambda self: self.checkpoints / "best.ckpt")
    last_checkpoint = property(lambda self: self.checkpoints / "last.ckpt")

    @classmethod
    def create(cls, task: str, slug: str, path: str | os.PathLike | None = None) -> Run:
        """A new run directory; an explicit ``path`` must not already hold a run."""
        if path is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            base = runs_root() / task / f"{stamp}-{slug}"
            candidate, n = base, 1
            while candidate.exists():
                n += 1
                candidate = base.with_name(f"{base.name}-{n}")
            path = candidate
        run = cls(path)
        if run.config_path.exists():
            raise UserError(f"{run.path}: already holds a run; use --resume {run.path} to continue it, "
                            f"or choose another --run-dir")
        if run.path.exists() and not run.path.is_dir():
            raise UserError(f"{run.path}: exists and is not a folder; choose another --run-dir")
        clashing = [name for name in RUN_FILES if (run.path / name).exists()]
        if clashing:
            raise UserError(f"{run.path}: already holds {', '.join(clashing)}, which a run would overwrite; "
                            f"choose another --run-dir")
        run._make_dirs(run.checkpoints)
        return run

    def _make_dirs(self, target: Path) -> None:
        missing = []
        for folder in [target, *target.parents]:
            if folder.exists():
                break
            missing.append(folder)
        for folder in reversed(missing):
            folder.mkdir(exist_ok=False)
            self.created_dirs.append(folder)

    def discard(self) -> None:
        """Undo :meth:`create` after a failed setup: remove the folders it made, if still empty.

        Never removes a file, nor a folder that existed before this run was created."""
        for folder in reversed(self.created_dirs):
            try:
                folder.rmdir()
            except OSError:  # not empty (someone else wrote there) or already gone: leave it
                pass
        self.created_dirs = []

    @classmethod
    def open(cls, path: str | os.PathLike) -> Run:
        run = cls(path)
        if not run.path.is_dir():
            raise UserError(f"{run.path}: run directory not found")
        if not run.config_path.exists():
            raise UserError(f"{run.path}: not a run directory (no config.yaml)")
        return run

    def delete(self) -> list[Path]:
        """Remove what the run wrote (its files, checkpoints and listed outputs), then the folder if that
        leaves it empty. Anything else in the folder is the user's and stays; it is returned."""
        outputs: list[str] = []
        try:
            outputs = [str(p) for p in (self.results() or {}).get("outputs") or []]
        except (OSError, ValueError):
            pass
        for name in [*RUN_FILES, "results.json.tmp", *outputs]:
            target = self.path / name
            if target.resolve().parent != self.path.resolve() and name not in RUN_FILES:
                continue  # an output listed outside the folder is not the run's to remove
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target, ignore_errors=True)
            elif target.exists() or target.is_symlink():
                target.unlink(missing_ok=True)
        kept = sorted(self.path.iterdir()) if self.path.is_dir() else []
        if not kept:
            self.path.rmdir()
        return kept

    def write_config(self, text: str) -> None:
        self.config_path.write_text(text, encoding="utf-8")

    def read_config(self) -> dict[str, Any]:
        try:
            data = yaml.safe_load(self.config_path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise UserError(f"{self.config_path}: not valid YAML ({exc})") from None
        if not isinstance(data, dict) or "task" not in data:
            raise UserError(f"{self.config_path}: expected a run configuration with a 'task' key")
        return data

    def write_results(self, results: dict[str, Any]) -> None:
        write_json_atomic(self.results_path, results)

    def results(self) -> dict[str, Any] | None:
        if not self.results_path.exists():
            return None
        return json.loads(self.results_path.read_text(encoding="utf-8"))

    def events(self) -> list[dict[str, Any]]:
        """The run's events; a line cut short by a killed process is skipped."""
        if not self.events_path.exists():
            return []
        out = []
        for line in self.events_path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def status(self) -> str:
        """finished | stopped | failed | incomplete (running, or killed)."""
        results = self.results()
        if results is not None:
            return results.get("status", "finished")
        events = self.events()
        if events and events[-1].get("event") == "error":
            return "failed"
        return "incomplete"


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class RunSummary:
    path: Path
    task: str
    status: str
    started: float
    config: dict[str, Any]
    results: dict[str, Any] | None


def list_runs(root: str | os.PathLike | None = None) -> list[RunSummary]:
    """Every run under ``root`` (newest first), however it ended."""
    root = Path(root) if root else runs_root()
    found = []
    for config in root.glob("*/*/config.yaml"):
        run = Run(config.parent)
        try:
            cfg = run.read_config()
        except UserError:
            continue
        found.append(RunSummary(run.path, cfg.get("task", "?"), run.status(), config.stat().st_mtime, cfg,
                                run.results()))
    return sorted(found, key=lambda r: r.started, reverse=True)

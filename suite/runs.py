"""The run directory: ``runs/<task>/<timestamp>-<slug>/`` with config, events, metrics,
checkpoints, predictions and results; plus listing old runs and loading a trained one.

``results.json`` is written last and atomically: a run without it did not finish, whatever else
its directory holds.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import write_json_atomic, write_text_atomic
from .errors import UserError
from .run_notes import NOTES_FILE, RunNotes, read_notes
from .runfiles import read_events, read_metric_rows, read_results, read_run_config, reason

RUNS_ENV = "RNN_SUITE_RUNS"
#: set by rank zero so that the processes Lightning's DDP launcher starts write into the same run
RUN_DIR_ENV = "RNN_SUITE_RUN_DIR"


def runs_root() -> Path:
    return Path(os.environ.get(RUNS_ENV) or "runs")


#: what a run writes at its top level; a --run-dir that already holds any of these is refused, and only
#: these (plus the outputs results.json lists) are ever removed from a run folder
RUN_FILES = ("config.yaml", "events.jsonl", "metrics.csv", "diagnostics.jsonl", "results.json", "checkpoints", "logs",
             NOTES_FILE, "window.log")  # window.log: the desktop window's copy of the run's output (gui/run_logs.py)
LOCK_FILE = ".rnn-suite.lock"


def _lock_exclusively(fd: int) -> None:
    """Raise OSError if another process holds the lock."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


class Run:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        #: folders this process created for the run, outermost first: all that discard() may remove
        self.created_dirs: list[Path] = []
        self._lock_fd: int | None = None
        self._made_lock = False

    # well-known files
    config_path = property(lambda self: self.path / "config.yaml")
    events_path = property(lambda self: self.path / "events.jsonl")
    metrics_path = property(lambda self: self.path / "metrics.csv")
    results_path = property(lambda self: self.path / "results.json")
    checkpoints = property(lambda self: self.path / "checkpoints")
    lock_path = property(lambda self: self.path / LOCK_FILE)
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
        if run.path.exists() and not run.path.is_dir():
            raise UserError(f"{run.path}: exists and is not a folder; choose another --run-dir")
        run._make_dirs(run.path)
        try:
            run.claim()
            if run.config_path.exists():
                raise UserError(f"{run.path}: already holds a run; use --resume {run.path} to continue it, "
                                f"or choose another --run-dir")
            clashing = [name for name in RUN_FILES if (run.path / name).exists()]
            if clashing:
                raise UserError(f"{run.path}: already holds {', '.join(clashing)}, which a run would overwrite; "
                                f"choose another --run-dir")
            run._make_dirs(run.checkpoints)
        except BaseException:
            run.discard()
            raise
        return run

    def _make_dirs(self, target: Path) -> None:
        missing = []
        for folder in [target, *target.parents]:
            if folder.exists():
                break
            missing.append(folder)
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except FileExistsError:  # made meanwhile by another process: not ours to remove
                continue
            except OSError as exc:
                raise UserError(f"{folder}: cannot create the run folder ({exc.strerror or exc})") from None
            self.created_dirs.append(folder)

    def claim(self) -> None:
        """Hold the run folder for this process, so that no second run writes into it at the same time.

        An advisory lock on a file in the folder: the system releases it when the process ends, however
        it ends, so a killed run never leaves a stale claim."""
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            self._made_lock = True
        except FileExistsError:
            fd = os.open(self.lock_path, os.O_RDWR)
        except OSError as exc:
            raise UserError(f"{self.path}: cannot write in the run folder ({exc.strerror or exc})") from None
        try:
            _lock_exclusively(fd)
        except OSError:
            os.close(fd)
            raise UserError(f"{self.path}: another process is writing this run; wait for it to end, "
                            f"or choose another --run-dir") from None
        self._lock_fd = fd

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def discard(self) -> None:
        """Undo :meth:`create` after a failed setup: remove the folders it made, if still empty.

        Never removes a file, nor a folder that existed before this run was created."""
        self.release()
        if self._made_lock:
            self.lock_path.unlink(missing_ok=True)
            self._made_lock = False
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
        except (OSError, ValueError, UserError):  # a damaged results.json: its outputs are unknown, and stay
            pass
        partial = [p.name for p in self.path.glob(".*.tmp") if p.name[1:].startswith(RUN_FILES)]
        for name in [*RUN_FILES, LOCK_FILE, *partial, *outputs]:
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

    def relative(self, path: str | os.PathLike) -> str:
        """``path`` relative to the run folder when it lies inside it, so a copied run stays whole."""
        target = Path(path)
        try:
            return target.resolve().relative_to(self.path.resolve()).as_posix()
        except ValueError:
            return str(target)

    def checkpoint_file(self, recorded: str | None) -> Path | None:
        """The checkpoint that results.json names, found in this run's own folder.

        Runs written before paths were relative recorded absolute ones; a run copied since then must not
        reach back into the original, so only the file name is kept from those."""
        if not recorded:
            return None
        path = Path(recorded)
        if path.is_absolute():
            return self.checkpoints / path.name
        return self.path / path

    def write_config(self, text: str) -> None:
        write_text_atomic(self.config_path, text)

    # The readers trust nothing in the files (see runfiles.py): damage is a UserError naming the file.
    def read_config(self) -> dict[str, Any]:
        return read_run_config(self.config_path)

    def write_results(self, results: dict[str, Any]) -> None:
        write_json_atomic(self.results_path, results)

    def results(self) -> dict[str, Any] | None:
        if not (self.results_path.exists() or self.results_path.is_symlink()):
            return None
        return read_results(self.results_path)

    def events(self, head: int | None = None) -> list[dict[str, Any]]:
        """The run's events (from the first ``head`` bytes only, if given); a line cut short by a killed
        process is skipped."""
        if not (self.events_path.exists() or self.events_path.is_symlink()):
            return []
        return read_events(self.events_path, head)

    def metric_rows(self, head: int | None = None) -> list[dict[str, str]]:
        """metrics.csv as rows of strings (from the first ``head`` bytes only, if given)."""
        if not (self.metrics_path.exists() or self.metrics_path.is_symlink()):
            return []
        return read_metric_rows(self.metrics_path, head)

    def status(self, results: dict[str, Any] | None = None) -> str:
        """finished | stopped | failed | incomplete (running, or killed). ``results``: already read."""
        results = self.results() if results is None else results
        if results is not None:
            return results.get("status") or "finished"
        events = self.events()
        if events and events[-1].get("event") == "error":
            return "failed"
        return "incomplete"


@dataclass
class RunSummary:
    path: Path
    task: str
    status: str  # finished | stopped | failed | incomplete | damaged
    started: float
    config: dict[str, Any]
    results: dict[str, Any] | None
    #: why the run cannot be used (status "damaged"), e.g. "results.json: not valid JSON (...)"
    damaged: str | None = None
    #: the user's name, tags and notes for the run (suite/run_notes.py); empty when it has none
    notes: RunNotes = field(default_factory=RunNotes)
    #: why notes.json cannot be read, e.g. "notes.json: not valid JSON (...)"; the run itself is listed as usual
    notes_damaged: str | None = None


#: bytes of events.jsonl and metrics.csv checked when listing: enough to tell a foreign or binary file,
#: without reading every long run's history at start-up (the whole file is checked when it is used)
SNIFF_BYTES = 65_536


def list_runs(root: str | os.PathLike | None = None) -> list[RunSummary]:
    """Every run under ``root`` (newest first), however it ended; a damaged one is listed as such."""
    root = Path(root) if root else runs_root()
    found = [summarise(Run(folder)) for folder in _run_folders(root)]
    return sorted(found, key=lambda r: r.started, reverse=True)


#: ``runs/<task>/sweeps/<sweep>/trials/<trial>/``: a sweep's trials are runs too (see suite/sweeps)
SWEEPS_FOLDER, TRIALS_FOLDER = "sweeps", "trials"


def _run_folders(root: Path) -> list[Path]:
    """``root/<task>/<run>/`` folders holding a config.yaml, even a dangling link (which glob skips), and the
    trials of the sweeps in ``root/<task>/sweeps/<sweep>/trials/<trial>/``. A sweep's own folder is no run,
    and is not listed (as a damaged one or otherwise)."""
    def folders(parent: Path) -> list[Path]:
        try:
            return [p for p in parent.iterdir() if p.is_dir()]
        except OSError:  # missing, not a folder, or not ours to read
            return []

    def is_run(folder: Path) -> bool:
        return (folder / "config.yaml").exists() or (folder / "config.yaml").is_symlink()

    found = []
    for task in folders(root):
        for run in folders(task):
            if is_run(run):
                found.append(run)
            elif run.name == SWEEPS_FOLDER:
                found += [trial for sweep in folders(run) for trial in folders(sweep / TRIALS_FOLDER) if is_run(trial)]
    return found


def _task_of_folder(path: Path) -> str:
    """The task a run's folder is filed under: runs/<task>/<run>, or runs/<task>/sweeps/<sweep>/trials/<trial>."""
    if path.parent.name == TRIALS_FOLDER and path.parent.parent.parent.name == SWEEPS_FOLDER:
        return path.parent.parent.parent.parent.name
    return path.parent.name


def summarise(run: Run) -> RunSummary:
    """The run's summary for a listing; never raises for what is in its files."""
    try:
        started = run.config_path.stat().st_mtime
    except OSError:  # a dangling link
        started = 0.0
    cfg: dict[str, Any] = {}
    results = None
    notes, notes_damaged = RunNotes(), None
    try:
        notes = read_notes(run.path)
    except UserError as exc:
        notes_damaged = reason(exc, run.path)
    try:
        cfg = run.read_config()
        results = run.results()
        status = run.status(results)
        if results is not None:  # status did not need the events: still, a foreign file is damage
            run.events(head=SNIFF_BYTES)
        run.metric_rows(head=SNIFF_BYTES)
    except UserError as exc:
        # the task from the folder (runs/<task>/<run>, or a sweep's trial) when the config cannot say
        return RunSummary(run.path, cfg.get("task") or _task_of_folder(run.path), "damaged", started, cfg, results,
                          damaged=reason(exc, run.path), notes=notes, notes_damaged=notes_damaged)
    return RunSummary(run.path, cfg["task"], status, started, cfg, results, notes=notes, notes_damaged=notes_damaged)

"""One trial: its command line, its process, and what its event stream says.

The trial is an ordinary run (``python -m suite --task ... --events stdout --run-dir DIR``): the sweep
reads its JSON-line events, reports the validation metric of each epoch, writes ``stop`` to its standard
input when the pruner says so, and turns the end of the process into an outcome: complete, pruned, or
failed with a one-line reason (the run's own ``error`` event, a NaN, a crash, a non-zero exit).
"""

from __future__ import annotations

import json
import math
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import UserError
from .launch import TrialProcess, start_trial
from .spec import Setting

#: how long a trial asked to stop (or the sweep interrupted) may take to end before it is killed
STOP_GRACE_S = 120.0


def flag_args(settings: dict[str, Any], known: dict[str, Setting]) -> list[str]:
    """Dotted settings as the command line's flags (``--lr=0.001``, ``--no-plot``)."""
    args: list[str] = []
    for key, value in settings.items():
        setting = known[key]
        if setting.base is bool and isinstance(value, bool):
            args.append(setting.flag if value else f"--no-{setting.name}")
            continue
        if isinstance(value, (list, tuple)):
            value = ",".join(map(str, value))
        elif isinstance(value, float):
            value = repr(value)
        elif value is None:
            value = "none"
        args.append(f"{setting.flag}={value}")
    return args


def trial_argv(task: str, explicit: dict[str, Any], known: dict[str, Setting], run_dir: Path, *,
               preset: str | None = None, config: str | None = None, data_root: str | None = None) -> list[str]:
    argv = ["--task", task]
    if preset:
        argv += ["--preset", preset]
    if config:
        argv += ["--config", config]
    argv += flag_args(explicit, known)
    if data_root:
        argv += ["--data-root", data_root]
    return [*argv, "--events", "stdout", "--run-dir", str(run_dir)]


def slug(settings: dict[str, Any], seed: int | None, limit: int = 48) -> str:
    parts = [f"{k}-{v:.4g}" if isinstance(v, float) else f"{k}-{v}" for k, v in settings.items()]
    parts += [f"s{seed}"] if seed is not None else []
    text = re.sub(r"[^A-Za-z0-9._=+-]+", "_", "-".join(parts)).strip("_-.") or "trial"
    return text[:limit].rstrip("_-.")


@dataclass
class Outcome:
    """How a trial ended. ``status``: COMPLETE, PRUNED or FAIL."""

    status: str
    value: float | None = None  # the validation metric of the best checkpoint
    test: float | None = None
    error: str = ""
    curve: list[float | None] = field(default_factory=list)  # the validation metric per epoch
    best_epoch: int | None = None
    epochs: int | None = None
    fit_seconds: float | None = None
    parameters: int | None = None
    run_dir: str = ""
    returncode: int | None = None
    interrupted: bool = False  # ended by the sweep's own stop (Ctrl-C): to be run again
    pruned_at: int | None = None  # the epoch (from 1) whose validation metric the pruner stopped it on
    test_split: str | None = None  # "test", or what the run tested on when its data has no test split


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "did not end"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (out of memory?)" if -code == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return f"exit code {code}"


def _last_error_line(log: Path) -> str:
    """The last ``error: ...`` or exception line of the trial's standard error, if any."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[-200:]
    except OSError:
        return ""
    for line in reversed(lines):
        text = line.strip()
        if text.startswith("error: "):
            return text[len("error: "):]
        if re.match(r"^[A-Za-z_.]*(Error|Exception|Interrupt)\b", text):
            return text
    return ""


class TrialRun:
    """Runs one trial's process to its end; ``report(epoch, value) -> bool`` says whether to prune."""

    def __init__(self, argv: list[str], log: Path, monitor: str, mode: str = "min", *, launcher: str = "subprocess",
                 preload: list[str] | None = None,
                 report: Callable[[int, float], bool] | None = None,
                 on_start: Callable[[TrialProcess], None] | None = None):
        self.argv, self.log, self.monitor, self.mode = argv, log, monitor, mode
        self.launcher, self.preload = launcher, preload
        self.report = report
        self.on_start = on_start
        self.process: TrialProcess | None = None
        self.stop_requested: str | None = None  # "prune" or "interrupt"
        self.pruned_at: int | None = None
        self._stop_sent_at: float | None = None

    def request_stop(self, why: str) -> None:
        """Ask the trial to end at its next batch (it then tests its best checkpoint and writes results)."""
        if self.stop_requested is None:
            self.stop_requested = why
            self._stop_sent_at = time.monotonic()
            if self.process:
                self.process.stop()
                if why == "interrupt":
                    self.process.terminate()  # a graceful end too, even if stdin is not read yet

    def run(self) -> Outcome:
        try:
            self.process = start_trial(self.argv, self.log, self.launcher, self.preload)
        except OSError as exc:
            return Outcome("FAIL", error=f"could not start the trial's process ({exc.strerror or exc})")
        if self.on_start:
            self.on_start(self.process)
        if self.stop_requested:
            self.process.terminate()
        key = f"val/{self.monitor}"
        events: dict[str, Any] = {}
        curve: dict[int, float | None] = {}
        steps: dict[int, int] = {}  # the global step at each epoch's end
        best_epoch = None
        error = ""
        try:
            for line in self.process.stdout:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(event, dict):
                    continue
                kind = event.get("event")
                if kind in ("started", "finished", "interrupted", "stopping"):
                    events[kind] = event
                elif kind == "error":
                    error = str(event.get("message") or "failed")
                elif kind == "checkpoint" and event.get("kind") == "best" and isinstance(event.get("epoch"), int):
                    best_epoch = event["epoch"]
                elif kind == "epoch_end":
                    epoch = event.get("epoch")
                    metrics = event.get("metrics") if isinstance(event.get("metrics"), dict) else {}
                    value = _number(metrics.get(key))
                    if isinstance(epoch, int):
                        curve[epoch] = value
                        if isinstance(event.get("step"), int):
                            steps[epoch] = event["step"]
                        if value is not None and self.report and self.stop_requested is None:
                            if self.report(epoch, value):
                                self.pruned_at = epoch + 1
                                self.request_stop("prune")
        finally:
            code = self.process.wait(STOP_GRACE_S if self.stop_requested else None)
            if code is None:  # asked to stop and still going: it has had its chance
                self.process.kill()
                code = self.process.wait(10)
            self.process.close()
        return self._outcome(events, curve, best_epoch, error, code, steps)

    def _outcome(self, events: dict[str, Any], curve: dict[int, float | None], best_epoch: int | None,
                 error: str, code: int | None, steps: dict[int, int] | None = None) -> Outcome:
        finished = events.get("finished") or {}
        run_dir = finished.get("run_dir") or (events.get("started") or {}).get("run_dir") or ""
        out = Outcome("FAIL", curve=[curve[e] for e in sorted(curve)], best_epoch=best_epoch, run_dir=run_dir,
                      returncode=code)
        if curve:
            out.epochs = max(curve) + 1
        metrics = finished.get("metrics") if isinstance(finished.get("metrics"), dict) else {}
        val = metrics.get("val") if isinstance(metrics.get("val"), dict) else {}
        test = metrics.get("test") if isinstance(metrics.get("test"), dict) else {}
        out.value, out.test = _number(val.get(self.monitor)), _number(test.get(self.monitor))
        out.fit_seconds = _number(finished.get("fit_seconds"))
        if isinstance(finished.get("epochs_completed"), int):
            out.epochs = finished["epochs_completed"]
        if run_dir:
            out.parameters, out.test_split = _from_results(Path(run_dir))
        if out.best_epoch is None and out.curve:
            known = [(v, e) for e, v in enumerate(out.curve) if v is not None]
            if known:
                out.best_epoch = (max(known) if self.mode == "max" else min(known))[1]
        ended_whole = finished.get("status") == "finished" and code == 0  # it was done before the stop arrived
        if (self.stop_requested == "interrupt" or "interrupted" in events) and not ended_whole:
            out.interrupted = self.stop_requested == "interrupt"
            out.error = "interrupted" + (f" by {events['interrupted'].get('signal')}"
                                         if events.get("interrupted", {}).get("signal") else "")
            return out
        trained = _whole_epochs(events.get("stopping"), steps or {})
        limit = (events.get("started") or {}).get("max_epochs")
        cut_short = trained is not None and not (isinstance(limit, int) and trained >= limit)
        if self.stop_requested == "prune" and cut_short and not ended_whole:
            # the epochs it trained whole; the stop reached it during the next, which ended at its next batch
            # (with a validation, which can still give its best checkpoint)
            out.status, out.pruned_at, out.epochs = "PRUNED", self.pruned_at, trained
            out.curve = out.curve[:trained]
            return out
        if not finished or code != 0:
            out.error = error or _last_error_line(self.log) or _exit_reason(code)
            if code not in (0, None) and not error:
                out.error = f"{out.error} ({_exit_reason(code)})" if out.error != _exit_reason(code) else out.error
            return out
        if out.value is None:
            out.error = f"the validation {self.monitor} is not a number (NaN or missing)"
            return out
        out.status = "COMPLETE"
        return out


def _whole_epochs(stopping: dict[str, Any] | None, steps: dict[int, int]) -> int | None:
    """How many epochs a run stopped by ``stop`` trained whole, from its ``stopping`` event (None if the stop
    came after training had ended): the epochs before the one the stop took effect in, and that one too when
    the stop came at its last batch (as many steps as the epoch before it)."""
    if not stopping or not isinstance(stopping.get("epoch"), int):
        return None
    epoch = stopping["epoch"]  # Lightning's current_epoch there: the epochs completed before it
    end, before, earlier = steps.get(epoch), steps.get(epoch - 1), steps.get(epoch - 2, 0)
    if None not in (end, before) and epoch >= 1 and end - before >= before - earlier:
        return epoch + 1
    return epoch


def _from_results(run_dir: Path) -> tuple[int | None, str | None]:
    """The run's parameter count and what its test metrics were measured on, from its results.json."""
    from ..runfiles import read_results

    try:
        results = read_results(run_dir / "results.json")
    except (OSError, UserError):
        return None, None
    value, split = results.get("parameters"), results.get("test_split")
    return (value if isinstance(value, int) and not isinstance(value, bool) else None,
            split if isinstance(split, str) else None)

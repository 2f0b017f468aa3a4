"""What the Training tab says about a run opened from its folder: the lines of its log, its status line,
its metric beside the baseline, and how far it got. Pure Python over the run contract's files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from suite.errors import UserError
from suite.runs import Run, RunSummary


@dataclass
class Record:
    monitor: str          # the validation metric to plot, without "val/"
    lines: list[str]      # the log
    status: str           # the status line
    metric: str           # the metric label: val <monitor> <value> (baseline <value>)
    fraction: float       # of the run's epochs done, for the progress bar
    baseline: float | None


def _score(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else "n/a"


def record(run: RunSummary, task_monitor: str | None) -> Record:
    """``task_monitor``: the run's task's monitor, for a run whose results.json does not name one (it failed
    or was killed); the form's task plays no part, since the run may be another task's."""
    results = run.results or {}
    monitor = str(results.get("monitor") or task_monitor or "loss").removeprefix("val/")
    lines = [f"run {run.path}", f"{run.task} {run.status}"]
    if results:
        from suite.cli import format_metrics_table  # the table the command line prints at a run's end

        metrics = results.get("metrics") or {}
        test, val = metrics.get("test") or {}, metrics.get("val") or {}
        try:
            lines.append(format_metrics_table(test or val, val if test else None, results.get("baseline")))
        except (KeyError, TypeError, AttributeError):  # an older run's results: its scores, plainly
            lines += [f"{split} {name} {_score(value)}" for split, scores in metrics.items()
                      for name, value in (scores or {}).items()]
        lines += [f"{split} {monitor} {_score(scores.get(monitor))}" for split, scores in (("val", val), ("test", test))
                  if monitor in scores]
    else:
        lines.append(_why_unfinished(run))
    epochs = results.get("epochs_completed")
    max_epochs = ((run.config or {}).get("train") or {}).get("max_epochs")
    if results and run.status == "finished":
        fraction = 1.0
    elif isinstance(epochs, int) and isinstance(max_epochs, int) and max_epochs > 0:
        fraction = min(1.0, epochs / max_epochs)
    else:
        fraction = 0.0
    val = ((results.get("metrics") or {}).get("val") or {}).get(monitor)
    base = (((results.get("baseline") or {}).get("val")) or {}).get(monitor)
    metric = ""
    if val is not None:
        metric = f"val {monitor} {_score(val)}" + (f" (baseline {_score(base)})" if base is not None else "")
    return Record(monitor, lines, f"showing the {run.status} {run.task} run {run.path}", metric, fraction,
                  float(base) if isinstance(base, (int, float)) else None)


def _why_unfinished(run: RunSummary) -> str:
    try:
        events = Run(run.path).events()
    except UserError as exc:
        return f"its events cannot be read: {exc}"
    errors = [e.get("message") for e in events if e.get("event") == "error"]
    if errors:
        return f"error: {errors[-1]}"
    return "it has no results.json: it did not finish (killed, or still running); Resume continues it"

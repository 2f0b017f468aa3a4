"""The sweep folder's files (each written whole, see suite/atomic.py) and the printed table.

``sweep.yaml`` the specification; ``trials.csv`` one row per trial; ``summary.csv`` one row per
configuration (mean and standard deviation over seeds, ranked); ``best.yaml`` the best configuration's full
settings, as a run's config.yaml (``--config best.yaml``).
"""

from __future__ import annotations

import csv
import io
import math
import time
from pathlib import Path
from typing import Any

import yaml

from ..atomic import write_text_atomic
from .records import ConfigRow, TrialRow
from .spec import shown

SWEEP_FILE, TRIALS_FILE, SUMMARY_FILE, BEST_FILE = "sweep.yaml", "trials.csv", "summary.csv", "best.yaml"


def fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return f"{value:.6g}"
    return str(value)


def stamp(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(seconds)) + f".{int(seconds % 1 * 1000):03d}"


def relative(path: str, folder: Path) -> str:
    if not path:
        return ""
    try:
        return Path(path).resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return path


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


class _PlainDumper(yaml.SafeDumper):
    """YAML without anchors and aliases (&id001, *id001): an object that appears twice (the settings, in the
    file and in its ``spec``) is written out twice, so the file reads as plain YAML."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_sweep_yaml(folder: Path, data: dict[str, Any]) -> None:
    write_text_atomic(folder / SWEEP_FILE, yaml.dump(data, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True))


def read_sweep_yaml(folder: Path) -> dict[str, Any] | None:
    from ..saferead import read_yaml_mapping

    path = folder / SWEEP_FILE
    if not path.exists():
        return None
    return read_yaml_mapping(path, "sweep file", "a sweep specification")


def write_trials(folder: Path, rows: list[TrialRow], names: list[str], monitor: str) -> None:
    header = ["number", *names, "seed", "status", f"val_{monitor}", f"test_{monitor}", "best_epoch", "epochs",
              "fit_seconds", "parameters", "run_dir", "error", "started", "finished", "retry_of"]
    body = [[r.number, *(fmt(r.settings.get(n)) for n in names), fmt(r.seed), r.status, fmt(r.value), fmt(r.test),
             fmt(r.best_epoch), fmt(r.epochs), fmt(r.fit_seconds), fmt(r.parameters), relative(r.run_dir, folder),
             r.error, stamp(r.started), stamp(r.finished), fmt(r.retry_of)] for r in rows]
    write_text_atomic(folder / TRIALS_FILE, _csv(header, body))


def write_summary(folder: Path, configs: list[ConfigRow], names: list[str], monitor: str) -> None:
    header = ["rank", "best", *names, "n", "failed", "pruned", f"val_{monitor}_mean", f"val_{monitor}_std",
              f"test_{monitor}_mean", f"test_{monitor}_std", "parameters", "trials"]
    body = [[fmt(c.rank), "*" if c.best else "", *(fmt(c.settings.get(n)) for n in names), c.n, c.failed, c.pruned,
             fmt(c.val_mean), fmt(c.val_std), fmt(c.test_mean), fmt(c.test_std), fmt(c.parameters),
             " ".join(map(str, c.trials))] for c in configs]
    write_text_atomic(folder / SUMMARY_FILE, _csv(header, body))


def write_best(folder: Path, config_yaml: str) -> None:
    write_text_atomic(folder / BEST_FILE, config_yaml)


def trial_line(number: int, named: dict[str, Any], seed: int | None, outcome: Any, monitor: str) -> str:
    """What is printed as a trial ends."""
    label = " ".join(f"{k}={shown(v)}" for k, v in named.items())
    label = f"{label} seed={seed}".strip()
    if outcome.status == "FAIL":
        return f"trial {number} FAIL      {label}: {outcome.error}"
    took = f", {outcome.fit_seconds:.1f} s" if outcome.fit_seconds is not None else ""
    where = ""
    if outcome.status == "PRUNED":
        later = outcome.epochs is not None and outcome.pruned_at is not None and outcome.epochs > outcome.pruned_at
        where = f" (pruned at epoch {outcome.pruned_at}{f', stopped after epoch {outcome.epochs}' if later else ''})"
    return (f"trial {number} {outcome.status:<9} {label}: val {monitor} {fmt(outcome.value) or '-'}, "
            f"test {monitor} {fmt(outcome.test) or '-'}, {outcome.epochs or 0} epoch{'s' * (outcome.epochs != 1)}{took}{where}")


def _mean_std(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "-"
    return f"{mean:.4g}" + (f" ± {std:.2g}" if std is not None else "")


def format_table(configs: list[ConfigRow], names: list[str], monitor: str, note: str = "") -> str:
    header = ["rank", *names, "n", f"val {monitor}", f"test {monitor}", "parameters", ""]
    rows = [header]
    for c in configs:
        extra = ", ".join(part for part in (f"{c.failed} failed" if c.failed else "",
                                            f"{c.pruned} pruned" if c.pruned else "") if part)
        rows.append([(f"{c.rank} *" if c.best else str(c.rank)) if c.rank else "-",
                     *(shown(c.settings[n]) if n in c.settings else "" for n in names), str(c.n),
                     _mean_std(c.val_mean, c.val_std),
                     _mean_std(c.test_mean, c.test_std), f"{c.parameters:,}" if c.parameters else "-",
                     f"({extra})" if extra else ""])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    if note:
        lines.append(note)
    return "\n".join(lines)

"""The numbers behind the Runs tab's scalar comparison: one score per run, and the settings that differ
laid out as parallel-coordinate axes. Pure Python over RunSummary and metrics.csv rows, no Qt."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from suite.runs import RunSummary

from .names import flat_config, ordered

#: a numeric axis spanning this ratio or more (all values positive) is drawn in log10: 1e-4 .. 1e-2 as lr
LOG_SPAN = 100.0


@dataclass
class Score:
    value: float | None
    split: str  # "test", "val" (the best epoch's), or "" when the run has no such score


@dataclass
class Axis:
    key: str                          # the setting ("backbone.hidden"), or the metric's name
    kind: str                         # numeric | log | categorical
    positions: list[float | None]     # per run, in 0..1; None where the run has no value
    ticks: list[tuple[float, str]]    # (position, label)


def metric_names(runs: Sequence[RunSummary], rows: Mapping[str, Iterable[Mapping[str, str]]] | None = None) -> list[str]:
    """The scores any of ``runs`` has (test or val), their monitors first; for a run without results (killed,
    running), the validation metrics its ``rows`` (metrics.csv, by folder name) hold."""
    names: list[str] = []
    for run in runs:
        results = run.results or {}
        if results.get("monitor") and results["monitor"] not in names:
            names.insert(0, results["monitor"])
    for run in runs:
        metrics = (run.results or {}).get("metrics") or {}
        for split in ("test", "val"):
            names += [n for n in (metrics.get(split) or {}) if n not in names]
    for run in runs:
        if run.results is None:
            for row in (rows or {}).get(run.path.name, ()):
                metric = str(row.get("name", ""))
                if metric.startswith("val/") and metric[4:] not in names:
                    names.append(metric[4:])
    return names


def _finite(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def score(run: RunSummary, name: str, rows: Iterable[Mapping[str, str]] = (), mode: str = "min",
          monitor: str = "") -> Score:
    """The run's ``name`` on its test split, else on validation at its best epoch.

    A finished run's results say both. One without results (killed, running) is scored from metrics.csv:
    ``name`` at the epoch whose monitored metric (``monitor``: the task's) was best (``mode`` min or max), as
    its best checkpoint would have it."""
    metrics = (run.results or {}).get("metrics") or {}
    for split in ("test", "val"):
        scores = metrics.get(split) or {}
        if name in scores:
            return Score(_finite(scores[name]), split)
    monitor = (run.results or {}).get("monitor") or monitor
    history: dict[str, dict[int, float]] = {}
    for row in rows:
        metric = str(row.get("name", ""))
        if metric.startswith("val/"):
            try:
                history.setdefault(metric[4:], {})[int(float(row["epoch"]))] = float(row["value"])
            except (KeyError, TypeError, ValueError):
                continue
    wanted = history.get(name)
    if not wanted:
        return Score(None, "")
    ranking = history.get(monitor or "", {}) or wanted
    finite = {e: v for e, v in ranking.items() if math.isfinite(v) and e in wanted}
    if not finite:
        return Score(None, "")
    best = (max if mode == "max" else min)(finite, key=finite.get)
    return Score(_finite(wanted[best]), "val")


def differing_settings(configs: Sequence[Mapping]) -> list[str]:
    """The settings (flat keys) whose values are not all the same across ``configs``, in naming order."""
    flats = [flat_config(cfg or {}) for cfg in configs]
    keys = set().union(*flats) if flats else set()
    return ordered(k for k in keys if len({flat.get(k) for flat in flats}) > 1)


def _number(text: str | None) -> float | None:
    if text is None or text in ("True", "False", ""):  # a switch is a category, not 0 and 1
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _label(value: float) -> str:
    return f"{value:.4g}"


def axis(key: str, values: Sequence[str | float | None]) -> Axis:
    """One axis: numbers normalised to 0..1 (in log10 when they span decades), anything else as
    evenly spaced categories in sorted order."""
    texts = [None if v is None else str(v) for v in values]
    numbers = [_number(t) if not isinstance(v, float) else _finite(v) for t, v in zip(texts, values)]
    present = [n for n, t in zip(numbers, texts) if t is not None]
    if present and all(n is not None for n in present):
        low, high = min(present), max(present)
        log = low > 0 and high / low >= LOG_SPAN
        f = math.log10 if log else (lambda x: x)
        span = f(high) - f(low)
        positions = [None if n is None else (0.5 if span == 0 else (f(n) - f(low)) / span) for n in numbers]
        ticks = [(0.5, _label(low))] if span == 0 else [(0.0, _label(low)), (1.0, _label(high))]
        if span and len(set(present)) > 2:
            middle = 10 ** ((f(low) + f(high)) / 2) if log else (low + high) / 2
            ticks.insert(1, (0.5, _label(middle)))
        return Axis(key, "log" if log else "numeric", positions, ticks)
    categories = sorted({t for t in texts if t is not None}, key=lambda t: (_number(t) is None, _number(t) or 0, t))
    step = 1.0 / (len(categories) - 1) if len(categories) > 1 else 0.0
    where = {c: (i * step if len(categories) > 1 else 0.5) for i, c in enumerate(categories)}
    return Axis(key, "categorical", [None if t is None else where[t] for t in texts],
                [(where[c], c) for c in categories])


def parallel_axes(configs: Sequence[Mapping], scores: Sequence[float | None], metric: str) -> list[Axis]:
    """An axis per differing setting, then the metric's own."""
    flats = [flat_config(cfg or {}) for cfg in configs]
    axes = [axis(key, [flat.get(key) for flat in flats]) for key in differing_settings(configs)]
    return axes + [axis(metric, list(scores))]

"""What the Insight tab draws for one run, read from its diagnostics.jsonl and results.json (docs/INSIGHT.md).

Pure Python and numpy, no Qt: the heat map of ``||dL/dh_t||`` per layer (probe records by time step), the
gates, the clipping rate and gradient norm per window between records, the gradient ratios and the verdicts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from suite.errors import UserError
from suite.insight.store import FILE_NAME, read_diagnostics
from suite.runfiles import reason


@dataclass
class LayerMap:
    """One layer's curves stacked: ``grad[i, j]`` is ||dL/dh_t|| at time step ``t[j]`` of the record at
    training step ``steps[i]``; NaN where that record's sequences had no step ``t[j]``."""
    t: np.ndarray
    steps: np.ndarray
    grad: np.ndarray
    cell: str = ""


@dataclass
class Insight:
    run: Path
    #: why there is nothing to draw, with what to do about it; "" when there is
    missing: str = ""
    layers: dict[str, LayerMap] = field(default_factory=dict)
    #: per layer, per gate figure (saturated, forget, update, dead): (training steps, values)
    gates: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    #: per window between records: the record's step, clipped share (NaN: no clipping), median, max norm
    window_steps: np.ndarray = field(default_factory=lambda: np.empty(0))
    window_sizes: np.ndarray = field(default_factory=lambda: np.empty(0))
    clip_rate: np.ndarray = field(default_factory=lambda: np.empty(0))
    norm_median: np.ndarray = field(default_factory=lambda: np.empty(0))
    norm_max: np.ndarray = field(default_factory=lambda: np.empty(0))
    grad_clip: float = 0.0
    clipping_rate: float | None = None
    gradient_ratio: dict[str, float | None] = field(default_factory=dict)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    every: int | None = None


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def verdicts_of(results: dict | None) -> list[dict[str, Any]]:
    """results.json's verdicts, those that have a code and a message ([] for a run without them)."""
    found = (((results or {}).get("diagnostics") or {}).get("verdicts")) or []
    return [v for v in found if isinstance(v, dict) and isinstance(v.get("code"), str)
            and isinstance(v.get("message"), str)]


def layer_map(records: list[dict[str, Any]], name: str) -> LayerMap | None:
    """The records' curves of layer ``name`` on one grid of time steps: the longest record's. A record of a
    shorter batch (variable lengths) is interpolated onto it, in log space, up to its own last step."""
    rows = [(r["step"], r["layers"][name]) for r in records if isinstance(r.get("step"), int)
            and isinstance((r.get("layers") or {}).get(name), dict)]
    rows = [(step, layer) for step, layer in rows
            if isinstance(layer.get("t"), list) and isinstance(layer.get("grad"), list)
            and len(layer["t"]) == len(layer["grad"]) and layer["t"]
            and all(isinstance(t, int) and not isinstance(t, bool) for t in layer["t"])]
    if not rows:
        return None
    longest = max((layer for _, layer in rows), key=lambda layer: max(layer["t"]))
    t = np.asarray(longest["t"], dtype=float)
    grad = np.full((len(rows), len(t)), math.nan)
    for i, (_, layer) in enumerate(rows):
        ts = np.asarray(layer["t"], dtype=float)
        values = np.asarray([_number(v) for v in layer["grad"]])
        if len(ts) == len(t) and np.array_equal(ts, t):
            grad[i] = values
            continue
        inside = t <= ts.max()
        with np.errstate(divide="ignore"):
            logs = np.log10(values)
        spread = np.interp(t[inside], ts, logs)
        grad[i, inside] = np.where(np.isneginf(spread), 0.0, 10.0 ** spread)
    return LayerMap(t, np.asarray([step for step, _ in rows]), grad, str(longest.get("cell") or ""))


def log_range(maps: list[LayerMap]) -> tuple[float, float] | None:
    """log10 of the smallest and largest positive value over ``maps``: one colour scale for every map shown
    together, so an RNN's vanished gradient reads against an LSTM's. None when none has a positive value."""
    values = np.concatenate([m.grad.ravel() for m in maps]) if maps else np.empty(0)
    values = values[np.isfinite(values) & (values > 0)]
    if not values.size:
        return None
    low, high = float(np.log10(values.min())), float(np.log10(values.max()))
    return (low, high) if high > low else (low - 0.5, high + 0.5)


def _gates(records: list[dict[str, Any]]) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    series: dict[str, dict[str, tuple[list, list]]] = {}
    for record in records:
        for name, layer in (record.get("layers") or {}).items():
            for key, value in ((layer or {}).get("gates") or {}).items():
                if isinstance(record.get("step"), int) and math.isfinite(_number(value)):
                    xs, ys = series.setdefault(name, {}).setdefault(key, ([], []))
                    xs.append(record["step"])
                    ys.append(float(value))
    return {name: {key: (np.asarray(xs, dtype=float), np.asarray(ys)) for key, (xs, ys) in figures.items()}
            for name, figures in series.items()}


def _no_diagnostics(run: Path, config: dict | None) -> str:
    off = ((config or {}).get("train") or {}).get("diagnostics") is False
    why = "it was trained with --no-diagnostics" if off else "it was trained without them (--no-diagnostics, or " \
                                                               "before the suite recorded them)"
    return (f"{run.name} has no training diagnostics ({FILE_NAME}): {why}. Train it again with diagnostics on "
            "(the default; --diagnostics-every 20 probes every 20 steps for a denser picture).")


def load(run: Path, results: dict | None = None, config: dict | None = None) -> Insight:
    """Everything the Insight tab shows for ``run``; ``missing`` says why there is nothing, if so."""
    run = Path(run)
    found = Insight(run)
    path = run / FILE_NAME
    if not path.is_file():
        found.missing = _no_diagnostics(run, config)
        return found
    try:
        lines = read_diagnostics(path)
    except UserError as exc:
        found.missing = f"its diagnostics cannot be read: {reason(exc, run)}"
        return found
    starts = [line for line in lines if line["kind"] == "start"]
    if starts:
        found.grad_clip = _number(starts[-1].get("grad_clip")) if starts[-1].get("grad_clip") else 0.0
        found.every = starts[-1].get("every") if isinstance(starts[-1].get("every"), int) else None
    records = [line for line in lines if line["kind"] == "record"]
    found.notes = [line["message"] for line in lines if line["kind"] == "note" and isinstance(line.get("message"), str)]
    names = list(dict.fromkeys(name for r in records for name in (r.get("layers") or {})))
    for name in names:
        made = layer_map(records, name)
        if made is not None:
            found.layers[name] = made
    found.gates = _gates(records)
    windows = [r for r in records if isinstance(r.get("interval"), dict) and isinstance(r.get("step"), int)]
    windows = [r for r in windows if _number(r["interval"].get("steps")) > 0]
    found.window_steps = np.asarray([r["step"] for r in windows], dtype=float)
    found.window_sizes = np.asarray([r["interval"]["steps"] for r in windows], dtype=float)
    found.clip_rate = np.asarray([_number(r["interval"].get("clipped")) / r["interval"]["steps"] for r in windows])
    found.norm_median = np.asarray([_number(r["interval"].get("median")) for r in windows])
    found.norm_max = np.asarray([_number(r["interval"].get("max")) for r in windows])
    summary = (results or {}).get("diagnostics") or {}
    if isinstance(summary.get("layers"), dict) and summary["layers"]:
        found.gradient_ratio = {name: info.get("gradient_ratio") if isinstance(info, dict) else None
                                for name, info in summary["layers"].items()}
    else:  # still training, or killed: the last record says as much as results.json would
        last = next((r for r in reversed(records) if r.get("layers")), {})
        found.gradient_ratio = {name: (layer or {}).get("gradient_ratio") for name, layer in last.get("layers", {}).items()}
    if isinstance(summary.get("clipping_rate"), (int, float)):
        found.clipping_rate = float(summary["clipping_rate"])
    found.verdicts = verdicts_of(results)
    if not found.verdicts:  # a run that failed, or results.json from before diagnostics had verdicts
        judged = [line for line in lines if line["kind"] == "verdicts" and isinstance(line.get("verdicts"), list)]
        found.verdicts = verdicts_of({"diagnostics": {"verdicts": judged[-1]["verdicts"]}}) if judged else []
    if not records:
        found.missing = (f"{run.name} has no probe records yet: the first comes with its first training step "
                         "(a run stopped before it, or still starting).")
    return found


def results_verdicts(run: Path) -> list[dict[str, Any]]:
    """The verdicts in ``run``'s results.json; [] when it has none or cannot be read."""
    from suite.runs import Run, summarise

    try:
        return verdicts_of(summarise(Run(run)).results)
    except (UserError, OSError):
        return []

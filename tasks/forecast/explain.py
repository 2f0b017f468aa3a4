"""Which time steps and variables a forecast came from: Integrated Gradients on the input window.

The function explained is a forecast value: by default the first forecast step of every target, with
``--explain-horizon K`` the K-th step, with ``all`` every step of the model's horizon (recursive steps
beyond it, ``--predict-steps`` larger than the horizon, are forecasts of forecasts and are not
explained). Each is attributed to every input cell, a ``lookback x variables`` table (targets first,
then covariates), and reported in the target's own units: the network works in the scaled space, and
its output and so its attributions are multiplied back by the target's training standard deviation.

The baseline is the training mean of every input value, which is zero in the scaled space the network
reads: the usual reference for standardised inputs, the one value the scaler says nothing about. (With
``--window-norm last`` or ``mean`` the network subtracts the window's own level first, so a constant
window, this baseline, gives it a flat input: the attributions explain the shape of the history.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from suite.errors import UserError
from suite.insight.attribution import (check_steps, completeness_line, integrated_gradients, method_line,
                                       require_captum, rounded, signed, signed_bar)

if TYPE_CHECKING:
    from .models import ForecastModule
    from .task import ForecastTask

BASELINE = "the training mean of every input value (zero in the model's scaled space)"
#: input cells listed per explained value in the printed summary (all of them are in the JSON): more
#: for one or two targets, fewer when every target of a wide table gets its own list
SHOWN, SHOWN_MANY = 8, 4


def horizon_steps(horizon: str | int | None, steps: int) -> list[int]:
    """``--explain-horizon``: None -> the first step; K -> step K (1-based); ``all`` -> every step."""
    if horizon is None:
        return [0]
    text = str(horizon).strip().lower()
    if text == "all":
        return list(range(steps))
    if text.isdigit() and 1 <= int(text) <= steps:
        return [int(text) - 1]
    raise UserError(f"--explain-horizon: expected a forecast step from 1 to {steps} (this model's horizon) or "
                    f"'all', got {horizon!r}")


def series_window(task: ForecastTask, model: ForecastModule, raw_input: str, prediction: dict[str, Any]
                  ) -> tuple[torch.Tensor, list[str], list[str] | None]:
    """The scaled window predict read (rows before the prediction's origin), its row labels and times."""
    from .data import scale_checked
    from .task import split_origin

    state, lookback = model.state, model.cfg.options.lookback
    source, _ = split_origin(raw_input)
    values, times = task._history(source, state)
    origin = prediction["origin"]
    first = origin - lookback
    scaled = scale_checked(values[first:origin], state.mean, state.std, state.columns, source, first_row=first)
    rows = [f"row {first + i}" for i in range(lookback)]
    return torch.tensor(scaled, dtype=torch.float32), rows, times[first:origin] if times else None


def synthetic_window(model: ForecastModule, raw_input: str, prediction: dict[str, Any]
                     ) -> tuple[torch.Tensor, list[str], None]:
    """The scaled sequence predict read for a synthetic problem (the target column held at its mean)."""
    from .synthetic import generate, delay_of, parse_inline, problem_named, split_sizes

    state, opts = model.state, model.cfg.options
    problem = problem_named(opts.data)
    if prediction["example"] is not None:
        _, n_val, n_test = split_sizes(opts)
        n = n_test if prediction["split"] == "test" else n_val
        inputs, _ = generate(problem, n, opts.sequence_length, delay_of(opts), opts.data_seed, prediction["split"])
        inputs = inputs[prediction["example"], opts.sequence_length - opts.lookback:]
    else:
        inputs = parse_inline(problem, raw_input)
    mean, std = np.asarray(state.mean), np.asarray(state.std)
    rows = np.concatenate([np.full((len(inputs), 1), mean[0]), inputs], axis=1)
    return torch.tensor((rows - mean) / std, dtype=torch.float32), [f"step {i + 1}" for i in range(len(rows))], None


def explain(task: ForecastTask, model: ForecastModule, raw_input: str, *, steps: int | None = None,
            horizon: str | None = None) -> dict[str, Any]:
    from .synthetic import is_synthetic

    check_steps(steps)
    require_captum()
    state, opts = model.state, model.cfg.options
    synthetic = is_synthetic(opts.data)
    chosen = horizon_steps(horizon, 1 if synthetic else opts.horizon)
    prediction = task.predict(model, raw_input)
    if synthetic:
        window, labels, times = synthetic_window(model, raw_input, prediction)
    else:
        window, labels, times = series_window(task, model, raw_input, prediction)
    targets = list(state.targets)
    std = np.asarray(state.std)[: len(targets)]
    mean = np.asarray(state.mean)[: len(targets)]
    model.eval()
    window = window.to(model.device)
    with torch.no_grad():
        direct = model(window[None])[0].double().cpu().numpy() * std + mean  # (H, targets) in data units
    first = np.asarray([prediction["forecast"][c][0] for c in targets])
    if not np.allclose(direct[0], first, rtol=1e-4, atol=1e-6 * (1 + np.abs(first).max())):
        raise RuntimeError("the window rebuilt for --explain does not give predict's forecast")
    outputs = [(h, j) for h in chosen for j in range(len(targets))]
    rows_index = torch.tensor([h for h, _ in outputs], device=window.device)
    cols_index = torch.tensor([j for _, j in outputs], device=window.device)

    def forecast_values(batch: torch.Tensor) -> torch.Tensor:
        return model(batch)[:, rows_index, cols_index].double()  # (k, outputs), scaled units

    result = integrated_gradients(forecast_values, [window], [torch.zeros_like(window)], len(outputs), steps=steps)
    scales = [float(std[j]) for _, j in outputs]
    explained = []
    for n, (h, j) in enumerate(outputs):
        cells = result.values[0][n] * scales[n]  # (lookback, variables), in the target's units
        explained.append({"target": targets[j], "step": h + 1, "forecast": float(direct[h, j]),
                          "attributions": [[rounded(v) for v in row] for row in cells]})
    return {
        "method": "integrated_gradients",
        "target": "each explained forecast value, in the target's units",
        "baseline": BASELINE,
        "steps": result.steps,
        "variables": list(state.columns),
        "time_steps": labels,
        "times": times,
        "horizon_steps": [h + 1 for h in chosen],
        "attributions_layout": "per explained value: rows, the input time steps (oldest first); columns, the "
                               "variables",
        "explained": explained,
        "completeness": result.completeness([f"{targets[j]} step {h + 1}" for h, j in outputs], scales,
                                            "forecast value", offset=[float(mean[j]) for _, j in outputs]),
        "prediction": prediction,
    }


def render(explanation: dict[str, Any]) -> str:
    variables, labels, times = explanation["variables"], explanation["time_steps"], explanation["times"]
    items = explanation["explained"]
    lines = [method_line(explanation)]
    shown = SHOWN if len({item["target"] for item in items}) <= 2 else SHOWN_MANY
    if len(explanation["horizon_steps"]) > 1:  # several steps: per target, the cells summed over them
        merged: dict[str, dict[str, Any]] = {}
        for item in items:
            entry = merged.setdefault(item["target"], {"target": item["target"], "cells": None, "n": 0})
            cells = np.abs(np.asarray(item["attributions"]))
            entry["cells"] = cells if entry["cells"] is None else entry["cells"] + cells
            entry["n"] += 1
        for entry in merged.values():
            lines.append(f"{entry['target']}, {entry['n']} forecast steps: the input values that mattered most "
                         f"(|attribution| summed over the steps; each step's own table is in the JSON)")
            lines += _cells(entry["cells"], variables, labels, times, shown, signed_values=False)
    else:
        for item in items:
            cells = np.asarray(item["attributions"])
            lines.append(f"{item['target']}, forecast step {item['step']} = {item['forecast']:.6g}: the input "
                         f"values that mattered most, of {cells.size}")
            lines += _cells(cells, variables, labels, times, shown)
            totals = cells.sum(axis=0)
            told = [f"{v} {signed(t)}" for v, t in zip(variables, totals) if t != 0]
            idle = [v for v, t in zip(variables, totals) if t == 0]  # unread (channel independence) or held
            lines.append("  by variable: " + (", ".join(told) or "none") +
                         (f"; exactly 0 from {', '.join(idle)}" if idle else ""))
    lines.append(completeness_line(explanation["completeness"]))
    return "\n".join(lines)


def _cells(cells: np.ndarray, variables: list[str], labels: list[str], times: list[str] | None, shown: int,
           signed_values: bool = True) -> list[str]:
    order = np.argsort(-np.abs(cells), axis=None)[:shown]
    scale = float(np.abs(cells).max()) if cells.size else 0.0
    places = [labels[i] + (f" ({times[i]})" if times else "") for i in range(len(labels))]
    width = max(len(places[i // cells.shape[1]]) for i in order)
    var_width = max(len(v) for v in variables)
    lines = []
    for flat in order:
        i, c = divmod(int(flat), cells.shape[1])
        value = cells[i, c]
        shown = signed(value) if signed_values else f"{value:.4g}"
        lines.append(f"  {places[i]:<{width}}  {variables[c]:<{var_width}}  {shown:>10}  {signed_bar(value, scale)}")
    return lines

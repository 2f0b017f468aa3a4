"""``--export`` for the forecast task: the window-to-horizon network, the scaler and settings as JSON, and
the standalone predictor (exported_predict.py, copied as predict.py).

The network emits the whole horizon from one window at once (direct multi-step decoding), so it has no
state that crosses calls: a forecast beyond the horizon (``--predict-steps``) runs it again on the window
shifted by the steps just forecast, in the predictor, as ``--predict`` does in PyTorch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from suite.export.files import install_predictor, write_json
from suite.export.graphs import to_onnx, to_torchscript

from .data import MAX_SCALED
from .synthetic import delay_of, is_synthetic, problem_named, split_sizes

NETWORK = "forecaster"
TEMPLATE = Path(__file__).with_name("exported_predict.py")


def export(task, model, out_dir: Path, fmt: str) -> list[str]:
    opts, state = model.cfg.options, model.state
    model = model.eval()
    columns = len(state.columns)
    # the sequence model reads any number of steps (a synthetic sequence is read whole); the segment
    # model cuts exactly --lookback steps into segments, so its time axis is fixed
    time_axis = opts.model == "sequence"
    window = torch.randn(2, opts.lookback, columns)
    axes = {"window": {0: "batch", **({1: "time"} if time_axis else {})}, "forecast": {0: "batch"}}
    path = out_dir / f"{NETWORK}.{'onnx' if fmt == 'onnx' else 'pt'}"
    names = {"input_names": ["window"], "output_names": ["forecast"], "dynamic_axes": axes}
    if fmt == "onnx":
        to_onnx(model, (window,), path, **names)
    else:
        to_torchscript(model, (window,), path, **names)
    files = [path.name]
    files.append(write_json(out_dir, "preprocessing.json", preprocessing(model)))
    files += install_predictor(out_dir, TEMPLATE)
    return files


def preprocessing(model) -> dict[str, Any]:
    """What the predictor needs to read input as ``--predict`` does, and to write what it writes."""
    opts, state = model.cfg.options, model.state
    saved: dict[str, Any] = {
        "targets": list(state.targets), "covariates": list(state.covariates), "columns": list(state.columns),
        "time_column": state.time_column, "mean": [float(v) for v in state.mean],
        "std": [float(v) for v in state.std], "freq": state.freq, "time_rule": time_rule(state.freq),
        "lookback": opts.lookback, "horizon": opts.horizon, "predict_steps": opts.predict_steps,
        "model": opts.model, "max_scaled": MAX_SCALED, "data": opts.data,
        "cosine": {"start": 1, "stop": 100, "num": 3000, "column": "cos"},
    }
    if is_synthetic(opts.data):
        problem = problem_named(opts.data)
        _, n_val, n_test = split_sizes(opts)
        saved["synthetic"] = {"problem": problem.name, "channels": list(problem.channels),
                              "sequence_length": opts.sequence_length, "delay": delay_of(opts),
                              "data_seed": opts.data_seed, "n_val": n_val, "n_test": n_test,
                              "splits": ["train", "val", "test"], "target_mean": state.target_mean}
    return saved


def time_rule(freq: str | None) -> dict[str, Any] | None:
    """The time stamps of forecasts (pandas' ``date_range(last, periods=steps + 1, freq)[1:]``) as a rule the
    predictor applies with numpy alone: a fixed step, whole months, weeks on a weekday, business days. Any
    other pandas frequency is kept by name; the predictor uses pandas for it where pandas is installed."""
    if not freq:
        return None
    import pandas as pd
    from pandas import offsets

    try:
        off = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        return None
    n = int(off.n)
    if isinstance(off, offsets.Tick):
        return {"kind": "fixed", "ns": int(off.nanos)}
    if isinstance(off, offsets.Day):  # pandas 3: a calendar day, 24 hours for naive times
        return {"kind": "fixed", "ns": n * 86_400 * 10**9}
    months = {offsets.MonthBegin: (1, "start", 1), offsets.MonthEnd: (1, "end", 1)}
    for kind, (size, anchor, month) in months.items():
        if type(off) is kind:
            return {"kind": "months", "every": n * size, "period": size, "anchor": anchor, "month": month}
    if type(off) in (offsets.QuarterBegin, offsets.QuarterEnd):
        return {"kind": "months", "every": 3 * n, "period": 3, "month": int(off.startingMonth),
                "anchor": "start" if type(off) is offsets.QuarterBegin else "end"}
    if type(off) in (offsets.YearBegin, offsets.YearEnd):
        return {"kind": "months", "every": 12 * n, "period": 12, "month": int(off.month),
                "anchor": "start" if type(off) is offsets.YearBegin else "end"}
    if type(off) is offsets.Week and off.weekday is not None:
        return {"kind": "week", "every": n, "weekday": int(off.weekday)}
    if type(off) is offsets.BusinessDay and not off.offset:
        return {"kind": "bday", "every": n}
    return {"kind": "pandas", "freq": freq}

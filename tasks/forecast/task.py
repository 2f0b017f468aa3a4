"""The forecast task: time-series forecasting with recurrent networks."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from suite.config import RunConfig
from suite.errors import DataError, UserError
from suite.task import Baseline, Task

from .config import COSINE, LONG_HORIZON_DEFAULTS, SEED_PRESET, SYNTHETIC_PRESET, ForecastConfig
from .synthetic import is_synthetic

# The registry loads this class for --help, --list-tasks and --print-config, which must not wait for torch:
# numpy, torch, pandas and this task's data and model modules are imported in the methods that use them.
if TYPE_CHECKING:
    import numpy as np

    from .data import ForecastDataModule, ForecastState
    from .models import ForecastModule


def split_origin(raw_input: str) -> tuple[str, int | None]:
    """``"data.csv@-96"`` -> ``("data.csv", -96)``; anything without an integer after '@' is kept whole."""
    source, sep, tail = raw_input.rpartition("@")
    if sep and source and tail.strip().lstrip("-").isdigit():
        return source, int(tail)
    return raw_input, None


class ForecastTask(Task):
    name = "forecast"
    title = "Time-series forecasting"
    description = ("forecast the next steps of one or more series (CSV/Parquet/JSON, ETT, the seed's cosine), "
                   "or the target of synthetic sequence problems (synthetic:adding, synthetic:delay)")
    Config = ForecastConfig
    input_kind = "series"
    output_kind = "series"
    monitor = "mse"
    defaults = LONG_HORIZON_DEFAULTS
    presets = {"seed": SEED_PRESET, "synthetic": SYNTHETIC_PRESET}
    preset_help = {"seed": "the seed tutorial's cosine wave: windows of 500, SimpleRNN(32), adam, 10 epochs, "
                           "batch 100 (the default when neither --data nor --lookback/--horizon is given)",
                   "synthetic": "a synthetic sequence problem (synthetic:adding unless --data names another): "
                                "each whole sequence read step by step, LSTM(64), MSE, adam at 1e-2 with "
                                "gradient clipping, batch 64, 20 epochs (the default for --data synthetic:NAME)"}

    def default_preset(self, given: dict[str, Any]) -> str | None:
        data = given.get("options.data", COSINE)
        if is_synthetic(data):
            return "synthetic"
        if data == COSINE and "options.lookback" not in given and "options.horizon" not in given:
            return "seed"
        return None

    def slug(self, cfg: RunConfig) -> str:
        opts = cfg.options
        if is_synthetic(opts.data):
            name = opts.data.split(":", 1)[1]
            return f"{name}-T{opts.sequence_length}-{opts.model}-{cfg.backbone.cell}{cfg.backbone.hidden}"
        source = "cosine" if opts.data == COSINE else Path(opts.data).stem.replace("/", "_")
        return f"{source}-{opts.model}-{cfg.backbone.cell}{cfg.backbone.hidden}-L{opts.lookback}H{opts.horizon}"

    def datamodule(self, cfg: RunConfig) -> ForecastDataModule:
        from .data import ForecastDataModule

        return ForecastDataModule(cfg)

    def model(self, cfg: RunConfig, datamodule: ForecastDataModule) -> ForecastModule:
        from .models import ForecastModule

        return ForecastModule(cfg, datamodule.state)

    def baseline(self, datamodule: ForecastDataModule) -> Baseline:
        from .metrics import constant, repeat_last, score, seasonal_naive

        state = datamodule.state
        splits = {"val": datamodule.val_set, "test": datamodule.test_set}
        if state.target_mean is not None:  # synthetic sequences: no history of the target to repeat
            mean = constant(state.target_mean, state)
            return Baseline("train_mean", score(mean, splits["val"], state), score(mean, splits["test"], state))
        last = {split: score(repeat_last, ds, state) for split, ds in splits.items()}
        others = {}
        season = state.season
        if season > 1:
            naive = seasonal_naive(season)
            others[f"seasonal_naive_{season}"] = {split: score(naive, ds, state) for split, ds in splits.items()}
        from suite.baselines import add_strong

        from .baselines import fit_for

        return add_strong(Baseline("repeat_last", last["val"], last["test"], others), datamodule, "DLinear",
                          lambda: fit_for(datamodule), self.monitor, self.monitor_mode)

    # --- interactive prediction --------------------------------------------------------------------
    def example_input(self, cfg: RunConfig) -> str:
        return cfg.options.data

    def predict(self, model: ForecastModule, raw_input: str) -> dict[str, Any]:
        """Forecast after the end of a file (or inline values); ``FILE@N`` forecasts from row N instead
        (negative N counts from the end) and returns the rows that follow as ``actual``."""
        import numpy as np
        import torch

        from .data import future_times, scale_checked

        state, opts = model.state, model.cfg.options
        if is_synthetic(opts.data):
            return self._predict_synthetic(model, raw_input)
        targets, covariates = state.targets, state.covariates
        source, origin = split_origin(raw_input)
        values, times = self._history(source, state)
        rows = len(values)
        if origin is not None:
            if not -rows <= origin <= rows:
                raise UserError(f"--predict: origin {origin} is outside the {rows} rows of {source}")
            origin = origin % rows if origin < 0 else origin
        else:
            origin = rows
        history, future = values[:origin], values[origin:, : len(targets)]
        times = times[:origin] if times else None
        if len(history) < opts.lookback:
            raise UserError(f"--predict: the model needs the last {opts.lookback} values, got {len(history)}")
        steps = opts.predict_steps or opts.horizon
        if steps > opts.horizon and covariates:
            raise UserError("--predict-steps beyond the horizon forecasts recursively, which needs future "
                            "covariates; this model uses covariates, so ask for at most "
                            f"{opts.horizon} steps")
        mean, std = np.asarray(state.mean), np.asarray(state.std)
        scaled = scale_checked(history[-opts.lookback:], mean, std, state.columns, source,
                               first_row=origin - opts.lookback)
        window = torch.tensor(scaled, dtype=torch.float32)
        pieces = []
        model.eval()
        with torch.no_grad():
            made = 0
            while made < steps:
                step = model(window[None])[0]  # (H, T)
                pieces.append(step)
                made += len(step)
                if made < steps:  # recursive beyond the horizon (only without covariates, checked above)
                    window = torch.cat([window[len(step):], step], dim=0)
        forecast = torch.cat(pieces)[:steps].double().numpy() * std[: len(targets)] + mean[: len(targets)]
        last_time = times[-1] if times else None
        return {
            "targets": targets,
            "steps": steps,
            "origin": origin,
            "rows": rows,
            "time": future_times(last_time, state.freq, steps),
            "forecast": {col: forecast[:, j].tolist() for j, col in enumerate(targets)},
            "history": {col: history[-opts.lookback:, j].tolist() for j, col in enumerate(targets)},
            "actual": {col: future[:steps, j].tolist() for j, col in enumerate(targets)},
            "history_time": times[-opts.lookback:] if times else None,  # the stamps of the rows read
        }

    def _predict_synthetic(self, model: ForecastModule, raw_input: str) -> dict[str, Any]:
        """The target of one sequence: inline (``"0.2 *0.5 0.1 *0.3"`` for adding, starred values marked;
        plain numbers for delay), or ``synthetic:NAME@N``, example N of the test split the run's settings
        draw (``synthetic:NAME`` alone: example 0; negative N counts from the end)."""
        import numpy as np
        import torch

        from .synthetic import delay_of, generate, parse_inline, problem_named, split_sizes, truth

        state, opts = model.state, model.cfg.options
        problem = problem_named(opts.data)
        if opts.predict_steps > 1:
            raise UserError(f"--predict-steps: {opts.data} has one target per sequence; leave it at 0 or 1")
        source, index = split_origin(raw_input)
        example = split = None
        if is_synthetic(source):
            if problem_named(source, "--predict") is not problem:
                raise UserError(f"--predict: this model was trained on {opts.data}, not {source}")
            _, n_val, n_test = split_sizes(opts)
            split, n = ("test", n_test) if n_test else ("val", n_val)
            index = 0 if index is None else index
            if not -n <= index < n:
                raise UserError(f"--predict: example {index} is outside the {n} {split} examples of {source} "
                                f"(0 to {n - 1}, or negative from the end)")
            example = index % n
            inputs, targets = generate(problem, n, opts.sequence_length, delay_of(opts), opts.data_seed, split)
            inputs, actual = inputs[example, opts.sequence_length - opts.lookback:], float(targets[example])
        else:  # read whole: the sequence model reads any length (trained on --lookback steps)
            inputs = parse_inline(problem, raw_input)
            actual = truth(problem, inputs, delay_of(opts))
            if opts.model == "segment" and len(inputs) != opts.lookback:
                raise UserError(f"--predict: the segment model reads sequences of {opts.lookback} steps, got "
                                f"{len(inputs)}")
        mean, std = np.asarray(state.mean), np.asarray(state.std)
        rows = np.concatenate([np.full((len(inputs), 1), mean[0]), inputs], axis=1)
        window = torch.tensor((rows - mean) / std, dtype=torch.float32)
        model.eval()
        with torch.no_grad():
            forecast = float(model(window[None])[0, 0, 0]) * std[0] + mean[0]
        return {"problem": problem.name, "example": example, "split": split, "length": len(inputs),
                "trained_length": opts.lookback, "targets": state.targets, "steps": 1, "time": None,
                "forecast": {state.targets[0]: [forecast]},
                "actual": {state.targets[0]: [] if actual is None else [actual]},
                "baseline": {"train_mean": state.target_mean}}

    def _history(self, raw_input: str, state: ForecastState) -> tuple[np.ndarray, list[str] | None]:
        """The values to forecast from: inline numbers (one column), 'cosine', or a table file."""
        from .data import numeric_values, parse_inline_series, read_series

        columns = state.columns
        values = parse_inline_series(raw_input)
        if values is not None:
            if len(columns) != 1:
                raise UserError(f"--predict: the model reads {len(columns)} columns ({', '.join(columns)}); "
                                "give a file with those columns")
            return values[:, None], None
        frame, source = read_series(raw_input)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise DataError(source, f"missing column(s) {', '.join(missing)} that the model was trained on")
        time_col = state.time_column
        times = frame[time_col].astype(str).tolist() if time_col in frame.columns else None
        return numeric_values(frame, columns, source, "reject"), times

    def explain(self, model: ForecastModule, raw_input: str, *, steps: int | None = None,
                horizon: str | None = None) -> dict[str, Any]:
        """Each input time step and variable's Integrated Gradients attribution to the forecast (its first
        step by default; ``horizon`` K: step K; ``"all"``: every step of the horizon)."""
        from .explain import explain

        return explain(self, model, raw_input, steps=steps, horizon=horizon)

    def render_explanation(self, explanation: dict[str, Any]) -> str:
        from .explain import render

        return render(explanation)

    def render_prediction(self, output: dict[str, Any]) -> str:
        buffer = io.StringIO()
        self._write_csv(output, buffer)
        return buffer.getvalue().rstrip("\n")

    def save_prediction(self, output: dict[str, Any], path: Path) -> None:
        if path.suffix.lower() == ".csv":
            with open(path, "w", newline="", encoding="utf-8") as handle:
                self._write_csv(output, handle)
        else:
            super().save_prediction(output, path)

    @staticmethod
    def _write_csv(output: dict[str, Any], handle) -> None:
        writer = csv.writer(handle)
        if "problem" in output:  # a synthetic sequence: its one forecast beside the true target
            col = output["targets"][0]
            actual = output["actual"][col]
            writer.writerow(["example", col, f"{col}_forecast"])
            writer.writerow(["inline" if output["example"] is None else output["example"],
                             f"{actual[0]:.6g}" if actual else "", f"{output['forecast'][col][0]:.6g}"])
            return
        times = output.get("time")
        writer.writerow(["step"] + (["time"] if times else []) + output["targets"])
        for i in range(output["steps"]):
            writer.writerow([i + 1] + ([times[i]] if times else [])
                            + [f"{output['forecast'][c][i]:.6g}" for c in output["targets"]])

    def export(self, model: ForecastModule, out_dir: Path, fmt: str) -> list[str]:
        from .export import export

        return export(self, model, out_dir, fmt)

    # --- run outputs ------------------------------------------------------------------------------
    def write_outputs(self, run_dir: Path, model: ForecastModule, datamodule: ForecastDataModule) -> list[str]:
        from .outputs import stitched_test_forecast, write_plot, write_predictions_csv

        table = stitched_test_forecast(model, datamodule)
        files = [write_predictions_csv(run_dir / "predictions.csv", table)]
        if model.cfg.options.plot:
            files.append(write_plot(run_dir / "prediction.png", table, datamodule.test_split))
        return files

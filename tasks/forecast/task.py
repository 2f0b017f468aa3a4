"""The forecast task: time-series forecasting with recurrent networks."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from suite.config import RunConfig
from suite.errors import DataError, UserError
from suite.task import Baseline, Task

from .config import COSINE, LONG_HORIZON_DEFAULTS, SEED_PRESET, ForecastConfig

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
    description = "forecast the next steps of one or more series (CSV/Parquet/JSON, ETT, the seed's cosine)"
    Config = ForecastConfig
    input_kind = "series"
    output_kind = "series"
    monitor = "mse"
    defaults = LONG_HORIZON_DEFAULTS
    presets = {"seed": SEED_PRESET}
    preset_help = {"seed": "the seed tutorial's cosine wave: windows of 500, SimpleRNN(32), adam, 10 epochs, "
                           "batch 100 (the default when neither --data nor --lookback/--horizon is given)"}

    def default_preset(self, given: dict[str, Any]) -> str | None:
        data = given.get("options.data", COSINE)
        if data == COSINE and "options.lookback" not in given and "options.horizon" not in given:
            return "seed"
        return None

    def slug(self, cfg: RunConfig) -> str:
        opts = cfg.options
        source = "cosine" if opts.data == COSINE else Path(opts.data).stem.replace("/", "_")
        return f"{source}-{opts.model}-{cfg.backbone.cell}{cfg.backbone.hidden}-L{opts.lookback}H{opts.horizon}"

    def datamodule(self, cfg: RunConfig) -> ForecastDataModule:
        from .data import ForecastDataModule

        return ForecastDataModule(cfg)

    def model(self, cfg: RunConfig, datamodule: ForecastDataModule) -> ForecastModule:
        from .models import ForecastModule

        return ForecastModule(cfg, datamodule.state)

    def baseline(self, datamodule: ForecastDataModule) -> Baseline:
        from .metrics import repeat_last, score, seasonal_naive

        state = datamodule.state
        splits = {"val": datamodule.val_set, "test": datamodule.test_set}
        last = {split: score(repeat_last, ds, state) for split, ds in splits.items()}
        others = {}
        season = state.season
        if season > 1:
            naive = seasonal_naive(season)
            others[f"seasonal_naive_{season}"] = {split: score(naive, ds, state) for split, ds in splits.items()}
        return Baseline("repeat_last", last["val"], last["test"], others)

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
        }

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
        times = output.get("time")
        writer.writerow(["step"] + (["time"] if times else []) + output["targets"])
        for i in range(output["steps"]):
            writer.writerow([i + 1] + ([times[i]] if times else [])
                            + [f"{output['forecast'][c][i]:.6g}" for c in output["targets"]])

    # --- run outputs ------------------------------------------------------------------------------
    def write_outputs(self, run_dir: Path, model: ForecastModule, datamodule: ForecastDataModule) -> list[str]:
        from .outputs import stitched_test_forecast, write_plot, write_predictions_csv

        table = stitched_test_forecast(model, datamodule)
        files = [write_predictions_csv(run_dir / "predictions.csv", table)]
        if model.cfg.options.plot:
            files.append(write_plot(run_dir / "prediction.png", table, datamodule.test_split))
        return files

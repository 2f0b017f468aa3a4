"""The forecast task in-process: formats, columns, model variants, and what a trained model keeps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from suite.config import build_run_config
from suite.registry import get_task

TASK = get_task("forecast")


def frame(rows: int = 300) -> pd.DataFrame:
    t = np.arange(rows)
    return pd.DataFrame({
        "date": pd.date_range("2021-01-01", periods=rows, freq="h").astype(str),
        "load": np.sin(2 * np.pi * t / 24) * 10 + 50,
        "temp": np.cos(2 * np.pi * t / 24) + 0.01 * t,
        "price": (t % 7).astype(float),
    })


def setup(path, **options):
    explicit = {"options.data": str(path), "options.lookback": 48, "options.horizon": 24, "options.segment": 12,
                "backbone.hidden": 16, **{f"options.{k}": v for k, v in options.items()}}
    cfg = build_run_config(TASK, explicit=explicit)
    dm = TASK.datamodule(cfg)
    dm.setup("fit")
    return cfg, dm


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet", ".csv.gz"])
def test_every_table_format_reads_the_same(tmp_path, suffix):
    data = frame()
    path = tmp_path / f"series{suffix}"
    if suffix == ".parquet":
        data.to_parquet(path)
    elif suffix == ".jsonl":
        data.to_json(path, orient="records", lines=True)
    else:
        data.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
    _, dm = setup(path)
    assert dm.state.time_column == "date"
    assert dm.state.targets == ["load", "temp", "price"]
    assert dm.state.season == 24
    assert np.allclose(dm.values, data[["load", "temp", "price"]].to_numpy())


def test_targets_covariates_and_scaling_from_training_rows(tmp_path):
    path = tmp_path / "s.csv"
    frame().to_csv(path, index=False)
    cfg, dm = setup(path, target="load", covariates="temp,price", split="200,50,50")
    assert dm.state.targets == ["load"] and dm.state.covariates == ["temp", "price"]
    train = dm.values[:200]
    assert np.allclose(dm.state.mean, train.mean(axis=0)) and np.allclose(dm.state.std, train.std(axis=0))
    x, y, _ = dm.train_set.__getitems__([0, 1])
    assert x.shape == (2, 48, 3) and y.shape == (2, 24, 1)
    assert dm.sizes() == {"train": 200 - 48 - 24 + 1, "val": 50 - 24 + 1, "test": 50 - 24 + 1}


@pytest.mark.parametrize("variant", [
    {"model": "segment"},
    {"model": "segment", "channel_independent": False},
    {"model": "segment", "bidirectional": True},
    {"model": "segment", "cell": "lstm", "layers": 2},
    {"model": "sequence", "cell": "gru"},
])
def test_model_variants_forecast_every_target(tmp_path, variant):
    path = tmp_path / "s.csv"
    frame().to_csv(path, index=False)
    explicit = {"options.data": str(path), "options.lookback": 40, "options.horizon": 30, "options.segment": 12,
                "options.target": "load,temp", "options.covariates": "price", "backbone.hidden": 16}
    for key, value in variant.items():
        section = "backbone" if key in ("cell", "layers", "bidirectional") else "options"
        explicit[f"{section}.{key}"] = value
    cfg = build_run_config(TASK, explicit=explicit)
    dm = TASK.datamodule(cfg)
    dm.setup("fit")
    model = TASK.model(cfg, dm).eval()
    x, y, _ = dm.train_set.__getitems__([0, 1, 2])
    out = model(x)
    assert out.shape == y.shape == (3, 30, 2)
    loss = torch.nn.functional.mse_loss(model.train()(x), y)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_window_norm_last_makes_forecasts_shift_with_the_level(tmp_path):
    """Subtracting the window's last value means a level shift of the input shifts the forecast equally."""
    path = tmp_path / "s.csv"
    frame().to_csv(path, index=False)
    cfg, dm = setup(path, target="load")
    model = TASK.model(cfg, dm).eval()
    x, _, _ = dm.val_set.__getitems__([0, 5])
    with torch.no_grad():
        shifted = model(x + 3.0)
        base = model(x)
    assert torch.allclose(shifted, base + 3.0, atol=1e-5)


def test_trained_state_restores_without_the_training_data(tmp_path):
    path = tmp_path / "s.csv"
    frame().to_csv(path, index=False)
    cfg, dm = setup(path)
    model = TASK.model(cfg, dm).eval()
    restored_dm = TASK.datamodule(cfg)
    restored_dm.load_state_dict(dm.state_dict())  # what a checkpoint carries
    restored = TASK.model(cfg, restored_dm).eval()
    restored.load_state_dict(model.state_dict())
    path.unlink()  # predictions must not need the training file
    history = frame(100)
    history.to_csv(tmp_path / "recent.csv", index=False)
    first = TASK.predict(model, str(tmp_path / "recent.csv"))
    second = TASK.predict(restored, str(tmp_path / "recent.csv"))
    assert first["forecast"] == second["forecast"]
    assert first["time"][0] == "2021-01-05 04:00:00"  # the hour after the file's last row
    assert len(first["forecast"]["load"]) == 24


def test_recursive_prediction_starts_with_the_direct_forecast(tmp_path):
    path = tmp_path / "s.csv"
    frame().to_csv(path, index=False)
    cfg, dm = setup(path, target="load")
    model = TASK.model(cfg, dm).eval()
    frame(100).to_csv(tmp_path / "recent.csv", index=False)
    direct = TASK.predict(model, str(tmp_path / "recent.csv"))
    model.cfg.options.predict_steps = 60
    longer = TASK.predict(model, str(tmp_path / "recent.csv"))
    assert longer["steps"] == 60 and len(longer["forecast"]["load"]) == 60
    assert np.allclose(longer["forecast"]["load"][:24], direct["forecast"]["load"])


@pytest.mark.realdata
def test_air_passengers_is_read_as_a_monthly_series(data_root):
    _, dm = setup(data_root / "forecast" / "air_passengers" / "AirPassengers.csv", lookback=24, horizon=12,
                  segment=12, split="0.7,0.15,0.15")
    assert dm.state.time_column == "Month" and dm.state.targets == ["#Passengers"]
    assert dm.state.season == 12 and dm.state.freq == "MS"
    base = TASK.baseline(dm)
    assert "seasonal_naive_12" in base.others
    # on a strongly seasonal series the seasonal-naive forecast beats repeating the last value
    assert base.others["seasonal_naive_12"]["test"]["mae"] < base.test["mae"]


# --- the data state in checkpoints --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A one-epoch run forecasting 'load' with two covariates, and a recent stretch to forecast from."""
    from suite.cli import main

    root = tmp_path_factory.mktemp("forecast-state")
    frame().to_csv(root / "s.csv", index=False)
    frame(100).to_csv(root / "recent.csv", index=False)
    assert main(["--task", "forecast", "--data", str(root / "s.csv"), "--target", "load", "--covariates",
                 "temp,price", "--lookback", "48", "--horizon", "24", "--segment", "12", "--hidden", "8",
                 "--max-epochs", "1", "--run-dir", str(root / "run")]) == 0
    return root


def rewritten(trained_run, tmp_path, data_state) -> str:
    """The run's best checkpoint, alone in ``tmp_path``, with its data state replaced."""
    ckpt = torch.load(trained_run / "run" / "checkpoints" / "best.ckpt", weights_only=True)
    ckpt["rnn_suite"]["data_state"] = data_state
    torch.save(ckpt, tmp_path / "best.ckpt")
    return str(tmp_path / "best.ckpt")


def test_the_state_round_trips_and_checkpoints_carry_version_1(trained_run):
    from tasks.forecast.data import ForecastState

    _, dm = setup(trained_run / "s.csv", target="load", covariates="temp,price")
    assert ForecastState.from_dict(dm.state.to_dict()) == dm.state
    saved = torch.load(trained_run / "run" / "checkpoints" / "best.ckpt", weights_only=True)["rnn_suite"]["data_state"]
    assert saved["version"] == 1 and ForecastState.from_dict(saved).to_dict() == saved
    assert {k: v for k, v in saved.items() if k not in ("mean", "std", "mase_scale")} == {
        "version": 1, "time_column": "date", "targets": ["load"], "covariates": ["temp", "price"],
        "season": 24, "freq": "h"}


def test_a_version_0_state_loads_and_predicts_the_same(trained_run, tmp_path):
    from suite.api import load
    from tasks.forecast.data import ForecastState

    # the flat ``info`` dict checkpoints held before the state had a version (from one written then)
    old = {"source": "/tmp/fc-before/s.csv", "time_column": "date", "targets": ["load"],
           "covariates": ["temp", "price"], "mean": [50.21892243880129, 1.3859319356740714, 3.0],
           "std": [7.037724662801125, 1.0584962703976752, 2.0], "season": 24, "mase_scale": [1.0],
           "last_time": "2021-01-17 15:00:00", "freq": "h"}
    assert ForecastState.from_dict(old) == ForecastState("date", ["load"], ["temp", "price"],
                                                         old["mean"], old["std"], 24, [1.0], "h")
    new = torch.load(trained_run / "run" / "checkpoints" / "best.ckpt", weights_only=True)["rnn_suite"]["data_state"]
    # this run's state, written as version 0 did
    as_v0 = {"source": str(trained_run / "s.csv"), **{k: v for k, v in new.items() if k != "version"},
             "last_time": "2021-01-13 11:00:00"}
    recent = str(trained_run / "recent.csv")
    current = load(trained_run / "run" / "checkpoints" / "best.ckpt")
    upgraded = load(rewritten(trained_run, tmp_path, as_v0))
    assert upgraded.model.state == current.model.state
    expected = current.predict(recent)
    assert upgraded.predict(recent) == expected
    assert upgraded.evaluate(recent)["metrics"] == current.evaluate(recent)["metrics"]
    assert len(expected["forecast"]["load"]) == 24  # a model with covariates forecasts its horizon


def test_a_damaged_state_is_one_line_naming_the_field(trained_run, tmp_path, capsys):
    from helpers import one_line_error

    saved = torch.load(trained_run / "run" / "checkpoints" / "best.ckpt", weights_only=True)["rnn_suite"]["data_state"]
    path = rewritten(trained_run, tmp_path, {k: v for k, v in saved.items() if k != "mean"})
    message = one_line_error(capsys, "--checkpoint", path, "--predict", str(trained_run / "recent.csv"))
    assert f"{path}: its forecast data state is unreadable (field 'mean' is missing)" in message

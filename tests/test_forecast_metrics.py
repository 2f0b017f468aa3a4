"""tasks/forecast/metrics.py and the checks in tasks/forecast/data.py, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from suite.config import build_run_config
from suite.data.series import WindowDataset, window_origins
from suite.errors import ConfigError, DataError
from suite.registry import get_task
from tasks.forecast.config import ForecastConfig
from tasks.forecast.data import (ForecastDataModule, ForecastState, mase_scale, numeric_values,
                                 select_columns)
from tasks.forecast.metrics import ForecastErrors, repeat_last, score, seasonal_naive

MEAN, STD, SCALE = [10.0, -5.0], [2.0, 0.5], [3.0, 0.125]

# One window, horizon 2, two channels, in the scaled space.
PRED = torch.tensor([[[1.0, 0.0], [0.5, -1.0]]])
TARGET = torch.tensor([[[0.0, 0.0], [1.0, -2.0]]])
# By hand: scaled errors [[1, 0], [-0.5, 1]]
#   mse = (1 + 0 + 0.25 + 1) / 4 = 0.5625,  mae = (1 + 0 + 0.5 + 1) / 4 = 0.625
# Original units (x * std + mean): pred [[12, -5], [11, -5.5]], target [[10, -5], [12, -6]]
#   errors [[2, 0], [-1, 0.5]]
#   orig_mae = 3.5 / 4 = 0.875,  orig_rmse = sqrt((4 + 0 + 1 + 0.25) / 4) = sqrt(1.3125)
#   smape = 100 * (2*2/22 + 0 + 2*1/23 + 2*0.5/11.5) / 4
#   mase: channel MAEs (2+1)/2 = 1.5 and (0+0.5)/2 = 0.25; / scale -> 0.5 and 2; mean 1.25
HAND = {
    "mse": 0.5625,
    "mae": 0.625,
    "orig_mae": 0.875,
    "orig_rmse": math.sqrt(1.3125),
    "smape": 100 * (4 / 22 + 2 / 23 + 1 / 11.5) / 4,
    "mase": 1.25,
}


def computed(metric: ForecastErrors) -> dict[str, float]:
    return {k: float(v) for k, v in metric.compute().items()}


def test_forecast_errors_by_hand():
    metric = ForecastErrors(MEAN, STD, SCALE)
    metric.update(PRED, TARGET)
    got = computed(metric)
    assert set(got) == set(HAND)
    for key, value in HAND.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key
    assert HAND["smape"] == pytest.approx(8.893280632411066)


def test_forecast_errors_ignore_covariate_statistics():
    """mean/std cover targets then covariates; only the target channels' entries are used."""
    metric = ForecastErrors(MEAN + [1000.0], STD + [50.0], SCALE)
    metric.update(PRED, TARGET)
    for key, value in HAND.items():
        assert computed(metric)[key] == pytest.approx(value, rel=1e-12), key


def test_forecast_errors_perfect_and_zero_values():
    metric = ForecastErrors([0.0], [1.0], [2.0])
    zeros = torch.zeros(3, 4, 1)
    metric.update(zeros, zeros)  # 0/0 in sMAPE counts as no error, never NaN
    assert computed(metric) == {"mse": 0.0, "mae": 0.0, "orig_mae": 0.0, "orig_rmse": 0.0, "smape": 0.0,
                                "mase": 0.0}
    metric.reset()
    metric.update(torch.ones(1, 1, 1), -torch.ones(1, 1, 1))  # opposite signs: sMAPE's maximum, 200%
    got = computed(metric)
    assert got["smape"] == pytest.approx(200.0)
    assert got["orig_mae"] == 2.0 and got["mase"] == 1.0 and got["mse"] == 4.0


def test_forecast_errors_accumulate_like_one_call():
    gen = torch.Generator().manual_seed(0)
    preds = [torch.randn(b, 5, 2, generator=gen) for b in (3, 1, 7)]
    targets = [torch.randn(b, 5, 2, generator=gen) for b in (3, 1, 7)]
    parts = ForecastErrors(MEAN, STD, SCALE)
    for p, t in zip(preds, targets):
        parts.update(p, t)
    whole = ForecastErrors(MEAN, STD, SCALE)
    whole.update(torch.cat(preds), torch.cat(targets))
    a, b = computed(parts), computed(whole)
    for key in HAND:
        assert a[key] == pytest.approx(b[key], rel=1e-12), key
    # ... and both equal a direct numpy computation
    p = torch.cat(preds).double().numpy()
    t = torch.cat(targets).double().numpy()
    po, to = p * STD + np.array(MEAN), t * STD + np.array(MEAN)
    assert a["mse"] == pytest.approx(((p - t) ** 2).mean())
    assert a["mae"] == pytest.approx(np.abs(p - t).mean())
    assert a["orig_mae"] == pytest.approx(np.abs(po - to).mean())
    assert a["orig_rmse"] == pytest.approx(np.sqrt(((po - to) ** 2).mean()))
    assert a["smape"] == pytest.approx(100 * (2 * np.abs(po - to) / (np.abs(po) + np.abs(to))).mean())
    assert a["mase"] == pytest.approx((np.abs(po - to).mean(axis=(0, 1)) / np.array(SCALE)).mean())


# --- naive predictors --------------------------------------------------------------------------------

def dataset(horizon: int, targets: int = 2, lookback: int = 4, rows: int = 20) -> WindowDataset:
    # value = 10 * row + column: targets are columns 0..targets-1, then covariates
    series = torch.arange(rows)[:, None] * 10.0 + torch.arange(3)[None, :]
    return WindowDataset(series, window_origins(0, rows, lookback, horizon), lookback, horizon, targets)


def test_repeat_last():
    ds = dataset(horizon=3)
    x, y, t = ds.__getitems__([0, 6])  # origins 4 and 10
    pred = repeat_last(x, t, ds)
    assert pred.shape == y.shape == (2, 3, 2)
    assert pred.tolist() == [[[30, 31]] * 3, [[90, 91]] * 3]  # rows 3 and 9, target columns only


def test_seasonal_naive_longer_horizon_than_season():
    ds = dataset(horizon=5, targets=1)
    x, y, t = ds.__getitems__([6])  # origin 10
    pred = seasonal_naive(3)(x, t, ds)
    # step h takes the value of row t + h - 3 * ceil((h + 1) / 3): rows 7, 8, 9, 7, 8
    assert pred.tolist() == [[[70], [80], [90], [70], [80]]]


def test_seasonal_naive_shorter_horizon_than_season():
    ds = dataset(horizon=2, targets=2, lookback=4)
    x, y, t = ds.__getitems__([0, 1])  # origins 4, 5
    pred = seasonal_naive(4)(x, t, ds)
    assert pred.tolist() == [[[0, 1], [10, 11]], [[10, 11], [20, 21]]]


@pytest.mark.parametrize("season,horizon", [(1, 4), (2, 5), (5, 5), (7, 3), (3, 10)])
def test_seasonal_naive_never_looks_ahead_and_repeats_each_season(season, horizon):
    ds = dataset(horizon=horizon, targets=1, lookback=10, rows=40)
    x, y, t = ds.__getitems__(list(range(len(ds))))
    pred = seasonal_naive(season)(x, t, ds)
    rows = pred[..., 0] / 10  # the row each value came from
    assert bool((rows < t[:, None]).all())          # only observed rows
    assert bool((rows >= (t - season)[:, None]).all())  # from the last season
    assert torch.equal(pred[:, season:], pred[:, : max(horizon - season, 0)])  # periodic
    if season == 1:
        assert torch.equal(pred, repeat_last(x, t, ds))


def test_score_repeat_last_matches_numpy():
    ds = dataset(horizon=3, targets=2)
    state = ForecastState(None, ["a", "b"], ["c"], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0], 1, [10.0, 10.0], None)
    got = score(repeat_last, ds, state, batch_size=4)
    # from origin t, step h is off by 10 * (h + 1) in both channels: mean |err| = 10 * (1 + 2 + 3) / 3
    assert got["orig_mae"] == pytest.approx(20.0)
    assert got["mae"] == pytest.approx(20.0)
    assert got["mse"] == pytest.approx(100 * (1 + 4 + 9) / 3)
    assert got["mase"] == pytest.approx(2.0)
    assert score(repeat_last, None, state) == {}


# --- mase_scale --------------------------------------------------------------------------------------

def test_mase_scale_by_hand():
    train = np.array([[1.0, 5.0], [3.0, 5.0], [2.0, 5.0], [6.0, 5.0], [4.0, 5.0]])
    # season 1: |3-1|, |2-3|, |6-2|, |4-6| -> 9/4; a constant column has scale 1 (not 0)
    assert mase_scale(train, 1).tolist() == [2.25, 1.0]
    # season 2: |2-1|, |6-3|, |4-2| -> 2
    assert mase_scale(train, 2).tolist() == [2.0, 1.0]
    # season as long as the data: falls back to the one-step naive
    assert mase_scale(train, 5).tolist() == [2.25, 1.0]
    assert mase_scale(train, 0).tolist() == [2.25, 1.0]


# --- numeric_values ----------------------------------------------------------------------------------

def test_numeric_values_names_a_non_numeric_cell():
    frame = pd.DataFrame({"date": ["d1", "d2", "d3"], "load": ["1.5", "oops", "3"]})
    with pytest.raises(DataError) as info:
        numeric_values(frame, ["load"], "data.csv", "reject")
    message = str(info.value)
    assert "data.csv" in message and "column 'load'" in message and "'oops'" in message
    assert "row 2" in message
    assert info.value.line == 3  # the header is line 1, the second data row line 3
    assert message.startswith("data.csv, line 3: ")


def test_numeric_values_non_csv_source_gives_row_only():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [1, 2, "three", 4]})
    with pytest.raises(DataError) as info:
        numeric_values(frame, ["x", "y"], "table.parquet", "reject")
    assert info.value.line is None
    assert "column 'y'" in str(info.value) and "row 3" in str(info.value)


@pytest.mark.parametrize("cell", [np.nan, None, "", "  "])
def test_numeric_values_rejects_a_missing_value(cell):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]}).astype(object)
    frame.loc[2, "b"] = cell
    with pytest.raises(DataError) as info:
        numeric_values(frame, ["a", "b"], "series.csv", "reject")
    message = str(info.value)
    assert "column 'b'" in message and "missing value" in message and "row 3" in message
    assert info.value.line == 4
    assert "--missing" in message  # says how to proceed


def test_numeric_values_calls_an_infinite_value_infinite():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, np.inf]})
    with pytest.raises(DataError, match=r"line 4: column 'b': infinite value inf \(row 3\)"):
        numeric_values(frame, ["a", "b"], "series.csv", "reject")


@pytest.mark.parametrize("missing,expected", [
    ("ffill", [1.0, 1.0, 1.0, 4.0, 4.0]),        # leading gap back-filled
    ("interpolate", [1.0, 1.0, 2.5, 4.0, 4.0]),  # linear inside, nearest at the ends
    ("zero", [0.0, 1.0, 0.0, 4.0, 0.0]),
])
def test_numeric_values_fills(missing, expected):
    frame = pd.DataFrame({"a": [np.nan, 1.0, np.nan, 4.0, np.nan], "b": [1.0, 2.0, 3.0, 4.0, 5.0]})
    values = numeric_values(frame, ["a", "b"], "s.csv", missing)
    assert values.dtype == np.float64
    assert values[:, 0].tolist() == expected
    assert values[:, 1].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_numeric_values_numeric_strings_and_empty_column():
    frame = pd.DataFrame({"a": ["1", " 2.5", "-3e1"]})
    assert numeric_values(frame, ["a"], "s.csv", "reject")[:, 0].tolist() == [1.0, 2.5, -30.0]
    with pytest.raises(DataError, match="column 'e' has no values to fill from"):
        numeric_values(pd.DataFrame({"e": [np.nan, np.nan]}), ["e"], "s.csv", "ffill")


# --- select_columns ----------------------------------------------------------------------------------

def frame3() -> pd.DataFrame:
    return pd.DataFrame({"date": ["2020-01-01 00:00", "2020-01-01 01:00", "2020-01-01 02:00"],
                         "a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0], "note": ["x", "y", "z"]})


def test_select_columns_defaults():
    assert select_columns(frame3(), ForecastConfig(), "f.csv") == ("date", ["a", "b"], [])
    assert select_columns(frame3(), ForecastConfig(covariates="b"), "f.csv") == ("date", ["a"], ["b"])
    assert select_columns(frame3(), ForecastConfig(target="b", time_column="none"), "f.csv") == (None, ["b"], [])


@pytest.mark.parametrize("opts,what,name", [
    (ForecastConfig(target="zzz"), "target", "zzz"),
    (ForecastConfig(target="a,zzz"), "target", "zzz"),
    (ForecastConfig(covariates="cov"), "covariate", "cov"),
    (ForecastConfig(time_column="when"), "time", "when"),
])
def test_select_columns_unknown_column_lists_the_columns(opts, what, name):
    with pytest.raises(DataError) as info:
        select_columns(frame3(), opts, "f.csv")
    message = str(info.value)
    assert message.startswith("f.csv: ")
    assert f"unknown {what} column '{name}'" in message
    assert "date, a, b, note" in message


def test_select_columns_target_cannot_be_a_covariate():
    with pytest.raises(ConfigError) as info:
        select_columns(frame3(), ForecastConfig(target="a", covariates="a"), "f.csv")
    assert info.value.field == "options.target (--target)"


# --- the data module's statistics come from the training rows only ---------------------------------

def test_datamodule_fits_scaler_and_mase_on_training_rows(monkeypatch):
    rng = np.random.default_rng(1)
    n = 100
    frame = pd.DataFrame({
        "date": pd.date_range("2021-01-01", periods=n, freq="h").astype(str),
        "y": np.arange(n, dtype=float) + rng.normal(0, 1, n),  # trending: full-series stats differ
        "z": rng.normal(3, 2, n),
    })
    task = get_task("forecast")
    cfg = build_run_config(task, explicit={"options.data": "memory.csv", "options.lookback": 8,
                                           "options.horizon": 4, "options.split": "60,20,20",
                                           "options.model": "sequence", "options.covariates": "z"})
    dm = ForecastDataModule(cfg)
    monkeypatch.setattr("tasks.forecast.data.read_series", lambda source: (frame.copy(), "memory.csv"))
    dm.setup("fit")
    values = frame[["y", "z"]].to_numpy()
    state = dm.state
    assert state.targets == ["y"] and state.covariates == ["z"] and state.time_column == "date"
    assert state.season == 24
    np.testing.assert_allclose(state.mean, values[:60].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(state.std, values[:60].std(axis=0), rtol=1e-12)
    np.testing.assert_allclose(state.mase_scale, [np.abs(values[24:60, 0] - values[:36, 0]).mean()],
                               rtol=1e-12)
    np.testing.assert_allclose(dm.series.numpy(), (values - values[:60].mean(0)) / values[:60].std(0),
                               rtol=1e-5, atol=1e-5)
    assert dm.sizes() == {"train": 49, "val": 17, "test": 17}  # origins 8..56, 60..76, 80..96
    # the repeat-last baseline on validation, in original units, against numpy
    baseline = task.baseline(dm)
    errors = [np.abs(values[t:t + 4, 0] - values[t - 1, 0]) for t in range(60, 77)]
    assert baseline.val["orig_mae"] == pytest.approx(np.mean(errors), rel=1e-5)
    assert "seasonal_naive_24" in baseline.others

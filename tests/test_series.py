"""suite/data/series.py: chronological splits, window origins, the window dataset, scaling, seasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader

from suite.data.series import (Scaler, WindowDataset, batch_identity, infer_season, parse_split,
                               window_origins)
from suite.errors import ConfigError, UserError

FIELD = "options.split (--split)"


# --- parse_split -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,rows,expected", [
    ("0.7,0.1,0.2", 100, (70, 10, 20)),
    ("0.7, 0.1, 0.2", 1000, (700, 100, 200)),
    ("0.6,0.2,0.2", 17420, (10452, 3484, 3484)),
    ("8640,2880,2880", 17420, (8640, 2880, 2880)),  # ETTh1: 17420 rows, the rest unused
    ("2500,500,0", 3000, (2500, 500, 0)),             # the seed tutorial: no test split
    ("2500,500", 3000, (2500, 500, 0)),               # two parts: train, val
    ("0.8,0.2", 50, (40, 10, 0)),
    ("0.5,0.25", 10, (5, 2, 0)),                      # 2.5 -> round-half-even 2; rows may go unused
])
def test_parse_split(text, rows, expected):
    counts = parse_split(text, rows)
    assert counts == expected
    assert all(isinstance(c, int) for c in counts)
    assert sum(counts) <= rows


def test_parse_split_fractions_never_ask_for_more_rows_than_exist():
    # 0.35 * 10 and 0.45 * 10 round to 4 each; the test part is cut to what is left
    assert parse_split("0.25,0.35,0.4", 10) == (2, 4, 4)
    for n in range(10, 60):
        assert sum(parse_split("0.33,0.33,0.34", n)) <= n


@pytest.mark.parametrize("text,rows,words", [
    ("a,b,c", 100, "expected numbers"),
    ("0.7", 100, "train,val"),
    ("", 100, "train,val"),
    ("0.5,0.2,0.2,0.1", 100, "train,val"),
    ("0.7,-0.1,0.2", 100, "negative"),
    ("8640,2880,2880", 10000, "14400 rows but the series has 10000"),
    ("0.8,0.3,0.2", 100, "more than 1"),
    ("100,0.5,2", 1000, "mixes fractions and row counts"),
    ("0,0.5,0.5", 100, "train and validation need rows"),
    ("100,0,0", 1000, "train and validation need rows"),
    ("0.9,0.001", 100, "train and validation need rows"),  # val rounds to 0 rows
])
def test_parse_split_errors_name_the_field(text, rows, words):
    with pytest.raises(ConfigError) as info:
        parse_split(text, rows)
    assert info.value.field == FIELD
    message = str(info.value)
    assert message.startswith(FIELD + ": ")
    assert words in message
    assert isinstance(info.value, UserError)  # shown to the user as one line, not a traceback


def test_parse_split_uses_the_given_field_name():
    with pytest.raises(ConfigError, match=r"^my\.field: "):
        parse_split("x", 10, field="my.field")


@settings(max_examples=200, deadline=None)
@given(rows=st.integers(10, 100_000), a=st.integers(1, 80), b=st.integers(1, 19))
def test_parse_split_fraction_property(rows, a, b):
    """Fractions give the nearest row counts and never more rows than exist."""
    fa, fb = a / 100, b / 100
    fc = round(1 - fa - fb, 2)
    text = f"{fa},{fb},{fc}"
    try:
        train, val, test = parse_split(text, rows)
    except ConfigError:
        assert round(fa * rows) == 0 or round(fb * rows) == 0
        return
    assert abs(train - fa * rows) <= 0.5 and abs(val - fb * rows) <= 0.5
    assert 0 <= test <= rows - train - val
    assert abs(test - fc * rows) <= 1.0


# --- window_origins ----------------------------------------------------------------------------------

def test_window_origins_seed_layout():
    """3000 points, lookback 500, horizon 1, train rows [0, 2500) and val rows [2500, 3000)."""
    train = window_origins(0, 2500, 500, 1)
    assert len(train) == 2000
    assert train[0] - 500 == 0           # first input window starts at row 0
    assert train[0] == 500 and train[-1] == 2499  # last target is row 2499, inside the split
    val = window_origins(2500, 3000, 500, 1)
    assert len(val) == 500
    assert val[0] == 2500 and val[-1] == 2999
    assert val[0] - 500 == 2000          # validation inputs reach back into training rows
    assert train.dtype == np.int64
    assert np.all(np.diff(train) == 1)


def test_window_origins_ett_layout():
    n_train, n_val, n_test = parse_split("8640,2880,2880", 17420)
    b1, b2, b3 = n_train, n_train + n_val, n_train + n_val + n_test
    train = window_origins(0, b1, 96, 96)
    val = window_origins(b1, b2, 96, 96)
    test = window_origins(b2, b3, 96, 96)
    assert (len(train), len(val), len(test)) == (8449, 2785, 2785)
    assert (train[0], train[-1] + 96) == (96, 8640)
    assert (val[0], val[-1] + 96) == (8640, 11520)
    assert (test[0], test[-1] + 96) == (11520, 14400)


@pytest.mark.parametrize("start,end,lookback,horizon,expected", [
    (0, 10, 3, 2, [3, 4, 5, 6, 7, 8]),
    (5, 10, 3, 2, [5, 6, 7, 8]),
    (0, 5, 3, 2, [3]),   # exactly one window
    (0, 4, 3, 2, []),    # too short: none
    (7, 8, 3, 2, []),    # split shorter than the horizon
    (0, 0, 1, 1, []),    # empty split (no test rows)
])
def test_window_origins_by_hand(start, end, lookback, horizon, expected):
    got = window_origins(start, end, lookback, horizon)
    assert got.tolist() == expected
    assert got.dtype == np.int64
    for t in got:  # targets inside the split, inputs inside the series
        assert start <= t and t + horizon <= end and t - lookback >= 0


# --- WindowDataset -----------------------------------------------------------------------------------

def small_series(rows: int = 20, cols: int = 3) -> torch.Tensor:
    # value = 10 * row + column, so any gathered element tells where it came from
    return torch.arange(rows)[:, None] * 10.0 + torch.arange(cols)[None, :]


def test_window_dataset_gathers_exact_windows():
    series = small_series()
    origins = window_origins(0, 20, 4, 3)
    ds = WindowDataset(series, origins, lookback=4, horizon=3, targets=2)
    assert len(ds) == 14  # origins 4..17
    x, y, t = ds.__getitems__([0, 5, 13])
    assert t.tolist() == [4, 9, 17]
    assert x.shape == (3, 4, 3) and y.shape == (3, 3, 2)
    # origin 9: inputs rows 5..8 (all columns), targets rows 9..11 (first two columns)
    assert x[1].tolist() == [[50, 51, 52], [60, 61, 62], [70, 71, 72], [80, 81, 82]]
    assert y[1].tolist() == [[90, 91], [100, 101], [110, 111]]
    assert x[0, 0].tolist() == [0, 1, 2]
    assert y[2, -1].tolist() == [190, 191]  # last row of the series
    for i, origin in enumerate(t.tolist()):
        assert torch.equal(x[i], series[origin - 4:origin])
        assert torch.equal(y[i], series[origin:origin + 3, :2])


def test_window_dataset_getitem_matches_getitems():
    series = small_series()
    ds = WindowDataset(series, window_origins(0, 20, 4, 3), 4, 3, 2)
    xs, ys, ts = ds.__getitems__(list(range(len(ds))))
    for i in range(len(ds)):
        x, y, t = ds[i]
        assert torch.equal(x, xs[i]) and torch.equal(y, ys[i]) and int(t) == int(ts[i])
    x, y, t = ds[-1]  # negative indices work like a list's
    assert int(t) == 17


def test_window_dataset_through_a_dataloader():
    """The DataLoader hands __getitems__ the batch indices; batch_identity passes the batch through."""
    series = small_series()
    ds = WindowDataset(series, window_origins(0, 20, 4, 3), 4, 3, 2)
    loader = DataLoader(ds, batch_size=5, collate_fn=batch_identity)
    batches = list(loader)
    assert [len(b[2]) for b in batches] == [5, 5, 4]
    assert torch.cat([b[2] for b in batches]).tolist() == list(range(4, 18))
    x, y, t = batches[1]
    assert torch.equal(x[0], series[t[0] - 4:t[0]])


def test_window_dataset_never_copies_the_series():
    series = small_series()
    ds = WindowDataset(series, window_origins(0, 20, 4, 3), 4, 3, 1)
    assert ds.series.data_ptr() == series.data_ptr()


# --- Scaler ------------------------------------------------------------------------------------------

def test_scaler_fit_by_hand():
    train = np.array([[1.0, 10.0], [2.0, 10.0], [3.0, 10.0], [6.0, 10.0]])
    scaler = Scaler.fit(train)
    # column 0: mean 3, population variance ((-2)^2 + (-1)^2 + 0 + 3^2) / 4 = 14/4
    assert scaler.mean.tolist() == [3.0, 10.0]
    assert scaler.std[0] == pytest.approx(np.sqrt(3.5))
    assert scaler.std[1] == 1.0  # constant column: centred, not divided by zero
    np.testing.assert_allclose(scaler.mean, train.mean(axis=0))
    np.testing.assert_allclose(scaler.std[0], train[:, 0].std())
    scaled = scaler.transform(train)
    assert np.isfinite(scaled).all()
    np.testing.assert_allclose(scaled[:, 0], (train[:, 0] - 3) / np.sqrt(3.5))
    assert scaled[:, 1].tolist() == [0.0, 0.0, 0.0, 0.0]
    np.testing.assert_allclose(scaled.mean(axis=0), [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(scaled[:, 0].std(), 1.0)


def test_scaler_inverse_round_trip_and_later_rows():
    rng = np.random.default_rng(0)
    series = rng.normal(5.0, 3.0, size=(50, 3))
    series[:, 2] = 7.0
    scaler = Scaler.fit(series[:30])  # training rows only
    assert scaler.mean[0] == pytest.approx(series[:30, 0].mean())
    assert scaler.mean[0] != pytest.approx(series[:, 0].mean())
    np.testing.assert_allclose(scaler.inverse(scaler.transform(series)), series, rtol=1e-12, atol=1e-12)
    # broadcasting over (batch, time, columns)
    windows = series.reshape(5, 10, 3)
    np.testing.assert_allclose(scaler.inverse(scaler.transform(windows)), windows, rtol=1e-12, atol=1e-12)


def test_scaler_identity():
    x = np.array([[1.5, -2.0]])
    s = Scaler.identity(2)
    assert s.transform(x).tolist() == x.tolist() and s.inverse(x).tolist() == x.tolist()


# --- infer_season ------------------------------------------------------------------------------------

@pytest.mark.parametrize("freq,season", [
    ("h", 24), ("15min", 96), ("30min", 48), ("min", 1440), ("D", 7), ("B", 7),
    ("W", 52), ("W-MON", 52), ("MS", 12), ("ME", 12), ("QS", 4),
])
def test_infer_season(freq, season):
    stamps = pd.date_range("2016-07-01", periods=300, freq=freq).astype(str).to_numpy()
    assert infer_season(stamps) == season


def test_infer_season_ett_style_strings():
    stamps = np.array([f"2016-07-01 {h:02d}:00:00" for h in range(24)]
                      + [f"2016-07-02 {h:02d}:00:00" for h in range(24)])
    assert infer_season(stamps) == 24


@pytest.mark.parametrize("values", [
    np.array(["a", "b", "c", "d"]),
    np.array(["2020-01-01", "2020-01-02", "2020-01-05", "2020-01-06"]),  # irregular
    np.array(["2020-01-01", "2020-01-02"]),                              # too short to tell
])
def test_infer_season_none(values):
    assert infer_season(values) == 1

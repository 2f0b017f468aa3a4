"""Reading, checking and windowing the series for the forecast task."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from suite.data.series import Scaler, WindowDataset, batch_identity, infer_season, parse_split, window_origins
from suite.data.sources import read_table
from suite.data.state import DataState
from suite.errors import ConfigError, DataError
from suite.task import TaskDataModule

from .config import COSINE
from .synthetic import SPLITS, TARGET, as_rows, delay_of, generate, is_synthetic, problem_named, split_sizes

#: the largest magnitude a series value may have. Training statistics and errors in the data's units are
#: computed in float64, whose squares overflow near 1e154; 1e100 leaves room for sums over many rows. (A
#: value of 1e308 made the scaler's mean inf and every metric NaN.)
MAX_MAGNITUDE = 1e100
#: the largest magnitude a value may have once scaled: the network computes in float32 (largest 3.4e38)
#: and squares its errors, which overflow beyond about 1.8e19
MAX_SCALED = 1e18

TIME_NAMES = ("date", "time", "timestamp", "datetime", "ds", "month", "day", "period")


def cosine_wave() -> pd.DataFrame:
    """The seed tutorial's series: cos of 3000 points evenly spaced over [1, 100]."""
    return pd.DataFrame({"cos": np.cos(np.linspace(1, 100, 3000))})


def read_series(source: str) -> tuple[pd.DataFrame, str]:
    """The table ``source`` names (the seed's wave for 'cosine'), and the name to report it by."""
    return (cosine_wave(), COSINE) if source == COSINE else (read_table(source), source)


def _split_names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _row_ref(source: str, index: int) -> dict[str, Any]:
    # CSV-like files: header is line 1, so data row i is on line i + 2
    return {"line": index + 2} if source.lower().endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz")) else {}


def _where(source: str, index: int) -> str:
    return f"row {index + 1}"


def select_columns(frame: pd.DataFrame, opts, source: str) -> tuple[str | None, list[str], list[str]]:
    """(time column, target columns, covariate columns) as the options ask, or a DataError."""
    columns = [str(c) for c in frame.columns]
    frame.columns = columns

    def need(name: str, what: str) -> str:
        if name not in columns:
            raise DataError(source, f"unknown {what} column '{name}'; the columns are: {', '.join(columns)}")
        return name

    time_col: str | None = None
    if opts.time_column == "auto":
        first = columns[0]
        is_text = not pd.api.types.is_numeric_dtype(frame[first])
        if first.lower() in TIME_NAMES or (is_text and _parses_as_time(frame[first])):
            time_col = first
    elif opts.time_column != "none":
        time_col = need(opts.time_column, "time")
    covariates = [need(c, "covariate") for c in _split_names(opts.covariates)]
    if opts.target == "all":
        targets = [c for c in columns if c != time_col and c not in covariates and _mostly_numeric(frame[c])]
        if not targets:
            raise DataError(source, f"no numeric column to forecast; columns are: {', '.join(columns)} "
                                    f"(name them with --target)")
    else:
        targets = [need(c, "target") for c in _split_names(opts.target)]
    if time_col in targets or set(targets) & set(covariates):
        raise ConfigError("options.target (--target)", "a column cannot be both target and time or covariate")
    return time_col, targets, covariates


def _mostly_numeric(values: pd.Series) -> bool:
    """Numbers with a few bad cells still count (the bad cells are then reported, not the column dropped)."""
    if pd.api.types.is_numeric_dtype(values):
        return True
    filled = values[values.notna() & (values.astype(str).str.strip() != "")]
    return len(filled) > 0 and pd.to_numeric(filled, errors="coerce").notna().mean() >= 0.5


def _parses_as_time(values: pd.Series) -> bool:
    try:
        with warnings.catch_warnings():  # probing: a non-date column is an answer, not a warning
            warnings.simplefilter("ignore")
            pd.to_datetime(values.head(20))
        return True
    except (ValueError, TypeError):
        return False


def numeric_values(frame: pd.DataFrame, columns: list[str], source: str, missing: str) -> np.ndarray:
    """The columns as float64, with missing values handled as asked; names the first bad cell."""
    out = pd.DataFrame(index=frame.index)
    for col in columns:
        raw = frame[col]
        numbers = pd.to_numeric(raw, errors="coerce")
        bad = numbers.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(source, f"column '{col}': expected a number, got {raw.iloc[i]!r} ({_where(source, i)})",
                            **_row_ref(source, i))
        out[col] = numbers.astype("float64")
    values = out.to_numpy()
    infinite = np.isinf(values)
    if infinite.any():  # a reading, not a gap: --missing does not fill it, the user has to look at it
        i, j = np.argwhere(infinite)[0]
        raise DataError(source, f"column '{columns[j]}': infinite value {values[i, j]:g} "
                                f"({_where(source, int(i))}); a series value must be a finite number",
                        **_row_ref(source, int(i)))
    too_large = np.abs(values) > MAX_MAGNITUDE  # NaN compares False: missing values are handled below
    if too_large.any():
        i, j = np.argwhere(too_large)[0]
        raise DataError(source, f"column '{columns[j]}': value {values[i, j]:.6g} is too large to scale "
                                f"({_where(source, int(i))}); values must lie within ±{MAX_MAGNITUDE:.0e} "
                                "(rescale the column, e.g. to thousands)", **_row_ref(source, int(i)))
    if not np.isfinite(values).all():
        if missing == "reject":
            i, j = np.argwhere(~np.isfinite(values))[0]
            raise DataError(source, f"column '{columns[j]}': missing value ({_where(source, int(i))}); fill it, "
                                    f"or pass --missing ffill|interpolate|zero", **_row_ref(source, int(i)))
        filled = pd.DataFrame(values, columns=columns).replace([np.inf, -np.inf], np.nan)
        if missing == "ffill":
            filled = filled.ffill().bfill()
        elif missing == "interpolate":
            filled = filled.interpolate(limit_direction="both")
        else:
            filled = filled.fillna(0.0)
        values = filled.to_numpy()
        if not np.isfinite(values).all():
            j = int(np.argwhere(~np.isfinite(values))[0][1])
            raise DataError(source, f"column '{columns[j]}' has no values to fill from")
    return values


def scale_checked(values: np.ndarray, mean, std, columns: list[str], source: str, first_row: int = 0
                  ) -> np.ndarray:
    """``values`` (rows from ``first_row`` of ``source``) scaled with the training statistics, or a
    DataError naming the first value the network could not compute with: a value far outside the
    training range, or any large value with --scaler none."""
    scaled = (values - np.asarray(mean)) / np.asarray(std)
    beyond = np.abs(scaled) > MAX_SCALED
    if beyond.any():
        i, j = np.argwhere(beyond)[0]
        row = first_row + int(i)
        raise DataError(source, f"column '{columns[j]}': value {values[i, j]:.6g} is too large for the model "
                                f"({_where(source, row)}): scaled by the training rows it is "
                                f"{scaled[i, j]:.3g}, beyond ±{MAX_SCALED:.0e}", **_row_ref(source, row))
    return scaled


def check_time_order(times: pd.Series, source: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stamps = pd.to_datetime(times, errors="coerce")
    if stamps.isna().any():
        i = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        raise DataError(source, f"time column: cannot read {times.iloc[i]!r} as a date or time ({_where(source, i)})",
                        **_row_ref(source, i))
    steps = np.diff(stamps.to_numpy().astype("datetime64[ns]").astype(np.int64))
    if (steps <= 0).any():
        i = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise DataError(source, f"time column is not in increasing order ({_where(source, i)}: {times.iloc[i]!r})",
                        **_row_ref(source, i))


@dataclass
class ForecastState(DataState):
    """What a trained forecaster keeps from its training series: the columns it reads (targets first,
    then covariates), the scaler fit on the training rows, the season and MASE scale of the metrics, and
    the time column's frequency (for the time stamps of forecasts).

    A synthetic problem (``synthetic:NAME``) fills the same fields: no time column, the target ``target``
    and the problem's channels as covariates, the scaler (the identity with ``--scaler none``), season 1,
    and as MASE's scale the training targets' mean absolute deviation (MASE 1 is the mean predictor). It
    also keeps ``target_mean``, the training targets' mean: the forecast of its baseline, which always
    predicts it. Series have no such baseline, and their saved states no such field (it is written only
    when set, so a series' state reads as before, with the same version)."""

    VERSION = 1
    time_column: str | None
    targets: list[str]
    covariates: list[str]
    mean: list[float]
    std: list[float]
    season: int
    mase_scale: list[float]
    freq: str | None
    target_mean: list[float] | None = None

    def to_dict(self) -> dict[str, Any]:
        saved = super().to_dict()
        if saved["target_mean"] is None:
            del saved["target_mean"]
        return saved

    @classmethod
    def upgrade(cls, saved: dict[str, Any], version: int) -> dict[str, Any]:
        if version == 0:  # the flat ``info`` dict: these fields, and "source" and "last_time", which nothing read
            return {k: v for k, v in saved.items() if k not in ("source", "last_time")}
        return super().upgrade(saved, version)

    @property
    def columns(self) -> list[str]:
        return self.targets + self.covariates


class ForecastDataModule(TaskDataModule):
    """Train/val/test windows over one (multivariate) series, scaled with training statistics; a test
    series alone (``--evaluate``) is read with the trained run's columns and scaler, all of it as test."""

    collate_fn = staticmethod(batch_identity)
    State = ForecastState
    state: ForecastState | None
    series: torch.Tensor | None = None
    values: np.ndarray | None = None
    times: pd.Series | None = None

    def load(self) -> None:
        opts = self.cfg.options
        if is_synthetic(opts.data):
            self._load_synthetic()
            return
        frame, source = read_series(opts.data)
        time_col, targets, covariates = select_columns(frame, opts, source)
        values = self._read(frame, source, time_col, targets + covariates)
        lookback, horizon = opts.lookback, opts.horizon
        n_train, n_val, n_test = parse_split(opts.split, len(values))
        if n_train < lookback + horizon:
            raise DataError(source, f"series too short: {n_train} training rows, but lookback {lookback} + "
                                    f"horizon {horizon} need at least {lookback + horizon}; use a smaller "
                                    f"--lookback/--horizon or a larger training --split")
        if n_val < horizon:
            raise DataError(source, f"validation split has {n_val} rows, fewer than the horizon {horizon}")
        train = values[:n_train]
        scaler = Scaler.fit(train) if opts.scaler == "standard" else Scaler.identity(values.shape[1])
        season = opts.season or (infer_season(self.times.to_numpy()) if self.times is not None else 1)
        self.state = ForecastState(time_col, targets, covariates, scaler.mean.tolist(), scaler.std.tolist(),
                                   int(season), mase_scale(train[:, :len(targets)], season).tolist(),
                                   _freq(self.times))
        self.train_set, val, self.test_set = self._windows(source, values, (0, n_train),
                                                           (n_train, n_train + n_val),
                                                           (n_train + n_val, n_train + n_val + n_test))
        self.val_set = val or self.test_set

    def load_test(self, data: str) -> None:
        if is_synthetic(data) or is_synthetic(self.cfg.options.data):
            self._load_synthetic_test(data)
            return
        frame, source = read_series(data)
        state = self.state
        for col in state.columns:
            if col not in frame.columns:
                raise DataError(source, f"missing column '{col}' that the model was trained on; columns "
                                        f"are: {', '.join(map(str, frame.columns))}")
        time_col = state.time_column if state.time_column in frame.columns else None
        values = self._read(frame, source, time_col, state.columns)
        [self.test_set] = self._windows(source, values, (0, len(values)))
        if self.test_set is None:
            lookback, horizon = self.cfg.options.lookback, self.cfg.options.horizon
            raise DataError(source, f"series too short: {len(values)} rows, but lookback {lookback} + horizon "
                                    f"{horizon} need at least {lookback + horizon}")

    # --- synthetic problems: independent sequences, each one window (see synthetic.py) -----------------
    def _load_synthetic(self) -> None:
        opts = self.cfg.options
        problem = problem_named(opts.data)
        made = {split: generate(problem, n, opts.sequence_length, delay_of(opts), opts.data_seed, split)
                for split, n in zip(SPLITS, split_sizes(opts)) if n}
        inputs, targets = made["train"]
        if opts.scaler == "standard":  # the target over the training targets, each channel over its steps
            scaler = Scaler(np.array([targets.mean(), *inputs.mean(axis=(0, 1))]),
                            np.array([targets.std(), *inputs.std(axis=(0, 1))]))
            scaler.std = np.where(scaler.std > 1e-12, scaler.std, 1.0)
        else:
            scaler = Scaler.identity(1 + inputs.shape[-1])
        target_mean = float(targets.mean())
        spread = float(np.abs(targets - target_mean).mean())
        self.state = ForecastState(None, [TARGET], list(problem.channels), scaler.mean.tolist(),
                                   scaler.std.tolist(), 1, [spread if spread > 1e-12 else 1.0], None,
                                   [target_mean])
        self.train_set, self.val_set, self.test_set = self._sequences(opts.data, [made.get(s) for s in SPLITS])

    def _load_synthetic_test(self, data: str) -> None:
        """``--evaluate synthetic:NAME``: the test split the run's settings draw (``--data-seed``,
        ``--examples`` and ``--split`` choose which), else its validation split where it has no test."""
        opts, state = self.cfg.options, self.state
        if not is_synthetic(opts.data):
            raise DataError(data, f"this model forecasts the series {', '.join(state.targets)}; synthetic data "
                                  "is scored by a model trained on it")
        if not is_synthetic(data):
            raise DataError(data, f"this model was trained on {opts.data}; evaluate it on synthetic data "
                                  f"(--evaluate {opts.data}, with --data-seed N for other examples)")
        problem = problem_named(data, "--evaluate")
        if problem.columns != state.columns:
            raise DataError(data, f"this model reads {', '.join(state.columns)}, and {data} has "
                                  f"{', '.join(problem.columns)}; evaluate it on {opts.data}")
        _, n_val, n_test = split_sizes(opts)
        split, n = ("test", n_test) if n_test else ("val", n_val)
        part = generate(problem, n, opts.sequence_length, delay_of(opts), opts.data_seed, split)
        [self.test_set] = self._sequences(data, [part])
        self.test_split = f"{split} split of {data} (data seed {opts.data_seed}, {n} examples)"

    def _sequences(self, source: str, parts: list[tuple[np.ndarray, np.ndarray] | None]
                   ) -> list[WindowDataset | None]:
        """One window per example of each part (inputs, targets), over the examples laid out as rows: the
        forecast origin of an example is its target row."""
        state, opts = self.state, self.cfg.options
        stride = opts.sequence_length + 1
        rows = [as_rows(inputs, targets, state.mean) for inputs, targets in filter(None, parts)]
        self.values, self.times = np.concatenate(rows), None
        scaled = scale_checked(self.values, state.mean, state.std, state.columns, source)
        self.series = torch.tensor(scaled, dtype=torch.float32)
        made, first = [], 0
        for part in parts:
            if part is None:
                made.append(None)
                continue
            origins = first + np.arange(len(part[1]), dtype=np.int64) * stride + opts.sequence_length
            made.append(WindowDataset(self.series, origins, opts.lookback, 1, 1))
            first += len(part[1]) * stride
        return made

    def _read(self, frame: pd.DataFrame, source: str, time_col: str | None, columns: list[str]) -> np.ndarray:
        """The columns' values, checked (and their time column's order); keeps them and the times."""
        self.values = numeric_values(frame, columns, source, self.cfg.options.missing)
        self.times = frame[time_col].astype(str).reset_index(drop=True) if time_col else None
        if self.times is not None:
            check_time_order(self.times, source)
        return self.values

    def _windows(self, source: str, values: np.ndarray, *spans: tuple[int, int]) -> list[WindowDataset | None]:
        """The values scaled with the state's statistics, and the windows of each span of rows (None
        where a span is too short for one)."""
        state, opts = self.state, self.cfg.options
        scaled = scale_checked(values, state.mean, state.std, state.columns, source)
        self.series = torch.tensor(scaled, dtype=torch.float32)
        made = []
        for start, end in spans:
            origins = window_origins(start, end, opts.lookback, opts.horizon)
            made.append(WindowDataset(self.series, origins, opts.lookback, opts.horizon, len(state.targets))
                        if len(origins) else None)
        return made


def mase_scale(train_values: np.ndarray, season: int) -> np.ndarray:
    """Per-column mean absolute error of the seasonal-naive forecast on the training rows (MASE's scale)."""
    m = season if season > 1 and len(train_values) > season else 1
    diffs = np.abs(train_values[m:] - train_values[:-m]).mean(axis=0)
    return np.where(diffs > 1e-12, diffs, 1.0)


def _freq(times: pd.Series | None) -> str | None:
    if times is None or len(times) < 3:
        return None
    try:
        return pd.infer_freq(pd.to_datetime(times.iloc[:200]))
    except (ValueError, TypeError):
        return None


def future_times(last_time: str | None, freq: str | None, steps: int) -> list[str] | None:
    if not last_time or not freq:
        return None
    try:
        stamps = pd.date_range(pd.Timestamp(last_time), periods=steps + 1, freq=freq)[1:]
    except (ValueError, TypeError):
        return None
    return [str(s) for s in stamps]


def parse_inline_series(text: str) -> np.ndarray | None:
    """``"0.1, 0.2 0.3"`` -> array, or None when the text is not a list of numbers."""
    parts = text.replace(",", " ").split()
    try:
        values = np.array([float(p) for p in parts], dtype=np.float64)
    except ValueError:
        return None
    return values if len(values) and all(math.isfinite(v) for v in values) else None

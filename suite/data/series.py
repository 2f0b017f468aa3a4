"""Time-series helpers: chronological splits, scaling fit on training rows, and windows.

Windows are never materialised: a WindowDataset holds the whole series once and gathers a batch of
windows with one indexing operation (``__getitems__``), so the loader does no Python work per example.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import ConfigError


def parse_split(text: str, n_rows: int, field: str = "options.split (--split)") -> tuple[int, int, int]:
    """``"0.7,0.1,0.2"`` (fractions) or ``"8640,2880,2880"`` (row counts) -> row counts.

    Fractions are of the whole series; counts may leave rows unused at the end (the ETT convention).
    A test part of 0 means the data has no test split.
    """
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) not in (2, 3):
        raise ConfigError(field, f"expected train,val[,test] as fractions or row counts, got {text!r}")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ConfigError(field, f"expected numbers, got {text!r}") from None
    if len(values) == 2:
        values.append(0.0)
    if any(v < 0 for v in values):
        raise ConfigError(field, f"parts must not be negative, got {text!r}")
    if all(v <= 1.0 for v in values) and any(not float(v).is_integer() for v in values):
        if sum(values) > 1.0 + 1e-9:
            raise ConfigError(field, f"fractions add up to more than 1: {text!r}")
        n_train = int(round(values[0] * n_rows))
        n_val = int(round(values[1] * n_rows))
        n_test = min(int(round(values[2] * n_rows)), n_rows - n_train - n_val)
        counts = (n_train, n_val, n_test)
    else:
        if any(not v.is_integer() for v in values):
            raise ConfigError(field, f"mixes fractions and row counts: {text!r}")
        counts = tuple(int(v) for v in values)
        if sum(counts) > n_rows:
            raise ConfigError(field, f"asks for {sum(counts)} rows but the series has {n_rows}")
    if counts[0] <= 0 or counts[1] <= 0:
        raise ConfigError(field, f"train and validation need rows; {text!r} gives {counts[0]} and {counts[1]} "
                                 f"of {n_rows}")
    return counts


@dataclass
class Scaler:
    """Per-column standardisation; ``mean=0, std=1`` is the identity."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, rows: np.ndarray) -> Scaler:
        mean = rows.mean(axis=0)
        std = rows.std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)  # a constant column stays as it is, centred
        return cls(mean.astype(np.float64), std.astype(np.float64))

    @classmethod
    def identity(cls, columns: int) -> Scaler:
        return cls(np.zeros(columns), np.ones(columns))

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std

    def inverse(self, x: np.ndarray) -> np.ndarray:
        return x * self.std + self.mean


def window_origins(start: int, end: int, lookback: int, horizon: int) -> np.ndarray:
    """Forecast origins ``t`` whose targets ``[t, t + horizon)`` lie in rows ``[start, end)``.

    The input window ``[t - lookback, t)`` may reach back before ``start`` (into earlier splits),
    as the seed tutorial and the long-horizon benchmarks do.
    """
    first = max(start, lookback)
    last = end - horizon
    if last < first:
        return np.zeros(0, dtype=np.int64)
    return np.arange(first, last + 1, dtype=np.int64)


class WindowDataset(Dataset):
    """Windows over one series: item ``i`` is ``(x, y, origin)`` with ``x = series[t-L:t]`` (all
    input columns) and ``y = series[t:t+H, :targets]``."""

    def __init__(self, series: torch.Tensor, origins: np.ndarray, lookback: int, horizon: int, targets: int):
        self.series = series
        self.origins = torch.as_tensor(origins, dtype=torch.long)
        self.lookback = lookback
        self.horizon = horizon
        self.targets = targets
        self._back = torch.arange(-lookback, 0)
        self._ahead = torch.arange(horizon)

    def __len__(self) -> int:
        return len(self.origins)

    def __getitem__(self, i: int):
        x, y, t = self.__getitems__([i])
        return x[0], y[0], t[0]

    def __getitems__(self, indices) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        t = self.origins[torch.as_tensor(indices, dtype=torch.long)]
        x = self.series[t[:, None] + self._back]
        y = self.series[t[:, None] + self._ahead, : self.targets]
        return x, y, t


def batch_identity(batch):
    """Collate for datasets that return whole batches from ``__getitems__``."""
    return batch


def infer_season(times) -> int:
    """The seasonal period implied by a timestamp column (hourly -> 24, daily -> 7, ...); 1 if none."""
    import pandas as pd

    try:
        with warnings.catch_warnings():  # free-form text is simply not a date column
            warnings.simplefilter("ignore")
            freq = pd.infer_freq(pd.to_datetime(pd.Series(times[:200])))
        offset = pd.tseries.frequencies.to_offset(freq) if freq else None
    except (ValueError, TypeError):
        return 1
    if offset is None:
        return 1
    try:
        minutes = pd.Timedelta(offset).total_seconds() / 60  # fixed-length offsets only
    except ValueError:
        minutes = None
    if minutes and minutes < 24 * 60 and (24 * 60) % minutes == 0:
        return int(24 * 60 // minutes)  # intraday: one day
    name = offset.name.upper()
    if minutes == 24 * 60 or name.startswith("B"):
        return 7
    for prefix, period in (("W", 52), ("M", 12), ("Q", 4)):
        if name.startswith(prefix):
            return period
    return 1

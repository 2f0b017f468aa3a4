"""The forecast task's strong baseline: DLinear (Zeng et al. 2023, "Are Transformers Effective for Time
Series Forecasting?") fitted in closed form.

Each target channel's lookback window is split into a trend, its moving average over ``KERNEL`` steps
(the window's first and last values repeated at its edges, as DLinear pads), and the remainder; one
linear map each takes trend and remainder to the horizon, and the forecast is their sum plus a bias per
horizon step. The maps are shared by all target channels (DLinear's default, ``individual=False``) and
read only the target's own history, so covariates are not used. Both maps are fitted jointly by least
squares on every training window of every target channel, in the task's scaled space, and the forecasts
are scored by the task's own metric code.

Trend and remainder add up to the window, so the least-squares forecast equals that of one linear map of
the window: the decomposition shapes DLinear's gradient training, not this optimum. The design matrix is
therefore rank-deficient, and a ridge term of ``RIDGE`` times the features' mean square (not on the
bias) picks the smallest maps among the equally good ones; on ETTh1 it changes no reported digit.

Numpy only: this baseline needs no extra.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from suite.data.series import WindowDataset

KERNEL = 25  # DLinear's moving-average kernel
RIDGE = 1e-6
#: the normal equations hold (2 * lookback + 1)^2 numbers: 134 MB at this lookback, which is far beyond the
#: long-horizon benchmarks' 96 to 720
MAX_LOOKBACK = 2048
CHUNK = 2048  # training windows per block of the normal equations (about 2048 x channels x (2L+1) floats)


def decompose(x: np.ndarray, kernel: int = KERNEL) -> tuple[np.ndarray, np.ndarray]:
    """``x`` (batch, lookback, channels) -> (trend, remainder) of the same shape: DLinear's series_decomp,
    a moving average of stride 1 over the window padded with ``(kernel - 1) // 2`` copies of its first and
    last values."""
    pad = (kernel - 1) // 2
    padded = np.concatenate([np.repeat(x[:, :1], pad, axis=1), x, np.repeat(x[:, -1:], pad, axis=1)], axis=1)
    sums = np.concatenate([np.zeros_like(padded[:, :1]), np.cumsum(padded, axis=1)], axis=1)
    trend = (sums[:, kernel:] - sums[:, :-kernel]) / kernel
    return trend, x - trend


def features(x: np.ndarray) -> np.ndarray:
    """``x`` (batch, lookback, channels) -> one row per (window, channel): trend, remainder and 1."""
    trend, remainder = decompose(x)
    rows = lambda part: part.transpose(0, 2, 1).reshape(-1, part.shape[1])  # noqa: E731
    return np.concatenate([rows(trend), rows(remainder), np.ones((trend.shape[0] * trend.shape[2], 1))], axis=1)


class DLinear:
    """``fit(dataset)`` on training windows; ``predict(x)`` -> (batch, horizon, targets) forecasts. ``weights``:
    (2 * lookback + 1, horizon), the trend map's rows, the remainder map's, then the bias."""

    weights: np.ndarray

    def fit(self, dataset: WindowDataset) -> DLinear:
        targets, lookback = dataset.targets, dataset.lookback
        if lookback > MAX_LOOKBACK:
            raise ValueError(f"a lookback of {lookback} steps is more than its closed form takes here "
                             f"({MAX_LOOKBACK})")
        width = 2 * lookback + 1
        gram, cross = np.zeros((width, width)), np.zeros((width, dataset.horizon))
        for start in range(0, len(dataset), CHUNK):
            x, y, _ = dataset.__getitems__(np.arange(start, min(start + CHUNK, len(dataset))))
            f = features(x[:, :, :targets].double().numpy())
            gram += f.T @ f
            cross += f.T @ y.double().numpy().transpose(0, 2, 1).reshape(-1, dataset.horizon)
        penalty = np.full(width, RIDGE * np.trace(gram[:-1, :-1]) / (width - 1))
        penalty[-1] = 0.0
        self.weights = np.linalg.solve(gram + np.diag(penalty), cross)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        batch, _, channels = x.shape
        return (features(x) @ self.weights).reshape(batch, channels, -1).transpose(0, 2, 1)


def fit_for(datamodule) -> dict[str, dict]:
    """``{"dlinear": ...}``: fitted on the datamodule's training windows, scored on validation and test."""
    from .metrics import score

    state, train = datamodule.state, datamodule.train_set
    if train is None or len(train) == 0:
        return {}
    started = time.perf_counter()
    model = DLinear().fit(train)

    def predictor(x: torch.Tensor, origins: torch.Tensor, dataset: WindowDataset) -> torch.Tensor:
        return torch.from_numpy(model.predict(x[:, :, : dataset.targets].double().numpy()))

    scored = {split: score(predictor, ds, state) for split, ds in (("val", datamodule.val_set),
                                                                   ("test", datamodule.test_set))}
    targets = len(state.targets)
    return {"dlinear": {**scored, "fit_seconds": round(time.perf_counter() - started, 2),
                        "description": f"DLinear by least squares on {len(train):,} training windows: "
                                       f"moving-average trend (kernel {KERNEL}) and remainder of the "
                                       f"{train.lookback}-step lookback, one linear map each to the "
                                       f"{train.horizon}-step horizon, shared by the {targets} target "
                                       f"channel{'s' if targets > 1 else ''}"}}

"""Forecast errors and the naive baselines they are compared with.

MSE and MAE are reported in the scaled space (as the long-horizon literature does); MAE, RMSE,
sMAPE (percent) and MASE in the data's own units. One torchmetrics Metric accumulates all of them,
so they are synchronised across DDP processes like any torchmetrics metric.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import torch
from torch.utils.data import DataLoader
from torchmetrics import Metric

from suite.data.series import WindowDataset, batch_identity

if TYPE_CHECKING:
    from .data import ForecastState


class ForecastErrors(Metric):
    full_state_update = False

    def __init__(self, mean, std, mase_scale, **kwargs):
        super().__init__(**kwargs)
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float64))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float64))
        self.register_buffer("scale", torch.as_tensor(mase_scale, dtype=torch.float64))
        channels = len(self.scale)
        zero = lambda: torch.zeros((), dtype=torch.float64)  # noqa: E731
        self.add_state("se_scaled", zero(), dist_reduce_fx="sum")
        self.add_state("ae_scaled", zero(), dist_reduce_fx="sum")
        self.add_state("se_orig", zero(), dist_reduce_fx="sum")
        self.add_state("smape_sum", zero(), dist_reduce_fx="sum")
        self.add_state("ae_orig", torch.zeros(channels, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", zero(), dist_reduce_fx="sum")

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """``pred`` and ``target`` are ``(batch, horizon, channels)`` in the scaled space."""
        pred, target = pred.detach().double(), target.double()
        err = pred - target
        self.se_scaled += (err ** 2).sum()
        self.ae_scaled += err.abs().sum()
        channels = target.shape[-1]
        mean, std = self.mean[:channels], self.std[:channels]
        pred_o, target_o = pred * std + mean, target * std + mean
        err_o = pred_o - target_o
        self.se_orig += (err_o ** 2).sum()
        self.ae_orig += err_o.abs().sum(dim=(0, 1))
        denom = pred_o.abs() + target_o.abs()
        self.smape_sum += torch.where(denom > 0, 2 * err_o.abs() / denom.clamp_min(1e-12),
                                      torch.zeros_like(denom)).sum()
        self.count += err.numel()

    def compute(self) -> dict[str, torch.Tensor]:
        n = self.count.clamp_min(1)
        per_channel = n / len(self.scale)
        return {
            "mse": self.se_scaled / n,
            "mae": self.ae_scaled / n,
            "orig_mae": self.ae_orig.sum() / n,
            "orig_rmse": torch.sqrt(self.se_orig / n),
            "smape": 100 * self.smape_sum / n,
            "mase": (self.ae_orig / per_channel / self.scale).mean(),
        }


Predictor = Callable[[torch.Tensor, torch.Tensor, WindowDataset], torch.Tensor]


def repeat_last(x: torch.Tensor, origins: torch.Tensor, dataset: WindowDataset) -> torch.Tensor:
    """Every future step equals the last observed value."""
    return x[:, -1:, : dataset.targets].expand(-1, dataset.horizon, -1)


def constant(values: list[float], state: ForecastState) -> Predictor:
    """Every step of every target equals ``values`` (in the data's units): the mean predictor."""
    scaled = (torch.tensor(values, dtype=torch.float64) - torch.tensor(state.mean[: len(values)], dtype=torch.float64)
              ) / torch.tensor(state.std[: len(values)], dtype=torch.float64)

    def predict(x: torch.Tensor, origins: torch.Tensor, dataset: WindowDataset) -> torch.Tensor:
        return scaled.to(x.dtype).expand(x.shape[0], dataset.horizon, -1)
    return predict


def seasonal_naive(season: int) -> Predictor:
    """Every future step equals the value one season earlier."""
    def predict(x: torch.Tensor, origins: torch.Tensor, dataset: WindowDataset) -> torch.Tensor:
        ahead = torch.arange(dataset.horizon)
        rows = (origins[:, None] - season + ahead % season).clamp_min(0)
        return dataset.series[rows, : dataset.targets]
    return predict


def score(predictor: Predictor, dataset: WindowDataset | None, state: ForecastState, batch_size: int = 1024
          ) -> dict[str, float]:
    if dataset is None or len(dataset) == 0:
        return {}
    # computed by one process after training: no synchronisation with other DDP ranks
    metric = ForecastErrors(state.mean, state.std, state.mase_scale, sync_on_compute=False)
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=batch_identity)
    for x, y, origins in loader:
        metric.update(predictor(x, origins, dataset), y)
    return {k: float(v) for k, v in metric.compute().items()}

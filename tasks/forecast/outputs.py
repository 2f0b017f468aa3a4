"""The forecast run's outputs: test forecasts as CSV and the tutorial's prediction-vs-real plot."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .data import ForecastDataModule
from .models import ForecastModule


def stitched_test_forecast(model: ForecastModule, dm: ForecastDataModule, batch_size: int = 512) -> dict[str, Any]:
    """Forecasts from every horizon-th test origin, so consecutive windows tile the test span once."""
    dataset = dm.test_set
    horizon = dataset.horizon
    picks = list(range(0, len(dataset), horizon))
    preds, trues, rows = [], [], []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(picks), batch_size):
            x, y, origins = dataset.__getitems__(picks[start:start + batch_size])
            preds.append(model(x.to(model.device)).cpu())
            trues.append(y)
            rows.append(origins[:, None] + torch.arange(horizon))
    mean = np.asarray(dm.state.mean[: dataset.targets])
    std = np.asarray(dm.state.std[: dataset.targets])
    unscale = lambda t: torch.cat(t).reshape(-1, dataset.targets).double().numpy() * std + mean  # noqa: E731
    index = torch.cat(rows).reshape(-1).numpy()
    times = dm.times.iloc[index].tolist() if dm.times is not None else None
    if dm.state.target_mean is not None:  # synthetic sequences (horizon 1): numbered as test examples
        return {"targets": dm.state.targets, "row": list(range(len(index))), "index": "example", "time": None,
                "forecast": unscale(preds), "actual": unscale(trues)}
    return {"targets": dm.state.targets, "row": index.tolist(), "time": times,
            "forecast": unscale(preds), "actual": unscale(trues)}


def write_predictions_csv(path: Path, table: dict[str, Any]) -> str:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        header = [table.get("index", "row")] + (["time"] if table["time"] else [])
        for col in table["targets"]:
            header += [col, f"{col}_forecast"]
        writer.writerow(header)
        for i, row in enumerate(table["row"]):
            line = [row] + ([table["time"][i]] if table["time"] else [])
            for j in range(len(table["targets"])):
                line += [f"{table['actual'][i, j]:.6g}", f"{table['forecast'][i, j]:.6g}"]
            writer.writerow(line)
    return path.name


def write_plot(path: Path, table: dict[str, Any], split: str) -> str:
    """The seed tutorial's figure: prediction (green) above the real series (red), sharing the x axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    col = table["targets"][0]
    if table.get("index") == "example":  # independent sequences: forecast against target, one dot each
        fig, ax = plt.subplots(figsize=[7, 7])
        actual, forecast = table["actual"][:, 0], table["forecast"][:, 0]
        ax.scatter(actual, forecast, s=6, c="g", alpha=0.5)
        low, high = float(min(actual.min(), forecast.min())), float(max(actual.max(), forecast.max()))
        ax.plot([low, high], [low, high], "r", linewidth=1)
        ax.set_title(f"Forecast against the true {col} ({split.split(' ')[0]} split, {len(actual)} examples)")
        ax.set_xlabel(f"true {col}")
        ax.set_ylabel("forecast")
        fig.tight_layout()
        fig.savefig(path, dpi=80)
        plt.close(fig)
        return path.name
    fig, ax = plt.subplots(2, 1, sharex=True, figsize=[12, 8])
    ax[0].plot(table["forecast"][:, 0], "g")
    ax[0].set_title(f"Prediction ({col}, {split.split(' ')[0]} split)")
    ax[1].plot(table["actual"][:, 0], "r")
    ax[1].set_title("Real")
    ax[1].set_xlabel("step")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path.name

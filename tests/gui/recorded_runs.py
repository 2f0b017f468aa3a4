"""Run folders as the seed tutorial's runs leave them (config, metrics, results), written in milliseconds,
so the window's Runs tab, Training tab and Export can be tested without training anything."""

from __future__ import annotations

import json
import os
from pathlib import Path

from run_damage import good_results

METRICS_HEADER = "time,step,epoch,name,value\r\n"


def seed_config(task: str = "forecast", preset: str | None = "seed", **explicit) -> str:
    from suite.config import build_run_config
    from suite.registry import get_task

    return build_run_config(get_task(task), preset=preset, explicit=explicit).to_yaml()


def metric_rows(val: str = "val/mse", epochs: int = 2, start: float = 1000.0, scale: float = 1.0) -> str:
    rows = []
    for epoch in range(epochs):
        for batch in range(1, 21):
            step = epoch * 20 + batch
            rows.append(f"{start + step / 10},{step},{epoch},train/loss,{scale * 0.5 / step}")
        rows.append(f"{start + (epoch + 1) * 2.05},{(epoch + 1) * 20},{epoch},{val},{scale * 0.01 / (epoch + 1)}")
    return METRICS_HEADER + "".join(row + "\r\n" for row in rows)


def write_recorded(root: Path, name: str, *, task: str = "forecast", config: str | None = None,
                   metrics: str | None = None, results: dict | None = None, started: float | None = None) -> Path:
    """``root/<task>/<name>/`` holding a finished run's files; ``started`` sets when it is listed as begun."""
    path = root / task / name
    (path / "checkpoints").mkdir(parents=True)
    (path / "config.yaml").write_text(config if config is not None else seed_config(task), encoding="utf-8")
    (path / "metrics.csv").write_text(metrics if metrics is not None else metric_rows(), newline="")
    (path / "events.jsonl").write_text("")
    (path / "results.json").write_text(json.dumps(results or good_results(task=task)), encoding="utf-8")
    if started is not None:
        os.utime(path / "config.yaml", (started, started))
    return path


def seed_runs(root: Path, cells=("rnn", "gru", "lstm")) -> list[Path]:
    """The seed tutorial run once per cell, as the issue's user had them: oldest first."""
    return [write_recorded(root, f"20261201-1457{10 + i:02d}-cosine-sequence-{cell}32-L500H1",
                           config=seed_config(**{"backbone.cell": cell}), metrics=metric_rows(scale=1 + i),
                           started=1_800_000_000 + i)
            for i, cell in enumerate(cells)]

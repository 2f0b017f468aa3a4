"""Suite vs plain PyTorch on the seed tutorial's cosine wave (``python main.py --task forecast``).

Measures, for the same model, data and optimiser, over several seeds in one process:

* the fit-time ratio suite/plain -- suite: results.json ``fit_seconds`` (``trainer.fit`` wall time);
  plain: wall time of a hand-written loop's 10 epochs including its per-epoch validation pass.
  Target: <= 1.10 (the engine's overhead over a bare loop).
* the median validation MSE of each (best epoch, as the suite's checkpoint is chosen).
  Target: <= 1e-4 (the seed's Keras model reaches about 1.5e-4 on a 2-core CPU).

The model is the seed's: SimpleRNN(32) (suite.backbones.RecurrentBackbone, cell rnn, Keras init) and a
Glorot-initialised linear head; data: cos over np.linspace(1, 100, 3000), windows of 500 predicting the
next value, the first 2000 windows for training, the last 500 for validation; adam at the preset's
learning rate, batch 100, 10 shuffled epochs.

The last line is one comparable figure: ``ratio=1.03 suite_mse=3.1e-05 plain_mse=3.6e-05``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from suite.backbones import RecurrentBackbone, glorot_linear_  # noqa: E402
from suite.config import BackboneConfig, build_run_config  # noqa: E402
from suite.errors import UserError, exit_on_user_error  # noqa: E402
from suite.registry import get_task  # noqa: E402
from suite.training import quiet_libraries, train_in_process  # noqa: E402

LOOKBACK, N_TRAIN, N_VAL = 500, 2000, 500


def suite_run(seed: int, workdir: Path) -> tuple[float, float]:
    """(fit seconds, best validation MSE) of the default forecast run, through the suite in-process."""
    task = get_task("forecast")
    cfg = build_run_config(task, explicit={"train.seed": seed, "options.plot": False})
    assert cfg.preset == "seed", cfg.preset
    datamodule = task.datamodule(cfg)
    datamodule.setup("fit")
    results = train_in_process(task, cfg, datamodule, workdir / f"suite-{seed}")
    return results["fit_seconds"], results["metrics"]["val"]["mse"]


def cosine_windows() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    series = torch.tensor(np.cos(np.linspace(1, 100, 3000)), dtype=torch.float32)
    origins = torch.arange(LOOKBACK, LOOKBACK + N_TRAIN + N_VAL)
    x = series[origins[:, None] + torch.arange(-LOOKBACK, 0)].unsqueeze(-1)  # (N, 500, 1)
    y = series[origins].unsqueeze(-1)  # (N, 1)
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]


class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = RecurrentBackbone(1, BackboneConfig(cell="rnn", hidden=32, init="keras"))
        self.head = glorot_linear_(nn.Linear(32, 1))

    def forward(self, x):
        _, h = self.rnn(x)
        return self.head(h[-1])


def plain_run(seed: int, lr: float, batch: int, epochs: int) -> tuple[float, float]:
    """(wall seconds of the epochs incl. validation, best validation MSE) of a bare PyTorch loop."""
    torch.manual_seed(seed)
    x_tr, y_tr, x_va, y_va = cosine_windows()
    model = Plain()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    best = float("inf")
    started = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(x_tr)).split(batch):
            loss = nn.functional.mse_loss(model(x_tr[idx]), y_tr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            se = sum(((model(xb) - yb) ** 2).sum() for xb, yb in zip(x_va.split(batch), y_va.split(batch)))
        best = min(best, float(se) / len(y_va))
    return time.perf_counter() - started, best


def parse_seeds(text: str) -> list[int]:
    """``"1,2,3"`` -> [1, 2, 3]; anything else is one error line (it was a ValueError's traceback)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isascii() and p.isdigit() and len(p) < 20 for p in parts):
        raise UserError(f"--seeds: expected comma-separated non-negative integers like 1,2,3, got {text!r}")
    seeds = [int(p) for p in parts]
    if max(seeds) > 2**32 - 1:  # the suite's --seed bound
        raise UserError(f"--seeds: a seed must be at most {2**32 - 1:,}, got {max(seeds)}")
    return seeds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Targets: ratio <= 1.10, both median validation MSEs <= 1e-4.")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds (default: 1,2,3)")
    args = parser.parse_args()
    seeds = parse_seeds(args.seeds)
    quiet_libraries()

    task = get_task("forecast")
    train = build_run_config(task).train  # the seed preset's optimiser settings, used by both loops
    print(f"seed preset: {train.optimizer} lr={train.lr} batch={train.batch_size} epochs={train.max_epochs}, "
          f"torch threads={torch.get_num_threads()}")
    plain_run(0, train.lr, train.batch_size, 1)  # warm-up: first-call kernel setup is nobody's overhead
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            s_time, s_mse = suite_run(seed, Path(tmp))
            p_time, p_mse = plain_run(seed, train.lr, train.batch_size, train.max_epochs)
            rows.append((seed, s_time, s_mse, p_time, p_mse))
            print(f"seed {seed}: suite {s_time:6.2f} s  val_mse {s_mse:.2e} | plain {p_time:6.2f} s  "
                  f"val_mse {p_mse:.2e} | ratio {s_time / p_time:.3f}", flush=True)
    ratio = sum(r[1] for r in rows) / sum(r[3] for r in rows)
    suite_mse = statistics.median(r[2] for r in rows)
    plain_mse = statistics.median(r[4] for r in rows)
    print(f"fit time suite/plain (total over seeds): {ratio:.3f} (target <= 1.10)")
    print(f"median validation MSE: suite {suite_mse:.2e}, plain {plain_mse:.2e} (target <= 1e-4; "
          f"the seed's Keras model ~1.5e-4)")
    print(f"ratio={ratio:.2f} suite_mse={suite_mse:.1e} plain_mse={plain_mse:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_user_error(main))

"""JSB Chorales (quarter notes, Boulanger-Lewandowski 2012 split) with the music task.

The benchmark's measure: test negative log-likelihood per time step (nats, summed over the 88 keys,
averaged over every test time step; the first step of each piece predicted from the initial state),
with frame-level accuracy. The model is chosen on validation NLL; the test split is only reported.

Runs in one process, one after another:

* the suite with the task's default (LSTM + NADE output), as ``python main.py --task music --data
  music/jsb_chorales/jsb-chorales-quarter.json``;
* the suite with ``--distribution bernoulli`` (88 independent keys, the LSTM of the literature);
* a plain PyTorch loop with the same Bernoulli LSTM, data order, optimiser, clipping and epochs
  (the reference for the engine's overhead and for the NLL);

beside the naive baselines (repeat the previous frame, per-key frequency) and the published
figures. Prints test NLL, fit seconds and training frames (time steps) per second.
Target: test NLL <= 8.5 trained in under 20 minutes on a 2-core CPU; goal 6.0.
The last line is one comparable figure: ``test_nll=... target=8.5 goal=6.0 fit_seconds=...``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

REPO = Path(__file__).resolve().parents[1]
# The plain loop has no early stopping, so the suite's Bernoulli run beside it trains every epoch too
# (the task's default stops 5 epochs after the best validation NLL)
BERNOULLI = {"options.distribution": "bernoulli", "train.patience": 0}
sys.path.insert(0, str(REPO))

from suite.config import build_run_config  # noqa: E402
from suite.errors import exit_on_user_error  # noqa: E402
from suite.registry import get_task  # noqa: E402
from suite.training import quiet_libraries, train_in_process  # noqa: E402

PUBLISHED = {"tanh RNN": "8.76-9.10", "LSTM": 8.67, "GRU": 8.54, "RNN-RBM": 6.27, "RNN-NADE": "5.19-5.56"}
TARGET, GOAL = 8.5, 6.0


def suite_run(explicit: dict, workdir: Path, name: str) -> dict:
    task = get_task("music")
    cfg = build_run_config(task, explicit=explicit)
    datamodule = task.datamodule(cfg)
    datamodule.setup("fit")
    results = train_in_process(task, cfg, datamodule, workdir / name)
    results["train_frames"] = datamodule.sizes()["train_steps"]
    results["datamodule"] = datamodule
    return results


class PlainLSTM(nn.Module):
    def __init__(self, hidden: int, dropout: float):
        super().__init__()
        self.rnn = nn.LSTM(88, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, 88)

    def forward(self, inputs, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=inputs.shape[1])
        return self.head(self.drop(out))


def collate_pieces(items: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(inputs, targets, lengths) for the plain loop: each frame predicts the next, a silent frame first."""
    lengths = torch.tensor([len(x) for x in items], dtype=torch.int64)
    targets = nn.utils.rnn.pad_sequence(items, batch_first=True)
    inputs = torch.cat([torch.zeros(len(items), 1, targets.shape[-1]), targets[:, :-1]], dim=1)
    return inputs, targets, lengths


def plain_nll(model, rolls, batch: int) -> float:
    model.eval()
    total, steps = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(rolls), batch):
            inputs, targets, lengths = collate_pieces([torch.from_numpy(r.astype(np.float32)) for r in rolls[i:i + batch]])
            mask = torch.arange(inputs.shape[1])[None] < lengths[:, None]
            logits = model(inputs, lengths)[mask]
            total += F.binary_cross_entropy_with_logits(logits, targets[mask], reduction="sum").item()
            steps += int(mask.sum())
    return total / steps


def plain_run(rolls: dict, cfg, seed: int) -> dict:
    """The suite's Bernoulli configuration as a bare loop: test NLL at the best validation epoch."""
    torch.manual_seed(seed)
    b, t, o = cfg.backbone, cfg.train, cfg.options
    model = PlainLSTM(b.hidden, o.head_dropout)
    opt = torch.optim.Adam(model.parameters(), lr=t.lr)
    train = [torch.from_numpy(r.astype(np.float32)) for r in rolls["train"]]
    best_val, best_test, frames = float("inf"), None, 0
    train_seconds = 0.0
    started = time.perf_counter()
    for _ in range(t.max_epochs):
        model.train()
        epoch_started = time.perf_counter()
        for idx in torch.randperm(len(train)).split(t.batch_size):
            inputs, targets, lengths = collate_pieces([train[i] for i in idx])
            mask = torch.arange(inputs.shape[1])[None] < lengths[:, None]
            loss = F.binary_cross_entropy_with_logits(model(inputs, lengths)[mask], targets[mask],
                                                      reduction="none").sum(-1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if t.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip)
            opt.step()
            frames += int(lengths.sum())
        train_seconds += time.perf_counter() - epoch_started
        val = plain_nll(model, rolls["valid"], t.batch_size)
        if val < best_val:
            best_val, best_test = val, plain_nll(model, rolls["test"], t.batch_size)
    return {"val": best_val, "test": best_test, "fit_seconds": time.perf_counter() - started,
            "frames_per_second": frames / train_seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default=os.environ.get("RNN_SUITE_DATA") or str(REPO.parent / "shared" / "data"))
    parser.add_argument("--data", default="music/jsb_chorales/jsb-chorales-quarter.json",
                        help="under the data root (the .mat polyphonic_pianoroll/JSB_Chorales.mat is the same data)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--nade-epochs", type=int, help="epochs of the default NADE run (default: the task's)")
    parser.add_argument("--bernoulli-epochs", type=int, help="epochs of the Bernoulli runs (default: the task's)")
    parser.add_argument("--skip-nade", action="store_true")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    data = Path(args.data_root) / args.data
    if not data.exists():
        parser.error(f"{data} not found; pass --data-root or set RNN_SUITE_DATA")
    quiet_libraries()
    if args.threads:
        torch.set_num_threads(args.threads)
    base = {"options.data": str(data), "train.seed": args.seed, "train.threads": args.threads}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        if not args.skip_nade:
            explicit = dict(base, **({"train.max_epochs": args.nade_epochs} if args.nade_epochs else {}))
            runs.append(("suite LSTM-NADE (default)", suite_run(explicit, Path(tmp), "nade")))
        explicit = dict(base, **BERNOULLI,
                        **({"train.max_epochs": args.bernoulli_epochs} if args.bernoulli_epochs else {}))
        runs.append(("suite LSTM-Bernoulli", suite_run(explicit, Path(tmp), "bernoulli")))
    for name, r in runs:
        frames_per_second = r["train_frames"] * r["epochs_completed"] / r["train_seconds"]
        rows.append((name, r["metrics"]["val"]["nll"], r["metrics"]["test"]["nll"], r["metrics"]["test"]["accuracy"],
                     r["fit_seconds"], frames_per_second, r["epochs_completed"]))
    bern = runs[-1][1]
    cfg = build_run_config(get_task("music"), explicit=dict(base, **BERNOULLI,
                           **({"train.max_epochs": args.bernoulli_epochs} if args.bernoulli_epochs else {})))
    plain = plain_run(bern["datamodule"].rolls, cfg, args.seed)
    rows.append(("plain PyTorch LSTM-Bernoulli", plain["val"], plain["test"], None, plain["fit_seconds"],
                 plain["frames_per_second"], cfg.train.max_epochs))
    baseline = bern["baseline"]
    rows.append((baseline["name"].replace("_", "-") + " (smoothed)", baseline["val"]["nll"], baseline["test"]["nll"],
                 baseline["test"]["accuracy"], None, None, None))
    for name, splits in baseline["others"].items():
        rows.append((name.replace("_", "-"), splits["val"]["nll"], splits["test"]["nll"], splits["test"]["accuracy"],
                     None, None, None))

    def fmt(v, spec):
        return format(v, spec) if v is not None else "-".rjust(int(spec.rstrip("dfs").split(".")[0]))

    print(f"\nJSB Chorales quarter ({data.name}), torch threads {torch.get_num_threads()}")
    print(f"{'model':<32}{'val NLL':>9}{'test NLL':>10}{'test acc':>10}{'fit s':>8}{'frames/s':>10}{'epochs':>8}")
    for name, val, test, acc, fit, fps, epochs in rows:
        print(f"{name:<32}{val:9.3f}{test:10.3f}{fmt(acc, '10.3f')}{fmt(fit, '8.0f')}{fmt(fps, '10.0f')}"
              f"{fmt(epochs, '8d')}")
    print("published test NLL: " + ", ".join(f"{k} {v}" for k, v in PUBLISHED.items()) + f"; target {TARGET}, goal {GOAL}")
    first = runs[0][1]
    print(f"test_nll={first['metrics']['test']['nll']:.3f} target={TARGET} goal={GOAL} "
          f"fit_seconds={first['fit_seconds']:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_user_error(main))

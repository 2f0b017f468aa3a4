"""ETTh1 long-horizon forecast with the forecast task's default configuration.

The standard benchmark setting: all 7 variables, lookback 96, horizon 96, chronological split
8640/2880/2880 rows, scaling fit on the training rows; MSE and MAE in the scaled space. The same as

    python main.py --task forecast --data forecast/ett/ETTh1.csv --lookback 96 --horizon 96 \\
        --split 8640,2880,2880

run in-process. The best epoch is chosen on validation MSE; the test split is only reported.
Prints test MSE/MAE beside the repeat-last and seasonal-naive baselines and the published
references (GRU 1.135, repeat-last 1.295, DLinear 0.386, SegRNN 0.368), fit seconds and training
samples/s. Target: test MSE <= 0.40 (stretch < 0.36), whole run under 15 minutes on 2 CPU cores.

The last line is one comparable figure: ``test_mse=0.385 target=0.40 fit_seconds=...``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from suite.config import build_run_config  # noqa: E402
from suite.errors import exit_on_user_error  # noqa: E402
from suite.registry import get_task  # noqa: E402
from suite.training import quiet_libraries, train_in_process  # noqa: E402

PUBLISHED = {"GRU": 1.135, "repeat-last": 1.295, "DLinear": 0.386, "SegRNN": 0.368}
TARGET = 0.40


def main() -> int:
    parser = argparse.ArgumentParser(description="ETTh1 96->96 with the forecast task's defaults "
                                                 "(target: test MSE <= 0.40).")
    parser.add_argument("--data-root", default=os.environ.get("RNN_SUITE_DATA") or str(REPO.parent / "shared" / "data"),
                        help="folder holding forecast/ett/ETTh1.csv (default: $RNN_SUITE_DATA or ../shared/data)")
    parser.add_argument("--seed", type=int, help="random seed (default: the suite's)")
    parser.add_argument("--max-epochs", type=int, help="maximum epochs (default: the task's)")
    parser.add_argument("--run-dir", help="keep the run here (default: a temporary folder, removed after)")
    args = parser.parse_args()
    data = Path(args.data_root) / "forecast" / "ett" / "ETTh1.csv"
    if not data.exists():
        parser.error(f"{data} not found; pass --data-root or set RNN_SUITE_DATA")
    quiet_libraries()

    explicit = {"options.data": str(data), "options.lookback": 96, "options.horizon": 96,
                "options.split": "8640,2880,2880", "options.plot": False}
    if args.seed is not None:
        explicit["train.seed"] = args.seed
    if args.max_epochs is not None:
        explicit["train.max_epochs"] = args.max_epochs
    task = get_task("forecast")
    cfg = build_run_config(task, explicit=explicit)
    b, t, o = cfg.backbone, cfg.train, cfg.options
    print(f"config: {o.model} {b.cell}{b.hidden} segment {o.segment} head_dropout {o.head_dropout} "
          f"window_norm {o.window_norm} loss {o.loss} | {t.optimizer} lr {t.lr} {t.schedule} batch "
          f"{t.batch_size} max_epochs {t.max_epochs} patience {t.patience} seed {t.seed}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        datamodule = task.datamodule(cfg)
        datamodule.setup("fit")
        results = train_in_process(task, cfg, datamodule, args.run_dir or Path(tmp) / "run")
        total = time.perf_counter() - started

    test, val = results["metrics"]["test"], results["metrics"]["val"]
    base = results["baseline"]
    rows = [("model (best val epoch)", test["mse"], test["mae"])]
    rows.append(("repeat-last", base["test"]["mse"], base["test"]["mae"]))
    for name, splits in base["others"].items():
        rows.append((name.replace("_", "-"), splits["test"]["mse"], splits["test"]["mae"]))
    print(f"\n{'ETTh1 96->96 test':<24}{'MSE':>8}{'MAE':>8}")
    for name, mse, mae in rows:
        print(f"{name:<24}{mse:8.4f}{mae:8.4f}")
    print("published test MSE: " + ", ".join(f"{k} {v}" for k, v in PUBLISHED.items()) + f"; target {TARGET}")
    print(f"validation MSE {val['mse']:.4f}; {results['epochs_completed']} epochs, fit {results['fit_seconds']:.1f} s, "
          f"{results['train_samples_per_second']:.0f} train samples/s, whole run {total:.1f} s, "
          f"{results['parameters']:,} parameters")
    print(f"test_mse={test['mse']:.3f} target={TARGET:.2f} fit_seconds={results['fit_seconds']:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_user_error(main))

"""Batch prediction against single calls: N IMDB reviews through one loaded sentiment model.

The same model, loaded once, answers the same ``--n`` reviews (10,000; a seeded sample of IMDB's test
split) twice in this process: once as a batch job, ``Predictor.predict_file`` (what ``--predict FILE
--batch --output OUT.jsonl`` does: the reviews read from a CSV file, sorted by length 1,024 at a time,
answered 64 at a time (``--predict-batch``) through the model's forward pass, JSON lines
written), and once as N single ``Predictor.predict`` calls (the module's own forward pass, one review
each). Printed: both rates (reviews per second), their ratio (target >= 10x), how many labels agree (target:
all), the largest difference of a probability between the two, and the load average around each measurement
(the machine may be shared: both run back to back on it).

Without ``--run``, a small run of the default sentiment model (BiGRU, 64 units) is trained first, one
epoch on ``--limit`` IMDB training reviews (2,000), with a small test slice so its test pass is short:
the benchmark measures prediction throughput, not accuracy, so the model only has to be the real
architecture, not a good one.

``--threads 1`` is the figure to compare on a busy machine: torch's default (one thread per core) lets OpenMP
threads wait on each other when other processes hold the cores (measured at load 7-9 on two cores: both paths
8-13x slower than on one thread, 65 against 854 batch reviews/s).

The last line is one comparable figure set, e.g. ``batch_per_s=R single_per_s=R ratio=X n=N agree=K ...``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from suite.errors import UserError, exit_on_user_error  # noqa: E402

IMDB_TEST_ROWS = 25_000


def imdb_folder(data_root: str | None) -> Path:
    root = Path(data_root or os.environ.get("RNN_SUITE_DATA") or REPO.parent / "shared" / "data")
    folder = root / "sentiment" / "imdb"
    if not (folder / "train.csv.gz").is_file() or not (folder / "test.csv.gz").is_file():
        raise UserError(f"{folder}: IMDB's train.csv.gz and test.csv.gz not found; give --data-root")
    return folder


def train_run(where: Path, imdb: Path, limit: int) -> Path:
    """The default sentiment model, one epoch on a slice of IMDB (train and a small test split)."""
    import pandas as pd

    data = where / "imdb-slice"
    data.mkdir()
    train = pd.read_csv(imdb / "train.csv.gz")
    train.groupby("label").sample(limit // 2, random_state=0)[["text", "label"]].to_csv(data / "train.csv", index=False)
    test = pd.read_csv(imdb / "test.csv.gz")
    test.groupby("label").sample(100, random_state=1)[["text", "label"]].to_csv(data / "test.csv", index=False)
    run = where / "run"
    done = subprocess.run([sys.executable, str(REPO / "main.py"), "--task", "sentiment", "--data", str(data),
                           "--max-epochs", "1", "--run-dir", str(run)], capture_output=True, text=True, timeout=1800)
    if done.returncode:
        raise UserError(f"training the benchmark's run failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", help="a trained sentiment run folder or checkpoint (default: train a small one)")
    parser.add_argument("--data-root", help="where sentiment/imdb is (default $RNN_SUITE_DATA or ../shared/data)")
    parser.add_argument("--n", type=int, default=10_000, help="reviews to predict, each way (default 10000)")
    parser.add_argument("--limit", type=int, default=2000, help="IMDB training reviews for the small run")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--predict-batch", type=int, help="reviews per forward pass of the batch (default: the task's)")
    args = parser.parse_args()
    if not 1 <= args.n <= IMDB_TEST_ROWS:
        raise UserError(f"--n: 1 to {IMDB_TEST_ROWS} (IMDB's test reviews), got {args.n}")
    if args.limit < 20:
        raise UserError("--limit: at least 20 training reviews")
    import pandas as pd
    import torch

    from suite import api

    if args.threads:
        torch.set_num_threads(args.threads)
    imdb = imdb_folder(args.data_root)
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        where = Path(tmp)
        if args.run:
            run = Path(args.run)
        else:
            started = time.perf_counter()
            run = train_run(where, imdb, args.limit)
            print(f"trained {run} in {time.perf_counter() - started:.0f} s ({args.limit} reviews, 1 epoch)",
                  file=sys.stderr)
        model = api.load(run)
        if model.task.name != "sentiment":
            raise UserError(f"{run}: a {model.task.name} run; this benchmark needs a sentiment run")
        reviews = pd.read_csv(imdb / "test.csv.gz").sample(args.n, random_state=0)["text"].tolist()
        source = where / "reviews.csv"
        pd.DataFrame({"id": range(args.n), "text": reviews}).to_csv(source, index=False)
        output = where / "labels.jsonl"

        model.predict_many(reviews[:64])  # warm-up, not timed: first calls allocate
        for text in reviews[:16]:
            model.predict(text)

        load = [os.getloadavg()[0]]
        started = time.perf_counter()
        summary = model.predict_file(source, output, id_column="id", progress=False, predict_batch=args.predict_batch)
        batch_s = time.perf_counter() - started
        load.append(os.getloadavg()[0])
        if summary["answered"] != args.n:
            raise UserError(f"the batch answered {summary['answered']} of {args.n} reviews")
        batch = [json.loads(line)["prediction"] for line in output.open(encoding="utf-8")]

        started = time.perf_counter()
        single = [model.predict(text) for text in reviews]
        single_s = time.perf_counter() - started
        load.append(os.getloadavg()[0])

    agree = sum(a["label"] == b["label"] for a, b in zip(batch, single))
    # both are rounded to 4 decimals as answered: 1e-4 is one rounding step
    gap = max(abs(a["probabilities"][c] - b["probabilities"][c]) for a, b in zip(batch, single) for c in a["probabilities"])
    batch_rate, single_rate = args.n / batch_s, args.n / single_s
    loads = "/".join(f"{x:.1f}" for x in load)
    print(f"batch (predict_file, CSV in, JSON lines out): {args.n:,} reviews in {batch_s:.1f} s, {batch_rate:,.0f}/s")
    print(f"single (Predictor.predict per review):         {args.n:,} reviews in {single_s:.1f} s, {single_rate:,.0f}/s")
    print(f"ratio {batch_rate / single_rate:.1f}x (target >= 10x); labels agree on {agree:,} of {args.n:,}; "
          f"probabilities within {gap:.4f}; load average {loads} (before, between, after; {os.cpu_count()} cores)")
    print(f"batch_per_s={batch_rate:.1f} single_per_s={single_rate:.1f} ratio={batch_rate / single_rate:.2f} "
          f"n={args.n} agree={agree} max_dp={gap:.4f} load={loads} threads={torch.get_num_threads()}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_user_error(main))

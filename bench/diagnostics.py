"""Training diagnostics (docs/INSIGHT.md): what they cost, and whether their verdicts are right.

* ``cost``: paired runs with and without ``--diagnostics`` at the default interval, on the seed's cosine
  (the seed preset, its 10 epochs) and on ETTh1 (the long-horizon defaults, 96 -> 96, 2 epochs), all pairs of one
  dataset in this one process, the order alternating within pairs. Prints the median of the pairs'
  throughput loss (training samples per second, validation excluded; the pass after the last step is
  outside it) and of their fit-time loss (everything), beside the diagnostics' own measure of their time
  (results.json ``diagnostics.seconds`` over ``train_seconds``), which other jobs on the machine disturb
  far less. Target: at most 3%.
* ``adding``: the adding problem at length 200 (the synthetic preset: Adam 1e-2, clipping at 1, batch 64),
  a tanh RNN of 130 units and an LSTM of 64 (the same parameter count, docs/tasks/forecast.md), trained the
  same way. Claims: the RNN's ``gradient_ratio`` at the last record is at least 100 times smaller than the
  LSTM's, and ``vanishing_gradients`` is a verdict of the RNN's run only.
* ``overfit``: AirPassengers (144 months split 60/20/20, 36 in, 12 out: 39 training windows, 18 validation
  windows) with the forecast defaults' model (GRU 256 over segments of 24: 407,576 parameters), 100 epochs,
  no early stopping. Claim: ``overfitting`` appears and names the best checkpoint's epoch.

Each part prints PASS or FAIL per claim; the exit code is 1 if any failed. The last line sums it up:
``cost_cosine=0.9% cost_etth1=0.3% ratio_rnn=1.2e-12 ratio_lstm=0.05 overfit_best=12/12``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from suite.config import build_run_config  # noqa: E402
from suite.errors import UserError, exit_on_user_error  # noqa: E402
from suite.registry import get_task  # noqa: E402
from suite.training import quiet_libraries, train_in_process  # noqa: E402

COST_TARGET = 0.03


#: torch threads of every run (--threads): one by default, as the measurements in docs/ were taken on a
#: 2-core machine shared with other jobs, where a second thread mostly waits for a core
THREADS = [1]


def run(settings: dict[str, Any], folder: Path, name: str) -> dict[str, Any]:
    task = get_task("forecast")
    cfg = build_run_config(task, explicit={"options.plot": False, "train.threads": THREADS[0], **settings})
    datamodule = task.datamodule(cfg)
    datamodule.setup("fit")
    return train_in_process(task, cfg, datamodule, folder / name)


def codes(results: dict[str, Any]) -> list[str]:
    return [v["code"] for v in results.get("diagnostics", {}).get("verdicts", [])]


def verdict_lines(results: dict[str, Any]) -> str:
    return "\n".join(f"    {v['code']} (epoch {v['epoch']}): {v['message']}"
                     for v in results.get("diagnostics", {}).get("verdicts", [])) or "    (no verdicts)"


def cost(name: str, settings: dict[str, Any], pairs: int, folder: Path) -> float:
    throughput, fit, own, cpu = [], [], [], []
    for pair in range(pairs):
        order = (True, False) if pair % 2 else (False, True)
        got, used = {}, {}
        for on in order:
            started = time.process_time()  # this process's CPU seconds: what other jobs' load disturbs least
            got[on] = run({**settings, "train.diagnostics": on}, folder, f"{name}-{pair}-{'on' if on else 'off'}")
            used[on] = time.process_time() - started
        on, off = got[True], got[False]
        cpu.append(used[True] - used[False])
        throughput.append(1 - on["train_samples_per_second"] / off["train_samples_per_second"])
        fit.append(on["fit_seconds"] / off["fit_seconds"] - 1)
        # the training the diagnostics accompanied: the timed epochs plus the pass after them, less their own time
        spent = on["diagnostics"]["seconds"]
        own.append(spent / (on["train_seconds"] + on["diagnostics"]["final_pass_seconds"] - spent))
        print(f"  {name} pair {pair + 1}: off {off['train_samples_per_second']:.0f} samples/s, fit {off['fit_seconds']:.1f} s"
              f" | on {on['train_samples_per_second']:.0f} samples/s, fit {on['fit_seconds']:.1f} s, "
              f"{on['diagnostics']['records']} records, {on['diagnostics']['seconds']:.2f} s in diagnostics "
              f"({on['global_steps']} steps); CPU seconds of the whole run {used[False]:.1f} off, {used[True]:.1f} on",
              flush=True)
    share = statistics.median(own)
    print(f"{name}: median throughput loss {statistics.median(throughput):+.1%}, fit time {statistics.median(fit):+.1%} "
          f"(paired runs: wall time, noisy under load); CPU seconds on minus off {statistics.median(cpu):+.2f} s "
          f"(median); the diagnostics' own time {share:.2%} of training "
          f"-> {'PASS' if share <= COST_TARGET else 'FAIL'} (target <= {COST_TARGET:.0%})", flush=True)
    return share


def adding(examples: int, epochs: int, folder: Path) -> tuple[float | None, float | None, bool]:
    common = {"options.data": "synthetic:adding", "options.examples": examples, "train.max_epochs": epochs}
    out = {}
    for cell, hidden in (("rnn", 130), ("lstm", 64)):
        started = time.perf_counter()
        results = run({**common, "backbone.cell": cell, "backbone.hidden": hidden}, folder, f"adding-{cell}")
        layer = results["diagnostics"]["layers"].get("net.backbone.l0", {})
        out[cell] = (layer.get("gradient_ratio"), codes(results))
        print(f"adding, {cell}({hidden}): test MSE {results['metrics']['test']['mse']:.4f} (baseline "
              f"{results['baseline']['test']['mse']:.4f}), gradient_ratio {layer.get('gradient_ratio')}, gates "
              f"{layer.get('gates')}, {time.perf_counter() - started:.0f} s\n{verdict_lines(results)}", flush=True)
    (rnn, rnn_codes), (lstm, lstm_codes) = out["rnn"], out["lstm"]
    ratio_ok = rnn is not None and lstm is not None and rnn * 100 <= lstm
    verdict_ok = "vanishing_gradients" in rnn_codes and "vanishing_gradients" not in lstm_codes
    print(f"adding: RNN ratio {rnn} vs LSTM {lstm}: {'PASS' if ratio_ok else 'FAIL'} (at least 100x smaller); "
          f"vanishing_gradients for the RNN only: {'PASS' if verdict_ok else 'FAIL'}", flush=True)
    return rnn, lstm, ratio_ok and verdict_ok


def best_checkpoint_epoch(run_dir: Path) -> int | None:
    best = None
    for line in (run_dir / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == "checkpoint" and event.get("kind") == "best":
            best = event["epoch"]
    return best


def overfit(data_root: Path, epochs: int, folder: Path) -> tuple[int | None, int | None, bool]:
    data = data_root / "forecast" / "air_passengers" / "AirPassengers.csv"
    if not data.exists():
        raise UserError(f"{data} not found; pass --data-root or set RNN_SUITE_DATA")
    # the forecast defaults' model (GRU 256, segments of 24): 407,576 parameters for 39 training windows; a
    # fifth of the months validates (18 windows: with the default tenth, 3 windows make a score of noise)
    settings = {"options.data": str(data), "options.lookback": 36, "options.horizon": 12, "options.split": "0.6,0.2,0.2",
                "train.max_epochs": epochs, "train.patience": 0, "train.schedule": "none", "train.batch_size": 16}
    started = time.perf_counter()
    results = run(settings, folder, "air")
    named = next((v.get("best_epoch") for v in results["diagnostics"]["verdicts"] if v["code"] == "overfitting"), None)
    kept = best_checkpoint_epoch(folder / "air")
    ok = named is not None and named == kept
    print(f"AirPassengers, 36 -> 12, the default GRU(256) segment model, {epochs} epochs: test MSE {results['metrics']['test']['mse']:.4f} "
          f"(repeat-last {results['baseline']['test']['mse']:.4f}), {time.perf_counter() - started:.0f} s\n"
          f"{verdict_lines(results)}\noverfitting names epoch {named}, the best checkpoint is epoch {kept}: "
          f"{'PASS' if ok else 'FAIL'}", flush=True)
    return named, kept, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("cost", "adding", "overfit", "all"), default="all")
    parser.add_argument("--data-root", default=os.environ.get("RNN_SUITE_DATA") or str(REPO.parent / "shared" / "data"),
                        help="folder holding forecast/ett and forecast/air_passengers (default: $RNN_SUITE_DATA or "
                             "../shared/data)")
    parser.add_argument("--pairs", type=int, default=3, help="paired runs per dataset for the cost (default 3)")
    parser.add_argument("--cosine-epochs", type=int, default=10,
                        help="epochs of each cosine cost run (default 10, the seed preset's; fewer make the pass after "
                             "the last step weigh more)")
    parser.add_argument("--etth1-epochs", type=int, default=2,
                        help="epochs of each ETTh1 cost run (default 2 of the defaults' 10: a run takes minutes here)")
    parser.add_argument("--adding-examples", type=int, default=8000,
                        help="adding-problem sequences, 80%% for training (default 8000)")
    parser.add_argument("--adding-epochs", type=int, default=8, help="epochs of each adding run (default 8)")
    parser.add_argument("--overfit-epochs", type=int, default=100, help="epochs of the AirPassengers run (default 100)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run (default 1; 0: torch's default)")
    args = parser.parse_args()
    THREADS[0] = args.threads
    if args.pairs < 1:
        raise UserError(f"--pairs: expected at least 1, got {args.pairs}")
    quiet_libraries()
    root = Path(args.data_root)
    summary, ok = [], True
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.part in ("cost", "all"):
            ett = root / "forecast" / "ett" / "ETTh1.csv"
            if not ett.exists():
                raise UserError(f"{ett} not found; pass --data-root or set RNN_SUITE_DATA")
            cosine = cost("cosine", {"train.max_epochs": args.cosine_epochs}, args.pairs, folder)
            etth1 = cost("etth1", {"options.data": str(ett), "options.lookback": 96, "options.horizon": 96,
                                   "options.split": "8640,2880,2880", "train.max_epochs": args.etth1_epochs},
                         args.pairs, folder)
            ok &= cosine <= COST_TARGET and etth1 <= COST_TARGET
            summary += [f"cost_cosine={cosine:.1%}", f"cost_etth1={etth1:.1%}"]
        if args.part in ("adding", "all"):
            rnn, lstm, passed = adding(args.adding_examples, args.adding_epochs, folder)
            ok &= passed
            summary += [f"ratio_rnn={rnn:.2g}" if rnn is not None else "ratio_rnn=none",
                        f"ratio_lstm={lstm:.2g}" if lstm is not None else "ratio_lstm=none"]
        if args.part in ("overfit", "all"):
            named, kept, passed = overfit(root, args.overfit_epochs, folder)
            ok &= passed
            summary.append(f"overfit_best={named}/{kept}")
    print(" ".join(summary))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(exit_on_user_error(main))

"""Sweeps (``--sweep``, ``--seeds``, ``--search``, ``--equal-params``, ``--parallel``): what the machinery
costs, what running trials side by side buys, a fair cell comparison and a pruned search.

Four parts, ``--part 1,2,3,4`` (default: all), each printing one comparable figure beside its target,
measured in the same run as its reference:

1. **Overhead.** The seed tutorial's first loop, ``--task forecast --preset seed --sweep
   max-epochs=5,10,20`` (``--scale`` multiplies the epochs, for a quick run), against the same runs
   started one by one: each trial's own command line (read from the sweep's ``logs/NNNN.log``) as
   ``python main.py ... --run-dir DIR``, less ``--events stdout``. Prints the seconds per trial of both
   (the whole sweep command's wall time over its trials, against the standalone runs' mean wall time),
   the ratio (target <= 1.03), and whether each trial's validation MSE equals its standalone run's
   (same settings and seed: it should, to the last bit). It also prints where the sweep command's time
   went (before its first trial: Python, Optuna and the study; between trials; after the last: the
   table, the files and the plots) and the CPU seconds of both sides (no steadier than the wall time on a
   busy machine: torch's two threads spin while they wait for each other, so a descheduled thread costs
   its partner CPU too). ``--repeats N`` alternates the two sides and takes medians.
2. **Parallel.** Four seed-cosine trials (``--seeds 4``) with ``--parallel 2`` against ``--parallel 1``:
   both wall times and the ratio (target <= 0.65 on 2 cores), and whether the metrics per seed match.
   The sweep shares the cores out (2 threads per trial at ``--parallel 1``, 1 at ``--parallel 2``), so
   the two differ in torch's thread count; a difference in the metrics would come from that (a
   reduction summed in another order), not from the seeds. ``--parallel-threads 1`` gives both sweeps
   one thread per trial, which makes the metrics comparable bit for bit.
3. **Adding problem.** ``--data synthetic:adding --sequence-length 200 --sweep cell=rnn,lstm,gru
   --equal-params --seeds 3``: the sweep's table, each cell's test MSE over the train-mean baseline's, and a
   verdict: LSTM and GRU solve it (mean + one std below 0.1x the baseline) while the RNN does not
   (mean - one std above 0.1x, and above the others' spread). ``--adding-epochs``/``--adding-examples``
   shorten it; at the defaults it is 9 trials of 20 epochs over 8,000 training sequences (9 minutes
   with ``--adding-parallel 2`` on this project's 2 cores).
4. **ETTh1 search.** Lookback 96, horizon 96, the split 8640/2880/2880 (as bench/ett.py): the default
   configuration once, then ``--search 16`` over ``lr``, ``hidden``, ``head-dropout`` and ``segment``
   twice with the same sampler seed, pruning on (``--pruner median``, the default) and off (``--pruner
   none``). Prints the best
   validation MSE against the default's (target: at least as good), the best trial's test MSE, and the
   share of epochs pruning saved (target >= 0.30). ``dropout`` is PyTorch's between stacked layers and
   does nothing in the default's single layer, so the search varies the head's dropout, the one this
   model has. It is 33 ETTh1 fits: ``--trials`` and ``--max-epochs`` shorten it, and it prints an
   estimate of the full part's wall time from the fits it ran.

   The two searches run in this process through :func:`suite.sweeps.run_sweep`, the same specification
   but for its pruner (``SweepSpec.pruner``, what ``--pruner`` sets). They sample the same first 10 trials
   (TPE's random start-up, seeded by the seed and each trial's number); after those, TPE models the trials
   so far, which in one search include pruned ones, so the two may sample differently. A pruned trial's
   epochs are those it trained whole (the one its stop cut short, after a batch or so, is not counted).

Every sweep runs in a fresh folder under ``--work`` (default: a temporary folder, removed after), trials
as the engine starts them (a fresh interpreter each). Timing figures need a quiet machine: each part
prints the load average before and after, and says when it was above 1.5.

The last line of each part is its figure, e.g. ``part1 overhead=1.012 target=1.03 ...``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from suite.errors import UserError, exit_on_user_error  # noqa: E402

try:
    import resource  # POSIX: the CPU seconds of finished child processes
except ImportError:
    resource = None

MAIN = REPO / "main.py"
BUSY = 1.5  # above this 1-minute load average on 2 cores, timings are noise
SEED = ["--task", "forecast", "--preset", "seed", "--no-plot"]
ETT = ["--data", "forecast/ett/ETTh1.csv", "--lookback", "96", "--horizon", "96", "--split", "8640,2880,2880",
       "--no-plot"]
#: part 4's search space: the settings of the default ETTh1 model worth tuning
SPACE = ["lr=0.0003:0.01:log", "hidden=64:512:log", "head-dropout=0.0:0.5", "segment=8,12,16,24,32,48"]


# --- running -----------------------------------------------------------------------------------------------
class Bench:
    def __init__(self, work: Path, data_root: str):
        self.work, self.data_root = work, data_root
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "RNN_SUITE_RUNS": str(work / "runs"),
                    "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
        self.env.pop("RNN_SUITE_TRIAL_LAUNCHER", None)  # the default launcher, as a user gets it
        self._n = 0
        self.cpu = 0.0

    def folder(self, name: str) -> Path:
        self._n += 1
        return self.work / f"{self._n:02d}-{name}"

    def cli(self, args: list[str], name: str, echo: bool = False) -> tuple[float, str]:
        """``python main.py ARGS`` in the work folder: (wall seconds, its output). Trial lines are echoed
        as they come when ``echo``; a failure raises with the output's end. The CPU seconds of the
        command and every process it waited for (its trials) are left in ``self.cpu``."""
        log = self.work / f"{name}.log"
        command = [sys.executable, str(MAIN), *args]
        before = children_cpu()
        started = time.perf_counter()
        lines = []
        with open(log, "w", encoding="utf-8") as handle:
            handle.write("$ " + shlex.join(command) + "\n")
            proc = subprocess.Popen(command, cwd=self.work, env=self.env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            for line in proc.stdout:
                handle.write(line)
                lines.append(line)
                if echo and line.startswith("trial "):
                    print("    " + line.rstrip(), flush=True)
            code = proc.wait()
        wall = time.perf_counter() - started
        self.cpu = children_cpu() - before
        output = "".join(lines)
        if code != 0:
            raise UserError(f"{shlex.join(['python', 'main.py', *args])} failed (exit {code}); see {log}:\n"
                            + "\n".join(output.splitlines()[-15:]))
        return wall, output


def children_cpu() -> float:
    if resource is None:
        return math.nan
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    busy = f" (above {BUSY}: the timings are noisy)" if one > BUSY else ""
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}{busy}"


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def results_of(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "results.json").read_text(encoding="utf-8"))


def trials(folder: Path) -> list[dict[str, Any]]:
    """The sweep's trials.csv rows, each with its run's results.json (full-precision metrics)."""
    found = []
    for row in rows(folder / "trials.csv"):
        run = folder / row["run_dir"]
        row = dict(row, results=results_of(run) if (run / "results.json").exists() else None, path=run)
        found.append(row)
    return found


def val_mse(trial: dict[str, Any]) -> float | None:
    results = trial.get("results")
    return results["metrics"]["val"]["mse"] if results else None


def trial_command(folder: Path, number: int) -> list[str]:
    """A trial's arguments as the sweep ran them (``python -m suite ARGS``), from its log's first line."""
    first = (folder / "logs" / f"{number:04d}.log").read_text(encoding="utf-8").splitlines()[0]
    argv = shlex.split(first[2:])
    at = argv.index("suite")  # [python, -m, suite, ...]
    return argv[at + 1:]


def standalone(argv: list[str], run_dir: Path) -> list[str]:
    """A trial's arguments for a run started by hand: without the event stream, into ``run_dir``."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] in ("--events", "--run-dir"):
            i += 2
            continue
        out.append(argv[i])
        i += 1
    return [*out, "--run-dir", str(run_dir)]


def stamp(text: str) -> float:
    """trials.csv's local time (2026-12-01T13:48:11.123) as seconds since the epoch."""
    return datetime.fromisoformat(text).timestamp()


def where_the_time_went(done: list[dict[str, Any]], began: float, ended: float) -> str:
    """The sweep command's wall time split: before its first trial, the trials' processes, between them,
    after the last (its table, CSV files and plots)."""
    spans = sorted((stamp(t["started"]), stamp(t["finished"])) for t in done)
    inside = sum(b - a for a, b in spans)
    between = sum(later[0] - earlier[1] for earlier, later in zip(spans, spans[1:]))
    return (f"{spans[0][0] - began:.1f} s before the first trial, {inside:.1f} s in trials, {between:.1f} s "
            f"between them, {ended - spans[-1][1]:.1f} s after the last")


def same(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "missing"
    if a == b:
        return "identical"
    return f"differ by {abs(a - b) / max(abs(a), abs(b), 1e-300):.1e} (relative)"


def scaled(values: list[int], scale: float) -> list[int]:
    out = []
    for v in values:
        n = max(1, round(v * scale))
        while n in out:  # the grid refuses a value given twice
            n += 1
        out.append(n)
    return out


def fmt_s(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:.0f} min" if seconds >= 120 \
        else f"{seconds:.0f} s"


# --- 1. overhead ---------------------------------------------------------------------------------------------
def part1(bench: Bench, args) -> str:
    epochs = scaled([5, 10, 20], args.scale)
    print(f"part 1: --preset seed --sweep max-epochs={','.join(map(str, epochs))} against the same runs one by one, "
          f"{args.repeats} repeat(s); {load_line()}", flush=True)
    sweep_walls, single_walls, checks = [], [], []
    sweep_cpu, single_cpu = [], []
    sweep_fit, single_fit = [], []  # the trials' own fit seconds (results.json), per side and repeat
    commands: list[list[str]] = []
    swept: dict[int, dict[str, Any]] = {}
    for repeat in range(args.repeats):  # the first repeat runs the sweep first: its trials' command lines
        for what in (("sweep", "single") if repeat % 2 == 0 else ("single", "sweep")):
            if what == "sweep":
                folder = bench.folder("overhead-sweep")
                began = time.time()
                wall, _ = bench.cli([*SEED, "--sweep", f"max-epochs={','.join(map(str, epochs))}",
                                     "--sweep-dir", str(folder)], folder.name, echo=True)
                ended = time.time()
                done = trials(folder)
                assert len(done) == len(epochs) and {t["status"] for t in done} == {"COMPLETE"}, done
                sweep_walls.append(wall)
                sweep_cpu.append(bench.cpu)
                sweep_fit.append(sum(t["results"]["fit_seconds"] for t in done))
                print(f"  sweep: {wall:.1f} s for {len(done)} trials ({where_the_time_went(done, began, ended)})",
                      flush=True)
                if not commands:
                    commands = [trial_command(folder, int(t["number"])) for t in done]
                    swept = {int(t["number"]): t for t in done}
                else:
                    checks += [(int(t["number"]), t["path"]) for t in done]
            else:
                walls, cpu = [], 0.0
                for number, argv in enumerate(commands):
                    run_dir = bench.folder(f"overhead-single-{number}")
                    wall, _ = bench.cli(standalone(argv, run_dir), run_dir.name)
                    walls.append(wall)
                    cpu += bench.cpu
                    checks.append((number, run_dir))
                single_walls.append(walls)
                single_cpu.append(cpu)
                single_fit.append(sum(results_of(d)["fit_seconds"] for _, d in checks[-len(commands):]))
                print(f"  one by one: {' + '.join(f'{w:.1f}' for w in walls)} = {sum(walls):.1f} s", flush=True)
    n = len(epochs)
    sweep_per = statistics.median(sweep_walls) / n
    single_per = statistics.median(sum(w) for w in single_walls) / n
    mismatches = []
    for number, run_dir in checks:  # every standalone run (and any later sweep) against the first sweep
        a, b = val_mse(swept[number]), results_of(run_dir)["metrics"]["val"]["mse"]
        verdict = same(a, b)
        if verdict != "identical":
            mismatches.append(f"trial {number}: {verdict}")
    for number, t in sorted(swept.items()):
        print(f"  trial {number} max-epochs={t['max-epochs']}: val mse sweep {val_mse(t):.6e}, fit {float(t['fit_seconds']):.1f} s")
    ratio = sweep_per / single_per
    cpu_sweep, cpu_single = statistics.median(sweep_cpu) / n, statistics.median(single_cpu) / n
    metrics = "identical" if not mismatches else "DIFFERENT"
    print(f"  CPU per trial (the processes' user + system seconds): sweep "
          f"{cpu_sweep:.2f} s, one by one {cpu_single:.2f} s; ratio {cpu_sweep / cpu_single:.3f}")
    # the wall time less the fit time: what the sweep adds, without the fits' own run-to-run noise
    rest_sweep = statistics.median(w - f for w, f in zip(sweep_walls, sweep_fit)) / n
    rest_single = statistics.median(sum(w) - f for w, f in zip(single_walls, single_fit)) / n
    print(f"  per trial, fitting: sweep {statistics.median(sweep_fit) / n:.2f} s, one by one "
          f"{statistics.median(single_fit) / n:.2f} s; the rest (start-up, test, files; the sweep's own work): "
          f"sweep {rest_sweep:.2f} s, one by one {rest_single:.2f} s, {rest_sweep - rest_single:+.2f} s a trial "
          f"({(rest_sweep - rest_single) / single_per:+.1%} of a standalone run)")
    print(f"  per trial: sweep {sweep_per:.2f} s, one by one {single_per:.2f} s; ratio {ratio:.3f} (target <= 1.03)")
    print(f"  validation MSE per trial, sweep vs one by one: {metrics}"
          + ("" if not mismatches else f" ({'; '.join(mismatches)})"))
    print(f"  {load_line()}")
    return (f"part1 overhead={ratio:.3f} target=1.03 sweep_s_per_trial={sweep_per:.2f} "
            f"single_s_per_trial={single_per:.2f} added_s_per_trial={rest_sweep - rest_single:.2f} "
            f"metrics={metrics}")


# --- 2. parallel ---------------------------------------------------------------------------------------------
def part2(bench: Bench, args) -> str:
    epochs = max(1, round(10 * args.scale))
    threads = ["--threads", str(args.parallel_threads)] if args.parallel_threads else []
    print(f"part 2: --preset seed --seeds 4 --max-epochs {epochs}{' ' + ' '.join(threads) if threads else ''}, "
          f"--parallel 1 against --parallel 2, {args.repeats} repeat(s); {load_line()}", flush=True)
    walls: dict[int, list[float]] = {1: [], 2: []}
    metrics: dict[int, dict[int, float]] = {}
    for repeat in range(args.repeats):
        for parallel in ((1, 2) if repeat % 2 == 0 else (2, 1)):
            folder = bench.folder(f"parallel-{parallel}")
            wall, _ = bench.cli([*SEED, "--max-epochs", str(epochs), *threads, "--seeds", "4", "--parallel",
                                 str(parallel), "--sweep-dir", str(folder)], folder.name, echo=True)
            done = trials(folder)
            assert len(done) == 4 and {t["status"] for t in done} == {"COMPLETE"}, done
            walls[parallel].append(wall)
            metrics.setdefault(parallel, {int(t["seed"]): val_mse(t) for t in done})
            spans = [(t["started"], t["finished"]) for t in done]
            print(f"  --parallel {parallel}: {wall:.1f} s (threads per trial "
                  f"{results_of(done[0]['path'])['config']['train']['threads']}; trial spans {spans[0][0][11:19]}.. "
                  f"{max(s[1] for s in spans)[11:19]})", flush=True)
    one, two = statistics.median(walls[1]), statistics.median(walls[2])
    ratio = two / one
    verdicts = {seed: same(metrics[1][seed], metrics[2][seed]) for seed in sorted(metrics[1])}
    agree = "identical" if all(v == "identical" for v in verdicts.values()) else "DIFFERENT"
    for seed, verdict in verdicts.items():
        print(f"  seed {seed}: val mse --parallel 1 {metrics[1][seed]:.6e}, --parallel 2 {metrics[2][seed]:.6e}: {verdict}")
    if agree != "identical" and not threads:
        print("  (the trials ran with 2 torch threads at --parallel 1 and 1 at --parallel 2: sums reduced in another "
              "order; --parallel-threads 1 compares them at one thread each)")
    print(f"  wall: --parallel 1 {one:.1f} s, --parallel 2 {two:.1f} s; ratio {ratio:.3f} (target <= 0.65)")
    print(f"  {load_line()}")
    return f"part2 parallel_ratio={ratio:.3f} target=0.65 wall_parallel1={one:.1f} wall_parallel2={two:.1f} metrics={agree}"


# --- 3. the adding problem -----------------------------------------------------------------------------------
def part3(bench: Bench, args) -> str:
    data = ["--task", "forecast", "--data", "synthetic:adding", "--sequence-length", str(args.adding_length)]
    check = subprocess.run([sys.executable, str(MAIN), *data, "--print-config"], cwd=bench.work, env=bench.env,
                           capture_output=True, text=True)
    if check.returncode != 0:
        last = (check.stderr.strip().splitlines() or ["?"])[-1]
        print(f"part 3: skipped: --data synthetic:adding is not there yet ({last})")
        return "part3 skipped: the forecast task has no synthetic:adding yet"
    extra = []
    if args.adding_epochs:
        extra += ["--max-epochs", str(args.adding_epochs)]
    if args.adding_examples:
        extra += ["--examples", str(args.adding_examples)]
    folder = bench.folder("adding")
    sweep = [*data, *extra, "--no-plot", "--sweep", "cell=rnn,lstm,gru", "--equal-params", "--seeds",
             str(args.adding_seeds), "--parallel", str(args.adding_parallel), "--sweep-dir", str(folder)]
    print(f"part 3: python main.py {shlex.join(sweep[:-2])}; {load_line()}", flush=True)
    wall, output = bench.cli(sweep, folder.name, echo=True)
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("rank")), len(lines))
    print("\n".join("  " + line for line in lines if line.startswith("  equal parameters")))
    print("\n".join("  " + line for line in lines[start:] if not line.startswith("wrote ")))
    done = trials(folder)
    baselines = [t["results"]["baseline"]["test"]["mse"] for t in done if t["results"]]
    baseline = statistics.fmean(baselines)
    by_cell: dict[str, list[float]] = {}
    for t in done:
        if t["status"] == "COMPLETE":
            by_cell.setdefault(t["cell"], []).append(t["results"]["metrics"]["test"]["mse"] / baseline)
    stats = {}
    for cell in ("rnn", "lstm", "gru"):
        values = by_cell.get(cell, [])
        mean = statistics.fmean(values) if values else math.nan
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        stats[cell] = (mean, std, len(values))
        print(f"  {cell:<4} test mse / baseline: {mean:.4f} ± {std:.4f} over {len(values)} seed(s) "
              f"({', '.join(f'{v:.4f}' for v in values)})")
    print(f"  baseline (train mean) test mse {baseline:.4f}; the sweep took {fmt_s(wall)}")
    solved = {c: stats[c][2] > 0 and stats[c][0] + stats[c][1] < 0.1 for c in stats}
    gated = max(stats[c][0] + stats[c][1] for c in ("lstm", "gru"))
    rnn_mean, rnn_std, _ = stats["rnn"]
    rnn_fails = rnn_mean - rnn_std > 0.1 and rnn_mean - rnn_std > gated
    if solved["lstm"] and solved["gru"] and rnn_fails:
        verdict = "PASS"
        said = "LSTM and GRU solve it and the RNN does not, beyond the seed spread"
    else:
        verdict = "FAIL"
        parts = [f"{c.upper()} {'solves' if solved[c] else 'does not solve'} it" for c in ("lstm", "gru")]
        parts.append("the RNN " + ("stays above, beyond the spread" if rnn_fails else
                                   "is not clearly worse than the gated cells"))
        said = "; ".join(parts)
    print(f"  verdict: {verdict}: {said} (solved: mean + std below 0.1x the baseline)")
    print(f"  {load_line()}")
    return (f"part3 adding_T{args.adding_length} rnn={rnn_mean:.4f} lstm={stats['lstm'][0]:.4f} "
            f"gru={stats['gru'][0]:.4f} (test mse / baseline) target: lstm,gru<0.1<rnn verdict={verdict}")


# --- 4. the ETTh1 search -------------------------------------------------------------------------------------
def search(bench: Bench, args, settings: dict[str, Any], prune: bool):
    from suite.registry import get_task
    from suite.sweeps import parse_spec, run_sweep

    spec = parse_spec(get_task("forecast"), search=args.trials, space=SPACE, parallel=args.search_parallel,
                      sweep_dir=str(bench.folder("search-" + ("pruned" if prune else "unpruned"))),
                      pruner="median" if prune else "none")
    buffer = io.StringIO()

    class Tee(io.TextIOBase):
        def write(self, text: str) -> int:
            buffer.write(text)
            for line in text.splitlines():
                if line.startswith("trial ") or line.startswith("  pruner"):
                    print("    " + line, flush=True)
            return len(text)

    started = time.perf_counter()
    result = run_sweep("forecast", settings, spec, data_root=bench.data_root, out=Tee())
    return result, time.perf_counter() - started, buffer.getvalue()


def part4(bench: Bench, args) -> str:
    data = Path(bench.data_root) / "forecast" / "ett" / "ETTh1.csv"
    if not data.exists():
        raise UserError(f"{data} not found; pass --data-root or set RNN_SUITE_DATA")
    epochs = ["--max-epochs", str(args.max_epochs)] if args.max_epochs else []
    print(f"part 4: ETTh1 96->96, the default, then --search {args.trials} --space {' --space '.join(SPACE)} "
          f"with pruning and without{' (' + ' '.join(epochs) + ')' if epochs else ''}; {load_line()}", flush=True)
    run_dir = bench.folder("ett-default")
    wall, _ = bench.cli(["--task", "forecast", *ETT, *epochs, "--data-root", bench.data_root, "--run-dir",
                         str(run_dir)], run_dir.name)
    default = results_of(run_dir)
    d_val, d_test = default["metrics"]["val"]["mse"], default["metrics"]["test"]["mse"]
    d_epochs = default["epochs_completed"]
    max_epochs = default["config"]["train"]["max_epochs"]
    print(f"  default: val mse {d_val:.4f}, test mse {d_test:.4f}, {d_epochs} epochs, {wall:.0f} s "
          f"({default['config']['backbone']['cell']}{default['config']['backbone']['hidden']})", flush=True)
    startup, per_epoch = wall - default["fit_seconds"], default["fit_seconds"] / max(1, d_epochs)
    full = 33 * startup + per_epoch * 10 * 33
    print(f"  estimate of the full part from this fit ({startup:.0f} s to start, {per_epoch:.0f} s per epoch): "
          f"at most ~{fmt_s(full)} (33 fits of 10 epochs, none pruned)", flush=True)

    settings: dict[str, Any] = {"data": "forecast/ett/ETTh1.csv", "lookback": 96, "horizon": 96,
                                "split": "8640,2880,2880", "plot": False}
    if args.max_epochs:
        settings["max_epochs"] = args.max_epochs
    outcome = {}
    for prune in (True, False):
        print(f"  search, pruning {'on' if prune else 'off'}:", flush=True)
        result, seconds, _ = search(bench, args, settings, prune)
        epochs_run = sum(t.epochs or 0 for t in result.trials)
        pruned = sum(t.status == "PRUNED" for t in result.trials)
        outcome[prune] = (result, seconds, epochs_run, pruned)
        best = result.best
        print(f"    {len(result.trials)} trials, {pruned} pruned, {epochs_run} epochs in all, {fmt_s(seconds)}; "
              f"best {best.label() if best else '-'}: val mse {best.val_mean:.4f}, test mse "
              f"{best.test_mean:.4f}" if best else "    no trial completed", flush=True)
    result, seconds, epochs_on, pruned = outcome[True]
    result_off, seconds_off, epochs_off, _ = outcome[False]
    best = result.best
    saved = 1 - epochs_on / epochs_off if epochs_off else math.nan
    better = best is not None and best.val_mean <= d_val
    ran = wall + seconds + seconds_off
    fits = 1 + 2 * args.trials
    epochs_ran = d_epochs + epochs_on + epochs_off
    # seconds to start a fit (its wall time less its fit time) and per epoch, over every fit this part ran
    runs = [t for r in (outcome[True][0], result_off) for t in r.trials if t.fit_seconds and t.started and t.finished]
    starts = [wall - default["fit_seconds"]] + [t.finished - t.started - t.fit_seconds for t in runs]
    startup = statistics.fmean(starts)
    per_epoch = (default["fit_seconds"] + sum(t.fit_seconds for t in runs)) / max(1, d_epochs + sum(
        t.epochs or 0 for t in runs))
    # the full part: the default's 10 epochs, 16 unpruned trials of up to 10, and 16 pruned ones saving as here
    share = epochs_on / epochs_off if epochs_off else 1.0
    full = 33 * startup + per_epoch * 10 * (1 + 16 + 16 * share)
    print(f"  best val mse {best.val_mean:.4f} against the default's {d_val:.4f}: "
          f"{'at least as good' if better else 'WORSE'} (target: at least as good); its test mse {best.test_mean:.4f} "
          f"(the default's {d_test:.4f})" if best else "  no trial completed")
    print(f"  pruning: {epochs_on} epochs against {epochs_off} without ({pruned} pruned), saved {saved:.0%} "
          f"(target >= 30%); wall {fmt_s(seconds)} against {fmt_s(seconds_off)}")
    print(f"  this part: {fits} fits, {epochs_ran} epochs in {fmt_s(ran)} ({startup:.0f} s to start a fit, "
          f"{per_epoch:.1f} s per epoch); the full part (--trials 16, 10 epochs, pruning saving as here) would "
          f"take ~{fmt_s(full)} at these rates")
    print(f"  {load_line()}")
    return (f"part4 best_val_mse={best.val_mean if best else math.nan:.4f} default_val_mse={d_val:.4f} "
            f"best_test_mse={best.test_mean if best else math.nan:.4f} pruning_saved={saved:.2f} target=0.30 "
            f"trials={args.trials} max_epochs={max_epochs}")


# --- the command line ----------------------------------------------------------------------------------------
def parse_parts(text: str) -> list[int]:
    try:
        parts = sorted({int(p) for p in text.replace(" ", "").split(",") if p})
    except ValueError:
        parts = []
    if not parts or not set(parts) <= {1, 2, 3, 4}:
        raise UserError(f"--part {text}: expected numbers 1 to 4, e.g. --part 1 or --part 1,2")
    return parts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Targets: part 1 ratio <= 1.03, part 2 ratio <= 0.65, part 3 LSTM and GRU "
                                            "below 0.1x the baseline and the RNN not, part 4 best val <= the "
                                            "default's and pruning saving >= 30% of the epochs.")
    parser.add_argument("--part", default="1,2,3,4", help="which parts, e.g. 1 or 1,2 (default: all)")
    parser.add_argument("--work", help="keep the sweeps here (default: a temporary folder, removed after)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="parts 1-2: multiply the seed tutorial's epochs (5,10,20 and 10) by this (default 1)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="parts 1-2: measure each side this many times, alternating the order (medians)")
    parser.add_argument("--parallel-threads", type=int, default=0,
                        help="part 2: --threads for both sweeps' trials (default: the sweep shares the cores out)")
    parser.add_argument("--adding-length", type=int, default=200, help="part 3: the sequence length (default 200)")
    parser.add_argument("--adding-seeds", type=int, default=3, help="part 3: seeds per cell (default 3)")
    parser.add_argument("--adding-epochs", type=int, help="part 3: --max-epochs (default: the synthetic preset's 20)")
    parser.add_argument("--adding-examples", type=int,
                        help="part 3: --examples, sequences in all (default: the task's 10,000)")
    parser.add_argument("--adding-parallel", type=int, default=1, help="part 3: --parallel (default 1)")
    parser.add_argument("--trials", type=int, default=16, help="part 4: trials per search (default 16)")
    parser.add_argument("--max-epochs", type=int, help="part 4: --max-epochs of every fit (default: the task's 10)")
    parser.add_argument("--search-parallel", type=int, default=1, help="part 4: --parallel of the searches")
    parser.add_argument("--data-root", default=os.environ.get("RNN_SUITE_DATA") or str(REPO.parent / "shared" / "data"),
                        help="part 4: folder holding forecast/ett/ETTh1.csv (default: $RNN_SUITE_DATA or ../shared/data)")
    args = parser.parse_args()
    parts = parse_parts(args.part)
    for name in ("scale",):
        if not getattr(args, name) > 0:
            raise UserError(f"--{name}: must be above 0")
    for name in ("repeats", "trials", "adding_seeds", "adding_parallel", "search_parallel", "adding_length"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')}: must be at least 1")
    work = Path(args.work).resolve() if args.work else Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(work, str(Path(args.data_root).resolve()))
    print(f"bench/sweep.py: parts {','.join(map(str, parts))}; {os.cpu_count()} CPU cores; work folder {work}", flush=True)
    figures = []
    try:
        for part in parts:
            figures.append({1: part1, 2: part2, 3: part3, 4: part4}[part](bench, args))
            print(figures[-1], flush=True)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    if len(figures) > 1:
        print("\n".join(figures))
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_user_error(main))

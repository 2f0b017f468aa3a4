"""Sweeps end to end on the built-in cosine series with tiny models: a grid with seeds, a failing trial, a
killed sweep continued, two processes on one study, equal parameter counts, a pruned search, and trials in
parallel. Most trials start through the forkserver launcher (the same command line, without a fresh
interpreter's seconds of imports); the parallel test uses the default, a subprocess per trial."""

from __future__ import annotations

import csv
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from helpers import REPO, cli_env, one_line_error
from suite.cli import main
from suite.sweeps import launch
from suite.sweeps.spec import LAUNCHER_ENV
from suite.sweeps.trial import TrialRun

TINY = ["--task", "forecast", "--hidden", "4", "--max-epochs", "2", "--lookback", "8", "--horizon", "2",
        "--segment", "4", "--no-plot", "--threads", "1"]


def with_setting(args: list[str], flag: str, value: str | None) -> list[str]:
    """``args`` with ``flag`` set to ``value`` (None: without the flag)."""
    i = args.index(flag)
    return [*args[:i], *([flag, value] if value is not None else []), *args[i + 2:]]


@pytest.fixture
def fast(monkeypatch):
    monkeypatch.setenv(LAUNCHER_ENV, "forkserver")


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def run_config(folder: Path, row: dict[str, str]) -> dict:
    return yaml.safe_load((folder / row["run_dir"] / "config.yaml").read_text())


def test_a_grid_with_seeds_leaves_consistent_files(in_tmp, capsys, fast):
    from suite.runs import list_runs

    code = main([*TINY, "--sweep", "cell=rnn,gru", "--sweep", "lr=0.001,0.01", "--seeds", "2", "--parallel", "2"])
    out = capsys.readouterr().out
    assert code == 0, out
    (folder,) = (in_tmp / "runs" / "forecast" / "sweeps").iterdir()  # the default: under the runs root
    trials = rows(folder / "trials.csv")
    assert len(trials) == 8 and {t["status"] for t in trials} == {"COMPLETE"}
    assert sorted((t["cell"], float(t["lr"]), int(t["seed"])) for t in trials) == sorted(
        itertools.product(["rnn", "gru"], [0.001, 0.01], [42, 43]))
    for t in trials:  # each trial is an ordinary run of exactly its settings
        cfg = run_config(folder, t)
        assert (cfg["backbone"]["cell"], cfg["train"]["lr"], cfg["train"]["seed"]) == (t["cell"], float(t["lr"]),
                                                                                       int(t["seed"]))
        assert (cfg["backbone"]["hidden"], cfg["train"]["max_epochs"], cfg["train"]["threads"]) == (4, 2, 1)
        results = json.loads((folder / t["run_dir"] / "results.json").read_text())
        assert results["metrics"]["val"]["mse"] == pytest.approx(float(t["val_mse"]), rel=1e-5)
        assert int(t["parameters"]) == results["parameters"] and int(t["epochs"]) == 2

    summary = rows(folder / "summary.csv")
    assert [int(s["rank"]) for s in summary] == [1, 2, 3, 4] and [s["best"] for s in summary] == ["*", "", "", ""]
    means = [float(s["val_mse_mean"]) for s in summary]
    assert means == sorted(means)  # ranked by the objective (val mse, lower is better)
    for s in summary:
        mine = [float(t["val_mse"]) for t in trials if (t["cell"], t["lr"]) == (s["cell"], s["lr"])]
        assert int(s["n"]) == 2 and float(s["val_mse_mean"]) == pytest.approx(sum(mine) / 2, rel=1e-4)
    assert "rank" in out and "1 *" in out and "best: " in out

    best = yaml.safe_load((folder / "best.yaml").read_text())
    assert (best["backbone"]["cell"], best["train"]["lr"]) == (summary[0]["cell"], float(summary[0]["lr"]))
    assert best["backbone"]["hidden"] == 4 and best["train"]["seed"] == 42
    assert main(["--config", str(folder / "best.yaml"), "--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == best

    spec = yaml.safe_load((folder / "sweep.yaml").read_text())
    assert spec["grid"] == {"cell": ["rnn", "gru"], "lr": [0.001, 0.01]} and spec["seeds"]["values"] == [42, 43]
    assert spec["objective"] == {"metric": "val/mse", "direction": "minimize", "test": "test/mse"}
    for png in ("plot_cell.png", "plot_lr.png", "learning_curves.png"):
        assert (folder / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    listed = list_runs()  # the trials are runs (the Runs tab, --predict); the sweep folder is none
    assert len(listed) == 8 and {r.status for r in listed} == {"finished"} and {r.task for r in listed} == {"forecast"}
    assert {r.path.resolve() for r in listed} == {(folder / t["run_dir"]).resolve() for t in trials}


def test_a_failing_trial_is_recorded_and_the_sweep_goes_on(in_tmp, capsys, fast):
    (in_tmp / "bad.csv").write_text("y\n" + "".join(f"{v}\n" for v in ["1", "2", "x"] * 20))
    folder = in_tmp / "sweep"
    code = main([*with_setting(TINY, "--segment", None), "--sweep", "data=cosine,bad.csv", "--sweep", "segment=4,50",
                 "--sweep-dir", str(folder)])
    assert code == 0
    trials = {(Path(t["data"]).name, t["segment"]): t for t in rows(folder / "trials.csv")}
    assert trials[("cosine", "4")]["status"] == "COMPLETE"
    failed = [t for key, t in trials.items() if key != ("cosine", "4")]
    assert len(failed) == 3 and {t["status"] for t in failed} == {"FAIL"}
    for t in failed:
        assert t["error"] and "\n" not in t["error"] and "Traceback" not in t["error"]
    assert "bad.csv" in trials[("bad.csv", "4")]["error"]  # the trial's own one-line error
    assert "segment length 50 is longer than both lookback and horizon" in trials[("cosine", "50")]["error"]
    summary = rows(folder / "summary.csv")
    assert summary[0]["best"] == "*" and summary[0]["segment"] == "4" and int(summary[0]["n"]) == 1
    assert [int(s["failed"]) for s in summary[1:]] == [1, 1, 1]
    assert "FAIL" in capsys.readouterr().out


CHILD = {
    "killed": ("import json,os,signal;print(json.dumps({'event':'epoch_end','epoch':0,'metrics':{'val/mse':0.5}}),"
               "flush=True);os.kill(os.getpid(),signal.SIGKILL)", "killed by SIGKILL (out of memory?)"),
    "error": ("import json,sys;print(json.dumps({'event':'error','message':'training diverged: the loss became nan'}));"
              "sys.stderr.write('error: training diverged: the loss became nan\\n');sys.exit(2)",
              "training diverged: the loss became nan"),
    "nan": ("import json;print(json.dumps({'event':'finished','run_dir':'','metrics':{'val':{'mse':None},"
            "'test':{'mse':None}}}))", "the validation mse is not a number"),
    "traceback": ("raise RuntimeError('CUDA out of memory')", "RuntimeError: CUDA out of memory"),
}


@pytest.mark.parametrize("case", list(CHILD))
def test_a_trial_process_that_fails_becomes_one_line(case, tmp_path, monkeypatch):
    script, expected = CHILD[case]
    monkeypatch.setattr(launch, "PROGRAM", ["-c", script])
    outcome = TrialRun([], tmp_path / "trial.log", "mse").run()
    assert outcome.status == "FAIL" and expected in outcome.error and "\n" not in outcome.error, outcome.error
    if case == "killed":
        assert outcome.curve == [0.5] and outcome.returncode == -signal.SIGKILL


def test_pruning_writes_stop_to_the_trial(tmp_path, monkeypatch):
    """The --events stdout protocol: epochs out, ``stop`` in; the trial then ends as it would."""
    script = ("import json,sys\n"
              "for e in range(100):\n"
              "    print(json.dumps({'event':'epoch_end','epoch':e,'metrics':{'val/mse':1.0+e}}),flush=True)\n"
              "    if e >= 1 and sys.stdin.readline().strip()=='stop':\n"
              "        print(json.dumps({'event':'stopping','reason':'stop requested','epoch':e+1}),flush=True)\n"
              "        break\n"
              "print(json.dumps({'event':'finished','run_dir':'','epochs_completed':e+1,"
              "'metrics':{'val':{'mse':1.0},'test':{'mse':1.5}}}))")
    monkeypatch.setattr(launch, "PROGRAM", ["-c", script])
    reported = []
    outcome = TrialRun([], tmp_path / "trial.log", "mse",
                       report=lambda epoch, value: reported.append((epoch, value)) or epoch == 1).run()
    assert reported == [(0, 1.0), (1, 2.0)]
    assert (outcome.status, outcome.pruned_at, outcome.epochs, outcome.value) == ("PRUNED", 2, 2, 1.0)


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    env = cli_env(**{LAUNCHER_ENV: "forkserver", "RNN_SUITE_RUNS": str(cwd / "runs")})
    return subprocess.Popen([sys.executable, str(REPO / "main.py"), *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _study(folder: Path):
    import optuna
    from suite.sweeps.storage import Storage

    spec = yaml.safe_load((folder / "sweep.yaml").read_text())
    url = spec["storage"]
    return optuna.load_study(study_name=spec["study"], storage=Storage(url).backend)


def test_a_killed_sweep_continues_without_rerunning_finished_trials(in_tmp, capsys, fast):
    folder = in_tmp / "sweep"
    args = [*with_setting(TINY, "--max-epochs", "30"), "--sweep", "cell=rnn,gru,lstm", "--sweep-dir", str(folder),
            "--storage", f"journal:{in_tmp / 'study.log'}"]
    proc = _start(args, in_tmp)
    deadline = time.monotonic() + 240
    try:  # kill it (SIGKILL: no chance to tidy up) while its second trial trains
        while time.monotonic() < deadline and proc.poll() is None:
            started = sorted((folder / "trials").glob("*/events.jsonl")) if (folder / "trials").is_dir() else []
            if len(started) >= 2 and (started[0].parent / "results.json").exists():
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        proc.kill()
    finally:
        proc.wait(60)
    first = sorted((folder / "trials").iterdir())[0]
    first_results = (first / "results.json").stat().st_mtime_ns

    assert main(args) == 0
    out = capsys.readouterr().out
    assert "continuing: 1 trial already ended, 2 waiting; trial 1 lost its process and runs again" in out, out
    trials = rows(folder / "trials.csv")
    by_number = {int(t["number"]): t for t in trials}
    assert by_number[0]["status"] == "COMPLETE" and (first / "results.json").stat().st_mtime_ns == first_results
    assert by_number[1]["status"] == "FAIL" and "its sweep process ended" in by_number[1]["error"]
    retried = [t for t in trials if t["retry_of"] == "1"]
    assert len(retried) == 1 and retried[0]["status"] == "COMPLETE" and retried[0]["cell"] == by_number[1]["cell"]
    complete = sorted(t["cell"] for t in trials if t["status"] == "COMPLETE")
    assert complete == ["gru", "lstm", "rnn"]  # each configuration done exactly once
    assert len(trials) == 4


def test_two_processes_share_one_study_and_do_every_trial_once(in_tmp):
    folder = in_tmp / "sweep"
    args = [*TINY, "--sweep", "cell=rnn,gru,lstm", "--seeds", "2", "--sweep-dir", str(folder)]
    procs = [_start(args, in_tmp) for _ in range(2)]
    outputs = [p.communicate(timeout=400) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err
    from optuna.trial import TrialState

    study = _study(folder)
    trials = study.get_trials()
    assert len(trials) == 6 and {t.state for t in trials} == {TrialState.COMPLETE}  # none lost, none twice
    assert sorted((t.params["cell"], t.user_attrs["seed"]) for t in trials) == sorted(
        itertools.product(["rnn", "gru", "lstm"], [42, 43]))
    run_dirs = [Path(t.user_attrs["trial"]["run_dir"]) for t in trials]
    assert len(set(run_dirs)) == 6 and all((d / "results.json").exists() for d in run_dirs)
    workers = {t.user_attrs["trial"]["worker"] for t in trials}
    print(f"trials per process: {[sum(t.user_attrs['trial']['worker'] == w for t in trials) for w in workers]}")
    assert len(rows(folder / "trials.csv")) == 6


def test_equal_params_sizes_each_cell_within_five_percent(in_tmp, capsys, fast):
    folder = in_tmp / "sweep"
    args = [*with_setting(TINY, "--hidden", "32"), "--sweep", "cell=rnn,lstm,gru", "--equal-params",
            "--sweep-dir", str(folder)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "equal parameters: cell=rnn hidden 32" in out
    summary = {s["cell"]: s for s in rows(folder / "summary.csv")}
    reference = int(summary["rnn"]["parameters"])
    assert summary["rnn"]["hidden"] == "32"
    for cell in ("lstm", "gru"):
        assert abs(int(summary[cell]["parameters"]) - reference) <= 0.05 * reference
        assert int(summary[cell]["hidden"]) < 32
        assert run_config(folder, rows(folder / "trials.csv")[0])["backbone"]["cell"] == "rnn"
    spec = yaml.safe_load((folder / "sweep.yaml").read_text())
    assert spec["equal_params"]["reference_cell"] == "rnn"
    # a size no hidden count can match is said before any trial
    message = one_line_error(capsys, *with_setting(TINY, "--hidden", "8"), "--sweep", "cell=rnn,lstm",
                             "--equal-params", "--sweep-dir", str(in_tmp / "other"))
    assert message.startswith("--equal-params: no hidden size gives lstm within 5%")
    assert not (in_tmp / "other").exists()


def test_a_search_prunes_poor_trials(in_tmp, capsys, fast):
    folder = in_tmp / "sweep"
    args = [*with_setting(TINY, "--max-epochs", "8"), "--search", "6", "--space", "lr=1e-6:1e-1:log",
            "--sweep-dir", str(folder)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "sampler: TPESampler(seed=42" in out and "pruner: MedianPruner(n_startup_trials=2, n_warmup_steps=2)" in out
    trials = rows(folder / "trials.csv")
    assert len(trials) == 6 and {t["status"] for t in trials} <= {"COMPLETE", "PRUNED"}
    pruned = [t for t in trials if t["status"] == "PRUNED"]
    assert pruned and [t["status"] for t in trials[:2]] == ["COMPLETE", "COMPLETE"], trials  # 2 startup trials
    assert all(int(t["epochs"]) < 8 for t in pruned)  # stopped early, through the run's own stop
    for t in pruned:  # counted: the epochs it trained whole (as many steps as the first), not the one cut short
        events = [json.loads(line) for line in (folder / t["run_dir"] / "events.jsonl").read_text().splitlines()]
        ends = [e["step"] for e in events if e["event"] == "epoch_end"]
        spans = [b - a for a, b in zip([0, *ends], ends)]
        assert "stopping" in [e["event"] for e in events]
        assert int(t["epochs"]) == sum(span == spans[0] for span in spans), (t, spans)
    study = _study(folder)  # each pruned trial was behind the complete ones where it was stopped
    for t in pruned:
        frozen = study.trials[int(t["number"])]
        step = max(frozen.intermediate_values)
        assert step >= 2  # never within the warm-up epochs
        earlier = [u.intermediate_values[step] for u in study.trials[:frozen.number]
                   if u.state.name == "COMPLETE" and step in u.intermediate_values]
        assert min(frozen.intermediate_values.values()) > min(earlier)
    for png in ("optimization_history.png", "param_importances.png", "plot_lr.png", "learning_curves.png"):
        assert (folder / png).exists(), png
    spec = yaml.safe_load((folder / "sweep.yaml").read_text())
    assert spec["space"] == {"lr": {"low": 1e-6, "high": 0.1, "log": True, "type": "float"}}
    assert spec["pruner"].startswith("MedianPruner(n_startup_trials=2, n_warmup_steps=2)")
    best = yaml.safe_load((folder / "best.yaml").read_text())
    top = rows(folder / "summary.csv")[0]
    assert best["train"]["lr"] == pytest.approx(float(top["lr"]), rel=1e-5)


def test_parallel_trials_run_at_once_with_the_threads_shared(in_tmp, capsys):
    """The default launcher (a fresh ``python -m suite`` per trial), two at a time."""
    folder = in_tmp / "sweep"
    no_threads = with_setting(TINY, "--threads", None)
    assert main([*no_threads, "--sweep", "cell=rnn,gru", "--parallel", "2", "--sweep-dir", str(folder)]) == 0
    assert "2 trials at once, " in capsys.readouterr().out
    expected = max(1, (os.cpu_count() or 1) // 2)
    spans = []
    for t in rows(folder / "trials.csv"):
        assert t["status"] == "COMPLETE"
        assert run_config(folder, t)["train"]["threads"] == expected
        spans.append((datetime.fromisoformat(t["started"]), datetime.fromisoformat(t["finished"])))
    (a0, a1), (b0, b1) = spans
    assert a0 < b1 and b0 < a1, spans  # each trial's process started before the other's ended
    assert yaml.safe_load((folder / "sweep.yaml").read_text())["parallel"] == {
        "trials_at_once": 2, "threads_per_trial": expected, "launcher": "subprocess"}


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores")
def test_parallel_times_threads_beyond_the_cores_is_refused(in_tmp, capsys):
    cores = os.cpu_count()
    message = one_line_error(capsys, *with_setting(TINY, "--threads", str(cores)), "--sweep", "cell=rnn,gru",
                             "--parallel", "2", "--sweep-dir", str(in_tmp / "s"))
    assert f"--parallel 2 x --threads {cores} is more threads than this machine's {cores} CPU cores" in message
    assert not (in_tmp / "s").exists()


def test_the_python_api_returns_typed_rows(in_tmp, fast):
    import io

    from suite.sweeps import ConfigRow, GridAxis, SweepSpec, TrialRow, run_sweep

    settings = {"hidden": 4, "max_epochs": 2, "lookback": 8, "horizon": 2, "segment": 4, "plot": False, "threads": 1}
    result = run_sweep("forecast", settings, SweepSpec(grid=[GridAxis("cell", ["rnn", "gru"])],
                                                       sweep_dir=str(in_tmp / "s")), out=io.StringIO())
    assert all(isinstance(r, TrialRow) for r in result.trials) and len(result.trials) == 2
    assert all(isinstance(c, ConfigRow) for c in result.configs)
    assert result.best is result.configs[0] and result.best.rank == 1 and result.best.n == 1
    assert (result.objective, result.direction) == ("val/mse", "minimize")
    assert {r.status for r in result.trials} == {"COMPLETE"} and all(len(r.curve) == 2 for r in result.trials)
    assert {r.settings["cell"] for r in result.trials} == {"rnn", "gru"}
    assert "trials.csv" in result.files and (result.sweep_dir / "trials.csv").exists()

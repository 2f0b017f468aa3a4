"""Stopping a sweep from its parent process (the window): ``--events stdout`` and a line ``stop`` on standard
input. The first lets the running trials finish and starts no new one; a second ends those at their next
batch too. Either way the sweep ends as usual, and the same command continues it. Its files say which
trials are waiting or running as soon as they are planned or started, for the window to show."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

from helpers import REPO, cli_env
from suite.cli import main
from suite.sweeps.spec import LAUNCHER_ENV

TINY = ["--task", "forecast", "--lookback", "8", "--horizon", "2", "--segment", "4", "--no-plot",
        "--threads", "1"]


def rows(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except FileNotFoundError:
        return []


def start(args: list[str], cwd: Path) -> subprocess.Popen:
    env = cli_env(**{LAUNCHER_ENV: "forkserver", "RNN_SUITE_RUNS": str(cwd / "runs")})
    return subprocess.Popen([sys.executable, str(REPO / "main.py"), *args, "--events", "stdout"], cwd=cwd, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_stop_lets_the_running_trial_finish_and_the_same_command_continues(in_tmp, capsys, monkeypatch):
    monkeypatch.setenv(LAUNCHER_ENV, "forkserver")
    folder = in_tmp / "sweep"
    args = [*TINY, "--hidden", "32", "--max-epochs", "3", "--sweep", "cell=rnn,gru,lstm", "--equal-params",
            "--sweep-dir", str(folder)]
    proc = start(args, in_tmp)
    try:
        # the planned trials are in trials.csv before any has ended, and a started one says so
        wait_for(lambda: [t["status"] for t in rows(folder / "trials.csv")][:1] == ["RUNNING"], proc)
        planned = rows(folder / "trials.csv")
        assert [t["status"] for t in planned] == ["RUNNING", "WAITING", "WAITING"]
        assert planned[0]["run_dir"].startswith("trials/0000-cell-rnn") and planned[1]["run_dir"] == ""
        # a trial not started yet has the hidden size --equal-params chose for it (one row per configuration)
        assert planned[0]["hidden"] == "32" and all(t["hidden"] and int(t["hidden"]) < 32 for t in planned[1:])
        assert len(rows(folder / "summary.csv")) == 3
        proc.stdin.write("stop\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stop: the running trials finish and no new one starts" in err
    assert "stopped: 2 trials not run yet; the same command continues the sweep" in err
    assert all(json.loads(line) for line in out.splitlines())  # standard output: events only
    trials = rows(folder / "trials.csv")
    assert [(t["cell"], t["status"]) for t in trials] == [("rnn", "COMPLETE"), ("gru", "WAITING"), ("lstm", "WAITING")]
    assert trials[0]["epochs"] == "3"  # it ran to its end
    first = folder / trials[0]["run_dir"] / "results.json"
    assert json.loads(first.read_text())["status"] == "finished"
    stamp = first.stat().st_mtime_ns
    summary = rows(folder / "summary.csv")
    assert len(summary) == 3 and summary[0]["best"] == "*" and summary[0]["cell"] == "rnn"

    assert main(args) == 0  # the same command: the two waiting trials run, the finished one is kept
    assert "continuing: 1 trial already ended, 2 waiting" in capsys.readouterr().out
    trials = rows(folder / "trials.csv")
    assert len(trials) == 3 and {t["status"] for t in trials} == {"COMPLETE"}
    assert first.stat().st_mtime_ns == stamp


def test_a_second_stop_ends_the_running_trials_at_their_next_batch(in_tmp):
    folder = in_tmp / "sweep"
    args = [*TINY, "--hidden", "4", "--max-epochs", "500", "--sweep", "cell=rnn,gru", "--sweep-dir", str(folder)]
    proc = start(args, in_tmp)
    try:
        def trained_an_epoch() -> bool:
            running = rows(folder / "trials.csv")[:1]
            metrics = folder / running[0]["run_dir"] / "metrics.csv" if running and running[0]["run_dir"] else None
            return bool(metrics and metrics.exists() and "val/mse" in metrics.read_text())

        wait_for(trained_an_epoch, proc)
        proc.stdin.write("stop\nstop\n")
        proc.stdin.flush()
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stop: the running trials end at their next batch" in err
    trials = rows(folder / "trials.csv")
    first, *rest = trials
    assert first["status"] == "FAIL" and first["error"].startswith("interrupted"), first
    assert int(first["epochs"]) < 500
    # its settings wait to run again, beside the trial never started
    assert sorted((t["cell"], t["status"], t["retry_of"]) for t in rest) == [("gru", "WAITING", ""),
                                                                             ("rnn", "WAITING", "0")]
    # the trial's run ended gracefully (its last checkpoint saved), not killed
    assert json.loads((folder / first["run_dir"] / "results.json").read_text())["status"] in ("stopped", "interrupted")

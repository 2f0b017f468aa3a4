"""The headless CLI end to end, as a user (or the GUI) runs it: a subprocess per command (errors a
command refuses at once are checked in this process, with no torch import to pay per call)."""

from __future__ import annotations

import csv
import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from helpers import REPO, cli_env, one_line_error, read_results, run_cli

RESULT_KEYS = {"task", "config", "metrics", "baseline", "epochs_completed", "fit_seconds",
               "train_samples_per_second", "parameters", "best_checkpoint"}


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    """`python main.py --task forecast` exactly as the README's quick start runs it."""
    cwd = tmp_path_factory.mktemp("quickstart")
    done = run_cli("--task", "forecast", cwd=cwd)
    assert done.returncode == 0, done.stderr
    runs = list((cwd / "runs" / "forecast").iterdir())
    assert len(runs) == 1
    return runs[0], done


def test_default_run_is_the_seed_tutorial(seed_run):
    run_dir, done = seed_run
    results = read_results(run_dir)
    assert RESULT_KEYS <= set(results)
    cfg = results["config"]
    assert cfg["preset"] == "seed"
    assert (cfg["backbone"]["cell"], cfg["backbone"]["hidden"]) == ("rnn", 32)
    assert (cfg["options"]["lookback"], cfg["options"]["horizon"]) == (500, 1)
    assert (cfg["train"]["optimizer"], cfg["train"]["batch_size"], cfg["train"]["max_epochs"]) == ("adam", 100, 10)
    assert results["data"] == {"train": 2000, "val": 500, "test": 500}
    assert results["epochs_completed"] == 10
    assert results["parameters"] == 1 * 32 + 32 * 32 + 2 * 32 + 32 + 1  # SimpleRNN(32) + Dense(1)
    val, base = results["metrics"]["val"], results["baseline"]
    assert base["name"] == "repeat_last"
    # the trained RNN beats repeating the last value, and tracks the wave closely
    assert val["mse"] < base["val"]["mse"]
    assert val["mse"] < 2e-4
    assert results["train_samples_per_second"] > 0 and results["fit_seconds"] > 0
    # the summary table prints the metric beside the baseline
    assert "baseline: repeat_last" in done.stdout and "mse" in done.stdout


def test_run_directory_holds_everything(seed_run):
    run_dir, _ = seed_run
    for name in ("config.yaml", "metrics.csv", "events.jsonl", "results.json", "predictions.csv",
                 "prediction.png", "checkpoints/best.ckpt", "checkpoints/last.ckpt"):
        assert (run_dir / name).exists(), name
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["task"] == "forecast" and saved["backbone"]["cell"] == "rnn"
    with open(run_dir / "predictions.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 500 and set(rows[0]) == {"row", "cos", "cos_forecast"}
    actual = np.cos(np.linspace(1, 100, 3000))[2500:]
    assert np.allclose([float(r["cos"]) for r in rows], actual, atol=1e-5)
    assert (run_dir / "prediction.png").read_bytes()[:4] == b"\x89PNG"


def test_events_and_metrics_are_recorded(seed_run):
    run_dir, _ = seed_run
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert kinds.count("epoch_end") == 10
    assert "checkpoint" in kinds
    losses = [e for e in events if e["event"] == "metric" and e["name"] == "train/loss"]
    assert losses and all(isinstance(e["value"], float) and "step" in e and "epoch" in e for e in losses)
    assert losses[-1]["value"] < losses[0]["value"]
    val = [e for e in events if e["event"] == "metric" and e["name"] == "val/mse"]
    assert len(val) == 10
    with open(run_dir / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["name"] for r in rows} >= {"train/loss", "val/mse", "val/mae"}


def test_predict_inline_values_and_file(seed_run, tmp_path, capsys):
    run_dir, _ = seed_run
    wave = np.cos(np.linspace(1, 100, 3000))
    history = " ".join(f"{v:.6f}" for v in wave[2000:2500])
    done = run_cli("--checkpoint", str(run_dir), "--predict", history, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "step,cos"
    assert abs(float(lines[1].split(",")[1]) - wave[2500]) < 0.05

    out = tmp_path / "forecast.json"
    done = run_cli("--checkpoint", str(run_dir), "--predict", history, "--predict-steps", "30", "--output",
                   str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    forecast = json.loads(out.read_text())
    assert forecast["steps"] == 30 and len(forecast["forecast"]["cos"]) == 30  # recursive beyond horizon 1
    assert np.abs(np.array(forecast["forecast"]["cos"][:10]) - wave[2500:2510]).max() < 0.1

    message = one_line_error(capsys, "--checkpoint", str(run_dir), "--predict", "0.1 0.2 0.3")
    assert message == "--predict: the model needs the last 500 values, got 3"


def test_evaluate_on_another_series(seed_run, tmp_path):
    run_dir, _ = seed_run
    shifted = tmp_path / "shifted.csv"
    t = np.linspace(1, 100, 3000) + 0.5
    shifted.write_text("cos\n" + "\n".join(f"{v:.6f}" for v in np.cos(t)) + "\n")
    report_path = tmp_path / "report.json"
    done = run_cli("--checkpoint", str(run_dir), "--evaluate", str(shifted), "--output", str(report_path),
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(report_path.read_text())
    assert set(report) >= {"metrics", "baseline"}
    assert report["examples"] == 2500
    assert report["metrics"]["mse"] < report["baseline"]["test"]["mse"]


def test_print_config_round_trips(tmp_path):
    first = run_cli("--task", "forecast", "--cell", "gru", "--lr", "0.01", "--print-config", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    (tmp_path / "run.yaml").write_text(first.stdout)
    again = run_cli("--config", "run.yaml", "--print-config", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    data = yaml.safe_load(first.stdout)
    assert data["backbone"]["cell"] == "gru" and data["train"]["lr"] == 0.01 and data["preset"] == "seed"


def test_help_lists_generated_flags_and_tasks(tmp_path):
    done = run_cli("--task", "forecast", "--help", cwd=tmp_path)
    assert done.returncode == 0
    for flag in ("--cell", "--hidden", "--layers", "--bidirectional", "--dropout", "--init", "--optimizer",
                 "--lr", "--weight-decay", "--grad-clip", "--batch-size", "--max-epochs", "--patience", "--seed",
                 "--accelerator", "--devices", "--strategy", "--precision", "--lookback", "--horizon",
                 "--target", "--time-column", "--split", "--covariates"):
        assert flag in done.stdout, flag
    listed = run_cli("--list-tasks", cwd=tmp_path)
    assert listed.stdout.split()[0] == "forecast"


def _stream(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(REPO / "main.py"), *args], cwd=cwd, env=cli_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _read_until(proc: subprocess.Popen, predicate, timeout: float = 240) -> list[dict]:
    seen, deadline = [], time.monotonic() + timeout
    for line in proc.stdout:
        seen.append(json.loads(line))  # every stdout line is a JSON event
        if predicate(seen[-1]) or time.monotonic() > deadline:
            break
    return seen


def test_stop_on_stdin_ends_gracefully_with_results(tmp_path):
    run_dir = tmp_path / "run"
    proc = _stream(["--task", "forecast", "--max-epochs", "200", "--events", "stdout", "--run-dir", str(run_dir)],
                   tmp_path)
    seen = _read_until(proc, lambda e: e["event"] == "epoch_end" and e["epoch"] >= 1)
    proc.stdin.write("stop\n")
    proc.stdin.flush()
    rest = [json.loads(line) for line in proc.stdout]
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    kinds = [e["event"] for e in seen + rest]
    assert kinds[0] == "started" and "stopping" in kinds and kinds[-1] == "finished"
    results = read_results(run_dir)
    assert results["status"] == "stopped"
    assert 2 <= results["epochs_completed"] < 200
    assert (run_dir / results["best_checkpoint"]).exists()  # paths inside a run are relative to it
    assert "mse" in results["metrics"]["test"]


def test_resume_after_sigkill_completes_the_epochs(tmp_path):
    run_dir = tmp_path / "run"
    proc = _stream(["--task", "forecast", "--max-epochs", "6", "--events", "stdout", "--run-dir", str(run_dir)],
                   tmp_path)
    _read_until(proc, lambda e: e["event"] == "checkpoint" and e["kind"] == "last" and e["epoch"] >= 2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not (run_dir / "results.json").exists()
    assert (run_dir / "checkpoints" / "last.ckpt").exists()

    done = run_cli("--resume", str(run_dir), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    results = read_results(run_dir)
    assert results["epochs_completed"] == 6 and results["status"] == "finished"
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines() if line.strip()]
    starts = [e for e in events if e["event"] == "started"]
    assert len(starts) == 2 and starts[1]["epoch"] >= 3  # continued, not restarted
    epochs = sorted(e["epoch"] for e in events if e["event"] == "epoch_end")
    assert epochs[-1] == 5 and set(range(6)) <= set(epochs)


def test_resume_may_extend_training_but_not_change_the_model(seed_run, capsys):
    run_dir, _ = seed_run
    assert "only training settings may change" in one_line_error(capsys, "--resume", str(run_dir), "--hidden", "64")


def test_adam_with_mixed_precision_and_gradient_clipping_trains(tmp_path):
    """Adam is fused for speed except where Lightning cannot clip a fused optimiser's gradients."""
    run_dir = tmp_path / "bf16"
    # bf16 on a CPU is emulated and slow: windows of 50 values, not the seed's 500, show the same thing
    done = run_cli("--task", "forecast", "--optimizer", "adam", "--grad-clip", "1", "--precision", "bf16-mixed",
                   "--lookback", "50", "--max-epochs", "1", "--run-dir", str(run_dir), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    results = read_results(run_dir)
    assert results["epochs_completed"] == 1 and math.isfinite(results["metrics"]["test"]["mse"])


def test_ddp_two_processes_write_one_result(tmp_path):
    run_dir = tmp_path / "ddp"
    done = run_cli("--task", "forecast", "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp",
                   "--max-epochs", "2", "--run-dir", str(run_dir), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    results = read_results(run_dir)
    assert results["world_size"] == 2
    assert results["epochs_completed"] == 2
    # each process saw half of the 2000 training windows per epoch: 10 steps of 100, not 20
    assert results["global_steps"] == 20
    assert [p.name for p in (tmp_path).iterdir() if p.is_dir()] == ["ddp"]  # one run directory
    events = (run_dir / "events.jsonl").read_text().splitlines()
    assert sum('"started"' in line for line in events) == 1


@pytest.mark.realdata
def test_etth1_slice_beats_repeat_last(data_root, tmp_path):
    run_dir = tmp_path / "ett"
    done = run_cli("--task", "forecast", "--data", "forecast/ett/ETTh1.csv", "--data-root", str(data_root),
                   "--lookback", "96", "--horizon", "24", "--split", "3000,600,600", "--hidden", "64",
                   "--max-epochs", "2", "--run-dir", str(run_dir), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    results = read_results(run_dir)
    assert results["data"] == {"train": 3000 - 96 - 24 + 1, "val": 600 - 24 + 1, "test": 600 - 24 + 1}
    assert results["config"]["options"]["model"] == "segment"
    test, base = results["metrics"]["test"], results["baseline"]
    assert test["mse"] < 0.8 * base["test"]["mse"]
    assert "seasonal_naive_24" in base["others"]
    with open(run_dir / "predictions.csv") as handle:
        header = next(csv.reader(handle))
    assert header[:4] == ["row", "time", "HUFL", "HUFL_forecast"] and "OT_forecast" in header


def test_help_without_a_task_lists_the_tasks(tmp_path):
    done = run_cli("--help", cwd=tmp_path)
    assert done.returncode == 0
    assert "--task" in done.stdout and "installed tasks: forecast" in done.stdout

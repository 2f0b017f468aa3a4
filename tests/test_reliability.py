"""Failure modes: nothing a user owns is deleted, a damaged run never takes the product down, and every
fault ends in one clear line. docs/RELIABILITY.md lists these cases; each test here keeps a row true."""

from __future__ import annotations

import errno
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from helpers import REPO, cli_env, one_line_error, read_results, run_cli
from suite.cli import main
from suite.errors import UserError

TINY = ["--task", "forecast", "--max-epochs", "1"]


# --- 1. a failed setup deletes nothing that was there before ------------------------------------------------

@pytest.mark.parametrize("bad", [["--accelerator", "gpu"], ["--strategy", "deepspeed"]])
def test_failed_setup_keeps_an_existing_run_dir_and_its_files(in_tmp, capsys, bad):
    precious = in_tmp / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep")
    one_line_error(capsys, *TINY, "--run-dir", "precious", *bad)
    assert (precious / "notes.txt").read_text() == "keep"
    assert sorted(p.name for p in precious.iterdir()) == ["notes.txt"]


def test_failed_setup_in_the_working_directory_keeps_it(in_tmp, capsys):
    (in_tmp / "series.csv").write_text("v\n" + "\n".join(str(i % 5) for i in range(80)) + "\n")
    one_line_error(capsys, *TINY, "--run-dir", ".", "--accelerator", "gpu")
    assert sorted(p.name for p in in_tmp.iterdir()) == ["series.csv"]


def test_failed_setup_removes_only_the_folders_it_made(in_tmp, capsys):
    one_line_error(capsys, *TINY, "--run-dir", "new/deeper/run", "--accelerator", "gpu")
    assert not (in_tmp / "new").exists()


def test_a_run_dir_holding_run_files_is_refused_before_anything_is_written(in_tmp, capsys):
    (in_tmp / "mine").mkdir()
    (in_tmp / "mine" / "metrics.csv").write_text("my own numbers\n")
    message = one_line_error(capsys, *TINY, "--run-dir", "mine")
    assert "already holds metrics.csv" in message
    assert (in_tmp / "mine" / "metrics.csv").read_text() == "my own numbers\n"


def test_deleting_a_run_keeps_the_users_files(in_tmp, capsys):
    from suite.runs import Run

    (in_tmp / "shared").mkdir()
    (in_tmp / "shared" / "notes.txt").write_text("keep")
    assert main([*TINY, "--run-dir", "shared", "--hidden", "4"]) == 0, capsys.readouterr().err
    kept = Run(in_tmp / "shared").delete()
    assert [p.name for p in kept] == ["notes.txt"]
    assert sorted(p.name for p in (in_tmp / "shared").iterdir()) == ["notes.txt"]
    assert main([*TINY, "--run-dir", "alone", "--hidden", "4"]) == 0
    assert Run(in_tmp / "alone").delete() == [] and not (in_tmp / "alone").exists()


# --- shared: one small finished run ---------------------------------------------------------------------------

SMALL = [*TINY, "--hidden", "4"]
WINDOW = ",".join(["0.5"] * 500)  # the seed model reads the last 500 values


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished seed-forecast run (4 units, 1 epoch) that tests copy rather than change."""
    root = tmp_path_factory.mktemp("trained")
    assert main([*SMALL, "--run-dir", str(root / "run")]) == 0
    return root / "run"


def copy_run(trained: Path, where: Path) -> Path:
    import shutil

    return Path(shutil.copytree(trained, where / "copy"))


def strict_json_lines(path: Path) -> list[dict]:
    """Every line parses as standard JSON (no bare NaN or Infinity)."""
    def refuse(token):
        raise AssertionError(f"{path}: {token} is not JSON")
    return [json.loads(line, parse_constant=refuse) for line in path.read_text().splitlines() if line.strip()]


def stream(args: list[str], cwd: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(REPO / "main.py"), *args], cwd=cwd, env=cli_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def read_until(proc: subprocess.Popen, predicate, timeout: float = 120) -> list[dict]:
    seen, deadline = [], time.monotonic() + timeout
    for line in proc.stdout:
        seen.append(json.loads(line))
        if predicate(seen[-1]) or time.monotonic() > deadline:
            break
    return seen


# --- 3. SIGTERM and Ctrl-C end a run like `stop`, with their own exit codes --------------------------------

@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_training_saves_the_last_checkpoint_and_resumes(tmp_path, signum, code):
    run_dir = tmp_path / "run"
    proc = stream([*TINY, "--max-epochs", "100", "--hidden", "8", "--events", "stdout", "--run-dir", str(run_dir)],
                  tmp_path)
    read_until(proc, lambda e: e["event"] == "epoch_end" and e["epoch"] >= 1)
    proc.send_signal(signum)
    rest = [json.loads(line) for line in proc.stdout]
    assert proc.wait(timeout=60) == code
    err = proc.stderr.read()
    assert "Traceback" not in err and f"interrupted by {signum.name}" in err
    assert rest[-1]["event"] == "interrupted" and rest[-1]["signal"] == signum.name
    results = read_results(run_dir)
    assert results["status"] == "interrupted" and 2 <= results["epochs_completed"] < 100
    assert (run_dir / "checkpoints" / "last.ckpt").exists()
    done = run_cli("--resume", str(run_dir), "--max-epochs", str(results["epochs_completed"] + 1), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert read_results(run_dir)["status"] == "finished"


def test_ctrl_c_during_start_up_is_one_line(tmp_path):
    proc = stream([*TINY, "--run-dir", str(tmp_path / "run")], tmp_path)
    time.sleep(1.5)  # still importing torch and Lightning, or reading data
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("error: interrupted") and "Traceback" not in err


# --- 4. a full disk never leaves a truncated checkpoint or an empty file -------------------------------------

def _limit_file_size(limit: int):
    def apply():
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_checkpoint_that_cannot_be_written_keeps_the_previous_one_resumable(trained, tmp_path):
    import torch

    run = copy_run(trained, tmp_path)
    last = run / "checkpoints" / "last.ckpt"
    before = last.read_bytes()
    limit = len(before) // 2
    # what the resumed run appends to before its first checkpoint (the plot and predictions come at the end)
    assert max((run / name).stat().st_size for name in ("events.jsonl", "metrics.csv", "config.yaml")) < limit
    done = subprocess.run([sys.executable, str(REPO / "main.py"), "--resume", str(run), "--max-epochs", "3"],
                          cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=300,
                          preexec_fn=_limit_file_size(limit))
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert "Traceback" not in done.stderr and "while writing" in line and "previous version is intact" in line
    assert last.read_bytes() == before and torch.load(last, weights_only=True)["epoch"] == 0
    assert not list((run / "checkpoints").glob(".*.tmp"))
    done = run_cli("--resume", str(run), "--max-epochs", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert read_results(run)["epochs_completed"] == 2


def test_atomic_writes_leave_the_old_file_on_failure(tmp_path, monkeypatch):
    from suite import atomic

    target = tmp_path / "results.json"
    atomic.write_json_atomic(target, {"a": 1})

    def full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(UserError, match="no space left on device while writing .*results.json; the previous"):
        atomic.write_json_atomic(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


@pytest.fixture
def full_disk(tmp_path):
    """A 256 KiB file system filled to the last byte (needs root to mount; CI runs as root)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small file system here (not root)")
    try:
        with open(mount / "filler", "wb", buffering=0) as handle:
            try:
                while True:
                    handle.write(b"\0" * 4096)
                    handle.flush()
            except OSError:
                pass
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_at_start_and_on_output_leaves_no_empty_files(full_disk, trained, capsys, in_tmp):
    message = one_line_error(capsys, *SMALL, "--run-dir", str(full_disk / "run"))
    assert "No space left on device" in message or "no space left" in message
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]
    one_line_error(capsys, "--checkpoint", str(trained), "--predict", WINDOW,
                   "--output", str(full_disk / "forecast.csv"))
    one_line_error(capsys, "--checkpoint", str(trained), "--evaluate", "cosine",
                   "--output", str(full_disk / "report.json"))
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


# --- 5. one run folder, one writer -----------------------------------------------------------------------------

def test_a_run_folder_in_use_is_refused(in_tmp, capsys):
    from suite.runs import Run

    holder = Run.create("forecast", "x", in_tmp / "busy")
    try:
        message = one_line_error(capsys, *SMALL, "--run-dir", "busy")
        assert "another process is writing this run" in message
    finally:
        holder.release()


def test_two_runs_started_together_on_one_folder(tmp_path):
    args = [*SMALL, "--max-epochs", "3", "--run-dir", str(tmp_path / "run")]
    procs = [stream([*args, "--seed", str(seed)], tmp_path) for seed in (1, 2)]
    outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in outcomes) == [0, 2], outcomes
    winner = [seed for seed, (code, _) in zip((1, 2), outcomes) if code == 0][0]
    (refusal,) = [err for code, err in outcomes if code == 2]
    assert refusal.strip().startswith("error: ") and len(refusal.strip().splitlines()) == 1
    results = read_results(tmp_path / "run")
    assert results["config"]["train"]["seed"] == winner
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["train"]["seed"] == winner
    assert {e["max_epochs"] for e in strict_json_lines(tmp_path / "run" / "events.jsonl")
            if e["event"] == "started"} == {3}
    assert len([e for e in strict_json_lines(tmp_path / "run" / "events.jsonl") if e["event"] == "started"]) == 1


# --- 6. numbers that are not numbers ---------------------------------------------------------------------------

@pytest.mark.parametrize("flag, value, expected", [
    ("--weight-decay", "nan", "expected a finite number"),
    ("--grad-clip", "nan", "expected a finite number"),
    ("--lr", "inf", "expected a finite number"),
    ("--batch-size", "99999999999999999999", "must be at most"),
    ("--hidden", "99999999999999999999999", "must be at most 8192"),
    ("--seed", "4294967296", "must be at most 4294967295"),
])
def test_non_finite_and_huge_settings_are_refused(in_tmp, capsys, flag, value, expected):
    message = one_line_error(capsys, *TINY, flag, value)
    assert expected in message and flag in message
    assert not (in_tmp / "runs").exists()


def test_a_diverging_loss_stops_with_a_clear_message_and_valid_json(in_tmp, capsys):
    message = one_line_error(capsys, *SMALL, "--optimizer", "sgd", "--lr", "1e20", "--log-every", "1",
                             "--run-dir", "run")
    assert message.startswith("training diverged: the loss became") and "--lr" in message
    events = strict_json_lines(in_tmp / "run" / "events.jsonl")
    assert events[-1]["event"] == "error"
    assert any(e["event"] == "metric" and e["value"] is None for e in events)  # NaN/inf written as null


def test_results_are_strict_json_at_every_depth(tmp_path):
    from suite.atomic import write_json_atomic

    write_json_atomic(tmp_path / "r.json", {"metrics": {"test": {"mse": float("nan")}}, "x": [float("inf"), 1.0]})
    data = json.loads((tmp_path / "r.json").read_text(), parse_constant=lambda t: pytest.fail(t))
    assert data == {"metrics": {"test": {"mse": None}}, "x": [None, 1.0]}


# --- 7. faults that ended in a traceback -----------------------------------------------------------------------

@pytest.mark.parametrize("where, expected", [
    ("missing/forecast.csv", "does not exist"),
    (".", "is a folder"),
])
def test_output_that_cannot_be_written_is_said_before_the_work(trained, in_tmp, capsys, where, expected):
    for use in (["--predict", "0.5"], ["--evaluate", "cosine"]):
        message = one_line_error(capsys, "--checkpoint", str(trained), *use, "--output", where)
        assert expected in message and "--output" in message


def test_run_dir_that_is_a_file_or_cannot_be_made(in_tmp, capsys):
    (in_tmp / "afile").write_text("mine")
    assert "not a folder" in one_line_error(capsys, *SMALL, "--run-dir", "afile")
    assert "cannot create the run folder" in one_line_error(capsys, *SMALL, "--run-dir", "afile/run")
    assert "cannot create the run folder" in one_line_error(capsys, *SMALL, "--run-dir", "/proc/run")
    assert (in_tmp / "afile").read_text() == "mine"


def test_a_config_whose_task_is_not_a_name(in_tmp, capsys):
    (in_tmp / "c.yaml").write_text("task: [forecast]\n")
    assert "'task' must be a task name" in one_line_error(capsys, "--config", "c.yaml")


def test_an_edited_model_size_is_one_line_on_resume_and_predict(trained, tmp_path, capsys):
    run = copy_run(trained, tmp_path)
    config = run / "config.yaml"
    config.write_text(config.read_text().replace("hidden: 4", "hidden: 16"))
    for args in (["--resume", str(run), "--max-epochs", "2"], ["--checkpoint", str(run), "--predict", "0.5"]):
        assert "do not fit the settings" in one_line_error(capsys, *args)


@pytest.mark.parametrize("content", ["tensor", "no_state_dict", "no_data_state", "other_task", "truncated"])
def test_checkpoints_that_are_not_this_runs(trained, tmp_path, capsys, content):
    import torch

    run = copy_run(trained, tmp_path)
    best = run / "checkpoints" / "best.ckpt"
    ckpt = torch.load(best, weights_only=True)
    if content == "tensor":
        torch.save(torch.zeros(3), best)
    elif content == "no_state_dict":
        torch.save({k: v for k, v in ckpt.items() if k != "state_dict"}, best)
    elif content == "no_data_state":
        torch.save({**ckpt, "rnn_suite": {**ckpt["rnn_suite"], "data_state": None}}, best)
    elif content == "other_task":
        torch.save({**ckpt, "state_dict": {"encoder.weight": torch.zeros(2, 2)}}, best)
    else:
        best.write_bytes(best.read_bytes()[: best.stat().st_size // 2])
    message = one_line_error(capsys, "--checkpoint", str(run), "--predict", "0.5")
    assert "weights_only" not in message and str(best) in message
    assert any(s in message for s in ("not a checkpoint this product wrote", "do not fit", "no forecast data state"))


def test_a_truncated_last_checkpoint_on_resume(trained, tmp_path, capsys):
    run = copy_run(trained, tmp_path)
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:100])
    message = one_line_error(capsys, "--resume", str(run), "--max-epochs", "2")
    assert message == f"{last}: not a checkpoint this product wrote, or damaged"


# --- 8. a copied run is a run of its own -------------------------------------------------------------------

def test_a_copied_run_resumes_and_predicts_from_its_own_checkpoints(trained, tmp_path, capsys):
    import shutil

    original = Path(shutil.copytree(trained, tmp_path / "a"))
    results = read_results(original)
    assert results["best_checkpoint"] == "checkpoints/best.ckpt"
    copy = Path(shutil.copytree(original, tmp_path / "b"))
    shutil.rmtree(original)
    assert main(["--resume", str(copy), "--max-epochs", "2", "--lr", "1e-9"]) == 0, capsys.readouterr().err
    # epoch 2 learnt nothing, so the best checkpoint is still epoch 1's: the copy's file, not the original's
    assert read_results(copy)["best_checkpoint"] == "checkpoints/best.ckpt"
    assert (copy / "checkpoints" / "best.ckpt").exists()
    # a run written before paths were relative names its original's checkpoint: the copy uses its own
    old = read_results(copy)
    old["best_checkpoint"] = str(tmp_path / "gone" / "checkpoints" / "best.ckpt")
    (copy / "results.json").write_text(json.dumps(old))
    assert main(["--checkpoint", str(copy), "--predict", WINDOW]) == 0, capsys.readouterr().err


# --- 10. smaller ones --------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra, expected", [
    (["--resume", "{run}", "--run-dir", "elsewhere"], "--resume cannot be combined with --run-dir"),
    (["--checkpoint", "{run}", "--resume", "{run}", "--predict", "0.5"], "--resume cannot be combined with --checkpoint"),
    (["--checkpoint", "{run}", "--predict", "0.5", "--preset", "seed"], "--checkpoint cannot be combined with --preset"),
    ([*TINY, "--output", "x.csv"], "--output needs --predict"),
])
def test_conflicting_flags_are_refused(trained, in_tmp, capsys, extra, expected):
    args = [a.replace("{run}", str(trained)) for a in extra]
    assert one_line_error(capsys, *args).startswith(expected)


def test_a_closed_event_reader_does_not_end_training(tmp_path):
    run_dir = tmp_path / "run"
    shell = (f"{sys.executable} {REPO / 'main.py'} {' '.join(SMALL)} --max-epochs 2 --events stdout "
             f"--run-dir {run_dir} | head -2")
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {shell}"], cwd=tmp_path, env=cli_env(),
                          capture_output=True, text=True, timeout=300)
    assert len(done.stdout.splitlines()) == 2
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert read_results(run_dir)["status"] == "finished" and read_results(run_dir)["epochs_completed"] == 2

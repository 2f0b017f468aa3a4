"""Task-specific faults (issue "Reliability", items 6, 7 and 10): data a task cannot read, values it
cannot compute with, and requests that would run for minutes end in one ``error:`` line, exit code 2.

Tests run as root here, and root reads a file or lists a folder whatever its mode. Where a test needs
the system to refuse, the ``refuse`` fixture makes it refuse the one path (``os.scandir`` and
``os.listdir`` for a folder, ``open`` for a file, as the kernel would after ``chmod 000``); as another
user it is a real ``chmod 000``.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import one_line_error

from suite.cli import main

REPO = Path(__file__).resolve().parents[1]


def script_error(*command: str, env: dict | None = None) -> str:
    """A script run as a user would: exit code 2 and one ``error:`` line on stderr."""
    done = subprocess.run([sys.executable, *command], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})})
    err = done.stderr.strip()
    assert done.returncode == 2, err
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err[len("error: "):]


@pytest.fixture
def refuse(monkeypatch, request):
    """``refuse(path)``: listing (a folder) or opening (a file) ``path`` fails with EACCES, as for a user
    without permission; only that path, so everything else reads as usual."""
    def deny(target: Path) -> None:
        if os.geteuid() != 0:  # the real thing
            mode = target.stat().st_mode
            target.chmod(0)
            request.addfinalizer(lambda: target.chmod(mode))
            return
        denied = os.path.abspath(target)

        def guard(real):
            def call(path, *args, **kwargs):
                if isinstance(path, (str, os.PathLike)) and os.path.abspath(os.fspath(path)) == denied:
                    raise PermissionError(13, "Permission denied", os.fspath(path))
                return real(path, *args, **kwargs)
            return call

        if target.is_dir():
            monkeypatch.setattr(os, "scandir", guard(os.scandir))
            monkeypatch.setattr(os, "listdir", guard(os.listdir))
        else:
            opener = guard(builtins.open)
            monkeypatch.setattr(builtins, "open", opener)
            monkeypatch.setattr(io, "open", opener)
    return deny


def piano_rolls(path: Path, train: int = 4) -> Path:
    piece = [[60, 64], [62], [64, 67], [65]] * 3
    path.write_text(json.dumps({"train": [piece] * train, "valid": [piece[:6]] * 2, "test": [piece[:6]] * 2}))
    return path


# --- music --------------------------------------------------------------------------------------------

def test_deeply_nested_music_json_is_one_line(in_tmp, capsys):
    (in_tmp / "deep.json").write_text('{"train": ' + "[" * 100_000 + "]" * 100_000 + "}")
    message = one_line_error(capsys, "--task", "music", "--data", "deep.json")
    assert "deep.json: not a piano roll: lists nested too deeply" in message


def test_deeply_nested_music_json_in_the_benchmark_is_one_line(tmp_path):
    (tmp_path / "deep.json").write_text('{"train": ' + "[" * 100_000 + "]" * 100_000 + "}")
    message = script_error(str(REPO / "bench" / "music.py"), "--data-root", str(tmp_path), "--data", "deep.json",
                           "--skip-nade", env={"RNN_SUITE_CACHE": str(tmp_path / "cache")})
    assert "nested too deeply" in message


@pytest.fixture(scope="module")
def music_run(tmp_path_factory):
    """A tiny trained music run (seconds), for --checkpoint --predict."""
    folder = tmp_path_factory.mktemp("music-run")
    data = piano_rolls(folder / "rolls.json")
    code = main(["--task", "music", "--data", str(data), "--hidden", "4", "--nade-hidden", "4", "--max-epochs", "1",
                 "--length", "4", "--threads", "1", "--run-dir", str(folder / "run")])
    assert code == 0
    return folder / "run"


def test_a_long_primer_with_a_typo_is_neither_a_file_nor_notes(music_run, in_tmp, capsys):
    primer = " ".join(["C4+E4+G4"] * 40 + ["C4+X4"])  # over 255 bytes: no file can have this name
    message = one_line_error(capsys, "--checkpoint", str(music_run), "--predict", primer)
    assert "the primer" in message and "is neither a file nor valid notes" in message
    assert "step 41: 'X4'" in message and len(message) < 300


def test_a_long_valid_primer_is_read_as_notes(music_run, in_tmp, capsys):
    primer = " ".join(["C4+E4+G4"] * 40)
    assert main(["--checkpoint", str(music_run), "--predict", primer, "--length", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["primer_steps"] == 40 and len(out["steps"]) == 42


@pytest.mark.parametrize("flag, value, expected", [
    ("--temperature", "nan", "finite"),
    ("--pieces", "99999999999", "at most"),
    ("--length", "99999999999", "at most"),
])
def test_generation_flags_on_a_trained_run_are_checked(music_run, in_tmp, capsys, flag, value, expected):
    message = one_line_error(capsys, "--checkpoint", str(music_run), "--predict", "C4", flag, value)
    assert flag in message and expected in message


@pytest.mark.parametrize("flag, value, expected", [
    ("--length", "10001", "at most 10000"),          # ran for minutes
    ("--pieces", "101", "at most 100"),
    ("--temperature", "0.001", "at least 0.01"),     # logits / 0.001 overflow: NaN probabilities
    ("--temperature", "1000", "at most 100"),
    ("--bpm", "3", "at least 4"),                    # MIDI's 3-byte tempo cannot hold it: OverflowError
    ("--nade-hidden", "1000000", "at most 8192"),
])
def test_music_generation_options_have_sane_bounds(in_tmp, capsys, flag, value, expected):
    message = one_line_error(capsys, "--task", "music", flag, value, "--print-config")
    assert flag in message and expected in message


def test_generation_bounds_are_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["--task", "music", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps the help
    assert "(at most 10,000: about half a minute of sampling on a CPU)" in text
    assert "at most 100 (default: 1)" in text and "0.01 to 100" in text


@pytest.fixture(scope="module")
def tiny_model():
    import torch

    from suite.config import build_run_config
    from suite.registry import get_task

    task = get_task("music")
    cfg = build_run_config(task, explicit={"backbone.hidden": 8, "options.nade_hidden": 4})
    torch.manual_seed(0)
    return task, task.model(cfg, task.datamodule(cfg))


@pytest.mark.parametrize("request_text", [
    '{"temperature": NaN}', '{"temperature": Infinity}', '{"temperature": 1e-9}',
    '{"steps": 1000000}', '{"pieces": 1000}', '{"seed": 1e400}',
])
def test_a_gui_request_out_of_bounds_is_refused_by_the_task(tiny_model, request_text):
    from suite.errors import UserError

    task, model = tiny_model
    with pytest.raises(UserError, match="must be"):
        task.predict(model, request_text)


def test_generate_refuses_a_nan_temperature(tiny_model):
    from suite.errors import ConfigError
    from tasks.music.generate import generate, parse_primer

    _, model = tiny_model
    with pytest.raises(ConfigError, match="temperature"):
        generate(model, parse_primer("-", 1.0), 4, float("nan"))


def test_a_deeply_nested_gui_request_is_one_error(tiny_model):
    from suite.errors import UserError

    task, model = tiny_model
    with pytest.raises(UserError, match="nested too deeply"):
        task.predict(model, '{"primer": ' + "[" * 100_000)


def test_an_unreadable_music_folder_is_not_called_empty(in_tmp, capsys, refuse):
    folder = in_tmp / "tunes"
    folder.mkdir()
    (folder / "a.mid").write_bytes(b"MThd")
    refuse(folder)
    message = one_line_error(capsys, "--task", "music", "--data", "tunes")
    assert "tunes: the folder cannot be read (permission denied)" in message


def test_an_unreadable_subfolder_of_music_is_named(in_tmp, capsys, refuse):
    (in_tmp / "tunes" / "jigs").mkdir(parents=True)
    (in_tmp / "tunes" / "jigs" / "a.mid").write_bytes(b"MThd")
    refuse(in_tmp / "tunes" / "jigs")
    message = one_line_error(capsys, "--task", "music", "--data", "tunes")
    assert "jigs: a folder under" in message and "cannot be read" in message


def test_an_empty_music_folder_still_holds_no_files(in_tmp, capsys):
    (in_tmp / "empty").mkdir()
    assert "the folder holds no files" in one_line_error(capsys, "--task", "music", "--data", "empty")


# --- sentiment and tagging: paths that are not readable files -------------------------------------------

LOOP_CASES = [
    ("sentiment", "--data"), ("tagging", "--data"), ("tagging", "--train"), ("music", "--data"),
]


@pytest.mark.parametrize("task, flag", LOOP_CASES)
def test_a_symlink_loop_is_called_a_loop(in_tmp, capsys, task, flag):
    os.symlink("loop", in_tmp / "loop")
    message = one_line_error(capsys, "--task", task, flag, str(in_tmp / "loop"))
    assert "is a symbolic link loop" in message and "not found" not in message


@pytest.mark.parametrize("task, flag", LOOP_CASES)
def test_a_broken_symlink_says_where_it_points(in_tmp, capsys, task, flag):
    os.symlink("nowhere.txt", in_tmp / "broken")
    message = one_line_error(capsys, "--task", task, flag, str(in_tmp / "broken"))
    assert "broken: is a broken symbolic link (to nowhere.txt" in message


def class_folder(root: Path) -> Path:
    folder = root / "reviews"
    folder.mkdir()
    (folder / "reviews.pos").write_text("a fine film\na moving story\n" * 5)
    (folder / "reviews.neg").write_text("a dull film\na tedious plot\n" * 5)
    return folder


def test_an_unreadable_class_file_is_one_line(in_tmp, capsys, refuse):
    folder = class_folder(in_tmp)
    refuse(folder / "reviews.neg")
    message = one_line_error(capsys, "--task", "sentiment", "--data", str(folder), "--max-epochs", "1")
    assert "reviews.neg: cannot be read (permission denied)" in message


def test_a_broken_class_file_link_is_one_line(in_tmp, capsys):
    folder = class_folder(in_tmp)
    (folder / "reviews.neg").unlink()
    os.symlink("gone.neg", folder / "reviews.neg")
    message = one_line_error(capsys, "--task", "sentiment", "--data", str(folder))
    assert "reviews.neg: is a broken symbolic link" in message


@pytest.mark.parametrize("task", ["sentiment", "tagging"])
def test_an_unreadable_data_folder_is_one_line(in_tmp, capsys, refuse, task):
    folder = class_folder(in_tmp)
    refuse(folder)
    message = one_line_error(capsys, "--task", task, "--data", str(folder))
    assert "reviews: the folder cannot be read (permission denied)" in message


def test_an_unreadable_tagging_file_is_one_line(in_tmp, capsys, refuse):
    train = in_tmp / "train.conll"
    train.write_text("Paris B-LOC\nis O\n\n")
    refuse(train)
    message = one_line_error(capsys, "--task", "tagging", "--train", str(train))
    assert "train.conll: cannot be read (permission denied)" in message


def test_a_broken_split_link_in_a_tagging_folder_is_one_line(in_tmp, capsys):
    (in_tmp / "corpus").mkdir()
    os.symlink("elsewhere/train.conll", in_tmp / "corpus" / "train.conll")
    message = one_line_error(capsys, "--task", "tagging", "--data", str(in_tmp / "corpus"))
    assert "train.conll: is a broken symbolic link (to elsewhere/train.conll" in message


@pytest.mark.realdata
def test_rt_polarity_with_an_unreadable_half_is_one_line(data_root, in_tmp, capsys, refuse):
    folder = in_tmp / "rt"
    folder.mkdir()
    os.symlink(data_root / "sentiment/rt_polarity/rt-polarity.pos", folder / "rt-polarity.pos")
    (folder / "rt-polarity.neg").write_bytes((data_root / "sentiment/rt_polarity/rt-polarity.neg").read_bytes())
    refuse(folder / "rt-polarity.neg")
    message = one_line_error(capsys, "--task", "sentiment", "--data", str(folder), "--encoding", "latin-1")
    assert "rt-polarity.neg: cannot be read (permission denied)" in message


# --- forecast --------------------------------------------------------------------------------------------

def series_file(path: Path, cell: int, value: str, rows: int = 60) -> Path:
    values = [str(i % 7) for i in range(rows)]
    values[cell] = value
    path.write_text("v\n" + "\n".join(values) + "\n")
    return path


FORECAST = ["--task", "forecast", "--lookback", "4", "--horizon", "2", "--segment", "1", "--max-epochs", "1"]


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity"])
@pytest.mark.parametrize("missing", ["reject", "ffill"])
def test_an_infinite_value_is_not_called_missing(in_tmp, capsys, value, missing):
    series_file(in_tmp / "s.csv", 5, value)
    message = one_line_error(capsys, *FORECAST, "--data", "s.csv", "--missing", missing)
    assert "s.csv, line 7: column 'v': infinite value" in message and "(row 6)" in message
    assert "missing" not in message


def test_a_value_too_large_to_scale_is_named(in_tmp, capsys):
    series_file(in_tmp / "s.csv", 7, "1e308")
    message = one_line_error(capsys, *FORECAST, "--data", "s.csv")
    assert "s.csv, line 9: column 'v': value 1e+308 is too large to scale (row 8)" in message


def test_a_test_value_far_beyond_the_training_range_is_named(in_tmp, capsys):
    series_file(in_tmp / "s.csv", 50, "1e40")  # in the test split: the scaler was fit without it
    message = one_line_error(capsys, *FORECAST, "--data", "s.csv")
    assert "s.csv, line 52: column 'v': value 1e+40 is too large for the model (row 51)" in message


def test_large_but_scalable_values_train_to_finite_metrics(in_tmp, capsys):
    import math

    (in_tmp / "s.csv").write_text("v\n" + "\n".join(str((i % 7) * 1e30) for i in range(60)) + "\n")
    assert main([*FORECAST, "--data", "s.csv", "--hidden", "4", "--run-dir", "run", "--no-plot"]) == 0
    results = json.loads((in_tmp / "run" / "results.json").read_text())
    assert all(math.isfinite(v) for v in results["metrics"]["test"].values())


def test_predict_steps_are_bounded(in_tmp, capsys):
    message = one_line_error(capsys, "--task", "forecast", "--predict-steps", "100000000", "--print-config")
    assert "--predict-steps" in message and "at most 10000" in message


# --- translation, sentiment, tagging: bounds of their options -------------------------------------------------

@pytest.mark.parametrize("task, flag, value, expected", [
    ("translation", "--max-decode-ratio", "inf", "finite"),
    ("translation", "--max-decode-ratio", "11", "at most 10"),
    ("translation", "--length-penalty", "nan", "finite"),
    ("translation", "--length-penalty", "6", "at most 5"),
    ("translation", "--beam-size", "101", "at most 100"),
    ("translation", "--embedding", "100000", "at most 8192"),
    ("translation", "--decoder-hidden", "100000", "at most 8192"),
    ("sentiment", "--embedding-dim", "100000", "at most 8192"),
    ("tagging", "--ensemble", "17", "at most 16"),
    ("tagging", "--char-kernel", "1000", "at most 31"),
    ("tagging", "--word-dim", "100000", "at most 8192"),
    ("tagging", "--char-features", "100000", "at most 8192"),
])
def test_task_options_have_sane_bounds(in_tmp, capsys, task, flag, value, expected):
    message = one_line_error(capsys, "--task", task, flag, value, "--print-config")
    assert flag in message and expected in message


# --- tools ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("flag, value", [
    ("--window", "99999999999999999999"), ("--window", "100000000"), ("--window", "0"), ("--dim", "5000"),
    ("--min-count", "99999999999999999999"), ("--max-words", "1"), ("--seed", "-1"), ("--window", "two"),
])
def test_vectors_command_bounds_its_integers(tmp_path, capsys, flag, value):
    from suite.data.vectors import main as vectors_main
    from suite.errors import exit_on_user_error

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat\n" * 50)
    code = exit_on_user_error(lambda: vectors_main([str(corpus), "--out", str(tmp_path / "v.txt"), flag, value]))
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("error: argument " + flag) and "\n" not in err, err


def test_seed_benchmark_with_bad_seeds_is_one_line():
    message = script_error(str(REPO / "bench" / "seed_cosine.py"), "--seeds", "a,b")
    assert "--seeds" in message and "'a,b'" in message

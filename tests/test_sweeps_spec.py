"""Sweep specifications: parsing with each setting's own type, and every bad one refused in one line (exit 2)
before any trial starts and before any folder is made. No trial runs here."""

from __future__ import annotations

import os

import pytest

from helpers import one_line_error
from suite.errors import UserError
from suite.registry import get_task
from suite.sweeps import GridAxis, SpaceParam, SweepSpec, parse_spec, validate_spec

TINY = ["--task", "forecast", "--hidden", "4", "--max-epochs", "2", "--lookback", "8", "--horizon", "2",
        "--segment", "4", "--no-plot", "--threads", "1"]


@pytest.fixture
def forecast():
    return get_task("forecast")


def test_grid_values_are_read_with_each_settings_type(forecast):
    spec = parse_spec(forecast, sweep=["lr=1e-3,0.01", "batch-size=16,32", "cell=rnn,gru", "train.patience=0,2",
                                       "channel_independent=true,no", "split=0.7,0.1,0.2;0.6,0.2,0.2"])
    keys = {a.key: a.values for a in spec.grid}
    assert keys["train.lr"] == [0.001, 0.01] and all(isinstance(v, float) for v in keys["train.lr"])
    assert keys["train.batch_size"] == [16, 32] and all(type(v) is int for v in keys["train.batch_size"])
    assert keys["backbone.cell"] == ["rnn", "gru"]
    assert keys["train.patience"] == [0, 2]
    assert keys["options.channel_independent"] == [True, False]
    assert keys["options.split"] == ["0.7,0.1,0.2", "0.6,0.2,0.2"]  # ';' separates values holding commas
    assert [a.name for a in spec.grid] == ["lr", "batch-size", "cell", "patience", "channel-independent", "split"]
    assert len(spec.points()) == 2 * 2 * 2 * 2 * 2 * 2
    assert spec.points()[0] == {"train.lr": 0.001, "train.batch_size": 16, "backbone.cell": "rnn",
                                "train.patience": 0, "options.channel_independent": True,
                                "options.split": "0.7,0.1,0.2"}


def test_space_ranges_and_choices(forecast):
    spec = parse_spec(forecast, search=5, space=["lr=1e-4:1e-1:log", "hidden=8:64", "dropout=0:0.5",
                                                 "cell=rnn,lstm,gru"])
    lr, hidden, dropout, cell = spec.space
    assert (lr.kind, lr.low, lr.high, lr.log) == ("float", 1e-4, 0.1, True)
    assert (hidden.kind, hidden.low, hidden.high, hidden.log) == ("int", 8, 64, False)  # ints sample ints
    assert type(hidden.low) is int
    assert (dropout.kind, dropout.low, dropout.high) == ("float", 0.0, 0.5)
    assert (cell.kind, cell.choices) == ("categorical", ["rnn", "lstm", "gru"])
    assert spec.mode == "search" and spec.names == ["lr", "hidden", "dropout", "cell"]


def test_a_spec_built_in_code_is_checked_the_same_way(forecast):
    spec = validate_spec(forecast, SweepSpec(grid=[GridAxis("max_epochs", ["2", 3])], seeds=2))
    assert spec.grid[0].key == "train.max_epochs" and spec.grid[0].values == [2, 3]
    with pytest.raises(UserError, match="lrr"):
        validate_spec(forecast, SweepSpec(search=2, space=[SpaceParam("lrr", 1e-3, 1e-2)]))


def test_the_identity_ignores_how_it_is_run(forecast):
    a = parse_spec(forecast, sweep=["cell=rnn,gru"], seeds=2, parallel=1)
    b = parse_spec(forecast, sweep=["cell=rnn,gru"], seeds=2, parallel=2, sweep_dir="elsewhere")
    c = parse_spec(forecast, sweep=["cell=rnn,gru"], seeds=3)
    assert a.identity("forecast", {}) == b.identity("forecast", {}) != c.identity("forecast", {})


BAD = {
    "unknown key": (["--sweep", "lrr=0.1,0.2"], "unknown setting 'lrr' for task 'forecast'; nearest: lr"),
    "unknown key, far": (["--sweep", "zzzz=1,2"], "unknown setting 'zzzz'"),
    "wrong type": (["--sweep", "batch-size=16,big"], "--sweep batch-size: expected an int, got 'big'"),
    "float for an int": (["--sweep", "hidden=4,4.5"], "expected an int"),
    "bad choice": (["--sweep", "cell=rnn,transformer"], "expected one of rnn, lstm, gru, got 'transformer'"),
    "out of bounds": (["--sweep", "lr=0,0.1"], "--sweep lr: must be greater than 0.0, got 0.0"),
    "empty list": (["--sweep", "lr="], "no values"),
    "no =": (["--sweep", "lr"], "expected KEY=VALUES"),
    "repeated value": (["--sweep", "lr=0.1,0.1"], "given twice"),
    "key twice": (["--sweep", "lr=0.1", "--sweep", "train.lr=0.2"], "given twice"),
    "low >= high": (["--search", "3", "--space", "lr=0.1:0.01"], "LOW must be below HIGH"),
    "low == high": (["--search", "3", "--space", "hidden=8:8"], "LOW must be below HIGH"),
    "log with low <= 0": (["--search", "3", "--space", "dropout=0:0.5:log"], "a log range needs LOW above 0"),
    "bad range suffix": (["--search", "3", "--space", "lr=0.1:0.2:cubic"], "expected KEY=LOW:HIGH"),
    "range of words": (["--search", "3", "--space", "cell=a:b"], "a range LOW:HIGH needs a number setting"),
    "parallel 0": (["--sweep", "cell=rnn,gru", "--parallel", "0"], "--parallel 0: must be a whole number of at least 1"),
    "parallel beyond the cores": (["--sweep", "cell=rnn,gru", "--parallel", str((os.cpu_count() or 1) + 1)],
                                  "CPU core"),
    "seeds 0": (["--seeds", "0"], "--seeds 0: must be a whole number of at least 1"),
    "seeds not a number": (["--seeds", "two"], "invalid int value: 'two'"),
    "search 0": (["--search", "0", "--space", "lr=0.001:0.1"], "needs at least 1 trial"),
    "search without space": (["--search", "4"], "--search needs at least one --space"),
    "space without search": (["--space", "lr=0.001:0.1"], "--space needs --search N"),
    "sweep with search": (["--sweep", "cell=rnn,gru", "--search", "3", "--space", "lr=0.001:0.1"],
                          "--sweep and --search are two kinds of sweep"),
    "equal params without a cell": (["--sweep", "lr=0.001,0.01", "--equal-params"], "it needs a swept cell"),
    "equal params with a searched hidden": (["--search", "2", "--space", "cell=rnn,gru", "--space", "hidden=4:8",
                                             "--equal-params"], "cannot also be searched"),
    "swept and set": (["--sweep", "max-epochs=1,2"], "--max-epochs is set and also varied by the sweep"),
    "with --run-dir": (["--sweep", "cell=rnn,gru", "--run-dir", "x"], "a sweep cannot be combined with --run-dir"),
    "with --print-config": (["--seeds", "2", "--print-config"], "a sweep cannot be combined with --print-config"),
    "flags without a sweep": (["--parallel", "2"], "--parallel, --sweep-dir belong to a sweep: add --sweep"),
    "storage alone": (["--storage", "sqlite:///x.db"], "--sweep-dir, --storage belong to a sweep"),
    "unreachable storage": (["--sweep", "cell=rnn,gru", "--storage", "sqlite:////no/such/folder/study.db"],
                            "--storage sqlite:////no/such/folder/study.db: the folder /no/such/folder does not exist"),
    "storage not a URL": (["--sweep", "cell=rnn,gru", "--storage", "study.db"], "expected a database URL"),
    "unknown database": (["--sweep", "cell=rnn,gru", "--storage", "nosuchdb://u@localhost/x"], "cannot open it"),
    "journal in a missing folder": (["--sweep", "cell=rnn,gru", "--storage", "journal:/no/such/folder/x.log"],
                                    "does not exist"),
    "bad base setting": (["--sweep", "cell=rnn,gru", "--lr", "-1"], "train.lr (--lr): must be greater than 0.0"),
    "with --resume": (["--resume", "somewhere", "--seeds", "2"], "not a run directory"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_sweep_is_one_line_before_anything_runs(case, in_tmp, capsys):
    args, expected = BAD[case]
    if case == "with --resume":  # a resumed run is refused with a sweep's flags, after it is found
        (in_tmp / "somewhere").mkdir()
        (in_tmp / "somewhere" / "config.yaml").write_text("task: forecast\n")
        expected = "--resume cannot be combined with --seeds"
    message = one_line_error(capsys, *TINY, *args, "--sweep-dir", str(in_tmp / "sweep"))
    assert expected in message, message
    assert not (in_tmp / "sweep").exists() and not (in_tmp / "runs").exists()


def test_a_different_sweep_on_an_existing_folder_is_refused(in_tmp, capsys):
    folder = in_tmp / "sweep"
    folder.mkdir()
    (folder / "sweep.yaml").write_text("spec: {task: forecast, mode: grid, base: {}, grid: [], space: [], "
                                       "seeds: 5, equal_params: false}\n")
    message = one_line_error(capsys, *TINY, "--sweep", "cell=rnn,gru", "--sweep-dir", str(folder))
    assert "holds a different sweep" in message and "repeat its own command" in message
    assert sorted(p.name for p in folder.iterdir()) == ["sweep.yaml"]


def test_a_folder_that_is_not_a_sweep_is_refused(in_tmp, capsys):
    folder = in_tmp / "taken"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n")
    message = one_line_error(capsys, *TINY, "--seeds", "2", "--sweep-dir", str(folder))
    assert "is not a sweep folder" in message
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]

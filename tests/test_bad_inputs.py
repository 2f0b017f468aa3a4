"""Bad input gets one clear line naming the file, row or field, exit code 2, and no run left behind."""

from __future__ import annotations

import os
import string
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import one_line_error, run_cli
from suite.cli import main
from suite.config import build_run_config
from suite.errors import UserError
from suite.registry import get_task


def fails_cleanly(capsys, *args: str) -> str:
    code = main(["--task", "forecast", "--max-epochs", "1", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err[len("error: "):]


CASES = {
    "missing.csv": (None, "missing.csv: file not found"),
    "empty.csv": ("", "empty.csv: file is empty"),
    "header.csv": ("date,a\n", "header.csv: cannot read as CSV: no data rows"),
    "text.csv": ("date,a,b\n" + "".join(f"2020-01-{d:02d},{d},{'x' if d == 5 else d}\n" for d in range(1, 29)),
                 "text.csv, line 6: column 'b': expected a number, got 'x' (row 5)"),
    "gap.csv": ("date,a\n" + "".join(f"2020-01-{d:02d},{'' if d == 7 else d}\n" for d in range(1, 29)),
                "gap.csv, line 8: column 'a': missing value (row 7); fill it, or pass --missing"),
    "order.csv": ("date,a\n" + "".join(f"2020-01-{d:02d},{d}\n" for d in (1, 2, 4, 3, 5, 6)),
                  "order.csv, line 5: time column is not in increasing order (row 4: '2020-01-03')"),
    "ragged.csv": ("a,b\n1,2\n3,4,5\n6,7\n", "ragged.csv, line 3: cannot read as CSV: Error tokenizing data. "
                                               "C error: Expected 2 fields in line 3, saw 3"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_files_name_file_and_row(name, in_tmp, capsys):
    content, expected = CASES[name]
    if content is not None:
        (in_tmp / name).write_text(content)
    message = fails_cleanly(capsys, "--data", name, "--lookback", "3", "--horizon", "2", "--segment", "1")
    assert expected in message
    assert not (in_tmp / "runs").exists()  # no run directory was created


def test_unknown_column_lists_the_columns(in_tmp, capsys):
    (in_tmp / "s.csv").write_text("date,load,temp\n" + "".join(f"2020-01-{d:02d},{d},{d}\n" for d in range(1, 29)))
    message = fails_cleanly(capsys, "--data", "s.csv", "--target", "price", "--lookback", "3", "--horizon", "1",
                            "--segment", "1")
    assert message.endswith("s.csv: unknown target column 'price'; the columns are: date, load, temp")


def test_series_shorter_than_lookback_plus_horizon(in_tmp, capsys):
    (in_tmp / "short.csv").write_text("v\n" + "\n".join(str(i) for i in range(40)) + "\n")
    message = fails_cleanly(capsys, "--data", "short.csv", "--lookback", "30", "--horizon", "10", "--segment", "5")
    assert "short.csv: series too short: 28 training rows, but lookback 30 + horizon 10 need at least 40" in message


def test_missing_values_can_be_filled(in_tmp, capsys):
    (in_tmp / "gap.csv").write_text("v\n" + "\n".join("" if i == 20 else str(i % 7) for i in range(120)) + "\n")
    code = main(["--task", "forecast", "--data", "gap.csv", "--missing", "interpolate", "--lookback", "8",
                 "--horizon", "4", "--segment", "4", "--hidden", "8", "--max-epochs", "1", "--run-dir", "r"])
    assert code == 0, capsys.readouterr().err
    assert (in_tmp / "r" / "results.json").exists()


@pytest.mark.parametrize("args, expected", [
    (["--lr", "-1"], "train.lr (--lr): must be greater than 0.0, got -1.0"),
    (["--batch-size", "0"], "train.batch_size (--batch-size): must be at least 1, got 0"),
    (["--cell", "foo"], "backbone.cell (--cell): expected one of rnn, lstm, gru, got 'foo'"),
    (["--dropout", "1.5"], "backbone.dropout (--dropout): must be less than 1.0, got 1.5"),
    (["--hidden", "ten"], "backbone.hidden: expected an int, got 'ten'"),
    (["--devices", "two"], "train.devices (--devices): expected a count, a list like 0,1, or auto; got 'two'"),
    (["--split", "0.8,0.3"], "options.split (--split): fractions add up to more than 1"),
    (["--preset", "nope"], "preset (--preset): task 'forecast' has no preset 'nope'; presets: seed"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_invalid_settings(args, expected, in_tmp, capsys):
    assert expected in fails_cleanly(capsys, *args)
    assert not (in_tmp / "runs").exists()


def test_unknown_task_and_bad_config_file(in_tmp, capsys):
    assert main(["--task", "nosuch"]) == 2
    assert "unknown task 'nosuch'; available tasks: forecast" in capsys.readouterr().err
    (in_tmp / "bad.yaml").write_text("task: forecast\ntrain:\n  lr: [1\n")
    assert main(["--config", "bad.yaml"]) == 2
    assert "bad.yaml, line" in capsys.readouterr().err
    (in_tmp / "typo.yaml").write_text("task: forecast\ntrain:\n  learning_rate: 0.1\n")
    assert main(["--config", "typo.yaml"]) == 2
    assert "typo.yaml: unknown setting 'train.learning_rate'" in capsys.readouterr().err


def test_real_process_exit_code_and_single_line(tmp_path):
    done = run_cli("--task", "forecast", "--data", "nowhere.csv", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: nowhere.csv: file not found"
    assert done.stdout == ""


@pytest.mark.parametrize("args", [("--task", "sentiment", "--data", "sentiment/rt_polarity"),
                                  ("--task", "translation"), ("--task", "tagging", "--preset", "wnut17")],
                         ids=["sentiment", "translation", "tagging"])
@pytest.mark.parametrize("offline_mode", [True, False], ids=["HF_HUB_OFFLINE=1", "unreachable"])
def test_a_relative_path_without_the_data_root_names_the_data_root(args, offline_mode, in_tmp, capsys,
                                                                     monkeypatch):
    """A guide's command run without the data root: the remedy is the path or --data-root. HF_HUB_OFFLINE=1
    serves only a Hub dataset cached earlier: it is mentioned where it is not set, never as the fix."""
    monkeypatch.delenv("RNN_SUITE_DATA", raising=False)
    if not offline_mode:  # an offline machine without the libraries' offline mode: the probe fails
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setattr("suite.data.sources.hub_reachable", lambda timeout=3.0: False)
    message = one_line_error(capsys, *args)
    looked_up = ("not a local file or folder (relative paths are looked up in the working directory, then under "
                 "--data-root or $RNN_SUITE_DATA), ")
    assert looked_up in message
    assert "give its path, or the folder that holds it with --data-root" in message
    if offline_mode:
        assert "nor a Hugging Face dataset cached on this machine (HF_HUB_OFFLINE=1)" in message
        assert "loads a Hub dataset cached earlier" not in message
    else:
        assert "and the Hugging Face Hub is not reachable" in message
        assert message.endswith("(HF_HUB_OFFLINE=1 loads a Hub dataset cached earlier)")


def test_events_stdout_reports_the_error_as_json(in_tmp, capsys):
    assert main(["--task", "forecast", "--lr", "0", "--events", "stdout"]) == 2
    out = capsys.readouterr().out
    assert '"event": "error"' in out and "train.lr (--lr)" in out


# --- generated CSVs: any file either loads into valid windows or fails with a one-line DataError ---

cell = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: f"{f:.4g}"),
    st.sampled_from(["", "NaN", "x", "1e400", "-", " 3 ", "2020-01-01"]),
)
header = st.lists(st.text(string.ascii_letters, min_size=1, max_size=5), min_size=1, max_size=4, unique=True)


@st.composite
def csv_text(draw):
    names = draw(header)
    rows = draw(st.lists(st.lists(cell, min_size=len(names), max_size=len(names)), min_size=0, max_size=40))
    if draw(st.booleans()) and rows:  # sometimes a ragged row
        rows[draw(st.integers(0, len(rows) - 1))].append("9")
    return ",".join(names) + "\n" + "".join(",".join(r) + "\n" for r in rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=csv_text(), missing=st.sampled_from(["reject", "ffill", "zero"]))
def test_generated_csvs_load_or_fail_cleanly(text, missing, tmp_path):
    path = Path(tmp_path) / "gen.csv"
    path.write_text(text)
    task = get_task("forecast")
    cfg = build_run_config(task, explicit={"options.data": str(path), "options.lookback": 3,
                                           "options.horizon": 2, "options.segment": 1,
                                           "options.missing": missing, "options.split": "0.6,0.2,0.2"})
    dm = task.datamodule(cfg)
    try:
        dm.setup("fit")
    except UserError as exc:
        message = str(exc)
        assert "\n" not in message and message
        assert "gen.csv" in message or message.startswith("options.")
        return
    # loaded: every window is finite and the scaler came from the training rows
    x, y, _ = dm.train_set.__getitems__(list(range(len(dm.train_set))))
    assert x.isfinite().all() and y.isfinite().all()
    assert x.shape[1:] == (3, len(dm.state.columns))


@pytest.mark.parametrize("script, args", [
    ("sentiment.py", ["--data", "no/such/reviews.csv"]),
    ("tagging.py", ["--data-root", "no/such/root"]),
])
def test_benchmarks_report_bad_data_in_one_line(script, args):
    """A benchmark pointed at missing data says so in one line (exit code 2), like the CLI."""
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, str(repo / "bench" / script), *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "no/such" in last and "error" in last

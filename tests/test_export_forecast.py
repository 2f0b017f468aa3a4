"""--export for the forecast task: the exported predict.py, run where torch cannot be imported, answers as
``--checkpoint RUN --predict`` does (values within 1e-4, the same CSV and JSON files), for the seed's
sequence model with recursive roll-out, a multivariate segment model with covariates and a time column,
and a synthetic sequence problem; and the TorchScript export the same."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from export_helpers import (assert_close_csv, assert_close_json_text, assert_close_outputs, export_in_process,
                            predict_exported, predict_in_process, run_without_torch)

REPO = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-4
WINDOW = " ".join(f"{(i % 37) / 40:.3f}" for i in range(60))


def compare(capsys, run, export_dir, raw, *extra, tmp_path, allow_torch=False, files=(".json",)):
    """predict.py against --predict: stdout, and the --output file (JSON; CSV too where asked)."""
    expected = predict_in_process(capsys, run, raw, *extra)
    got = predict_exported(export_dir, raw, *extra, allow_torch=allow_torch).stdout
    assert got.splitlines()[0] == expected.splitlines()[0]  # the same header: columns, time stamps or not
    expected_csv, got_csv = tmp_path / "expected.csv", tmp_path / "got.csv"
    expected_csv.write_text(expected)
    got_csv.write_text(got)
    assert_close_csv(expected_csv, got_csv, atol=TOLERANCE)
    for suffix in files:
        want, have = tmp_path / f"want{suffix}", tmp_path / f"have{suffix}"
        predict_in_process(capsys, run, raw, *extra, output=want)
        printed = predict_exported(export_dir, raw, *extra, output=have, allow_torch=allow_torch).stdout
        assert printed.strip() == f"wrote {have}"
        if suffix == ".csv":
            assert_close_csv(want, have, atol=TOLERANCE)
        else:
            assert_close_json_text(want.read_text(), have.read_text(), atol=TOLERANCE)
    return json.loads((tmp_path / "have.json").read_text()) if ".json" in files else None


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    """The seed's sequence model (a SimpleRNN over a window, horizon 1), on a shorter window."""
    from suite import api

    folder = tmp_path_factory.mktemp("fc-seed")
    api.train("forecast", preset="seed", run_dir=folder / "run", lookback=60, hidden=4, max_epochs=1,
              split="300,100,0", threads=1, plot=False)
    return folder / "run"


@pytest.fixture(scope="module")
def ett_run(tmp_path_factory, data_root):
    """A segment model over two targets and one covariate of ETTh1, with its hourly time column."""
    from suite import api

    folder = tmp_path_factory.mktemp("fc-ett")
    lines = (data_root / "forecast" / "ett" / "ETTh1.csv").read_text().splitlines()[:501]
    (folder / "ett.csv").write_text("\n".join(lines) + "\n")
    api.train("forecast", data=str(folder / "ett.csv"), target="OT,HUFL", covariates="HULL", lookback=48,
              horizon=12, segment=12, hidden=8, max_epochs=1, split="300,100,100", threads=1, plot=False,
              run_dir=folder / "run")
    return folder


def test_seed_model_inline_values_and_recursive_roll_out(seed_run, tmp_path, capsys):
    onnx_dir = tmp_path / "onnx"
    export_in_process(capsys, seed_run, "onnx", onnx_dir)
    answer = compare(capsys, seed_run, onnx_dir, "cosine", tmp_path=tmp_path)
    assert answer["steps"] == 1 and answer["origin"] == 3000
    answer = compare(capsys, seed_run, onnx_dir, "cosine@-200", "--predict-steps", "25", tmp_path=tmp_path,
                     files=(".csv", ".json"))
    assert answer["steps"] == 25 and len(answer["actual"]["cos"]) == 25  # 25 runs of the network, fed back
    compare(capsys, seed_run, onnx_dir, WINDOW, "--predict-steps", "3", tmp_path=tmp_path, files=())
    short = run_without_torch([onnx_dir / "predict.py", "0.1 0.2 0.3"])
    assert short.returncode == 2 and short.stderr.strip() == \
        "error: --predict: the model needs the last 60 values, got 3"


@pytest.mark.slow
def test_seed_model_torchscript(seed_run, tmp_path, capsys):
    ts_dir = tmp_path / "ts"
    export_in_process(capsys, seed_run, "torchscript", ts_dir)
    compare(capsys, seed_run, ts_dir, "cosine@-200", "--predict-steps", "4", tmp_path=tmp_path, allow_torch=True)


@pytest.mark.slow
@pytest.mark.realdata
def test_multivariate_segment_model_with_covariates_and_times(ett_run, tmp_path, capsys):
    run, table = ett_run / "run", ett_run / "ett.csv"
    onnx_dir = tmp_path / "onnx"
    export_in_process(capsys, run, "onnx", onnx_dir)
    answer = compare(capsys, run, onnx_dir, str(table), tmp_path=tmp_path, files=(".csv", ".json"))
    assert answer["targets"] == ["OT", "HUFL"] and answer["time"][0] == "2016-07-21 20:00:00"
    compare(capsys, run, onnx_dir, f"{table}@-30", tmp_path=tmp_path)
    rows = [dict(zip(table.read_text().splitlines()[0].split(","), line.split(",")))
            for line in table.read_text().splitlines()[1:]]
    jsonl = tmp_path / "ett.jsonl"  # the same rows as JSON lines, the numbers as numbers
    jsonl.write_text("\n".join(json.dumps({k: (v if k == "date" else float(v)) for k, v in r.items()})
                           for r in rows) + "\n")
    compare(capsys, run, onnx_dir, str(jsonl), tmp_path=tmp_path)
    beyond = run_without_torch([onnx_dir / "predict.py", str(table), "--predict-steps", "20"])
    assert beyond.returncode == 2 and "needs future covariates" in beyond.stderr
    ts_dir = tmp_path / "ts"
    export_in_process(capsys, run, "torchscript", ts_dir)
    compare(capsys, run, ts_dir, f"{table}@-30", tmp_path=tmp_path, allow_torch=True)


def test_synthetic_problem(tmp_path, capsys):
    from suite import api

    api.train("forecast", data="synthetic:adding", sequence_length=20, examples=120, hidden=4, max_epochs=1,
              threads=1, plot=False, run_dir=tmp_path / "run")
    run, out = tmp_path / "run", tmp_path / "onnx"
    export_in_process(capsys, run, "onnx", out)
    for raw in ("synthetic:adding@-1", "0.2 *0.5 0.1 *0.3 0.9 0.4"):
        answer = compare(capsys, run, out, raw, tmp_path=tmp_path)
        assert answer["problem"] == "adding"
    assert answer["actual"]["target"] == [pytest.approx(0.8)]
    wrong = run_without_torch([out / "predict.py", "synthetic:adding@12"])
    assert wrong.returncode == 2 and "example 12 is outside the 12 test examples" in wrong.stderr


def test_time_stamps_follow_pandas_without_it():
    """The predictor's numpy calendar gives pandas' date_range stamps for the frequencies it knows."""
    import itertools

    sys.path.insert(0, str(REPO / "suite" / "export"))  # _runtime, which the template imports from beside it
    from tasks.forecast import exported_predict
    from tasks.forecast.data import future_times
    from tasks.forecast.export import time_rule

    starts = ["2020-01-01", "2020-01-15 10:30:00", "2020-01-31", "2020-02-29 23:00:00", "2019-12-31",
              "2020-03-01 00:00:00.250", "2020-01-04", "1949-01"]
    freqs = ["h", "15min", "D", "2D", "s", "MS", "ME", "2MS", "3ME", "QS", "QS-OCT", "QE-NOV", "YS", "YE-JUN",
             "W", "W-MON", "2W-WED", "B", "3B"]
    for start, freq in itertools.product(starts, freqs):
        rule = time_rule(freq)
        assert rule["kind"] != "pandas", freq
        assert exported_predict.future_times(start, {"time_rule": rule, "freq": freq}, 7) == \
            future_times(start, freq, 7), (start, freq)
    assert_close_outputs({"a": [1.0, "x"]}, {"a": [1.00001, "x"]}, atol=TOLERANCE)

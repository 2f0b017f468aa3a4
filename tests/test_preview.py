"""``python -m suite.preview``: a task's data before a run, from a shell and for the window's worker."""

from __future__ import annotations

import io
import json
from pathlib import Path

from suite.preview import ANSWER, main, serve


def test_the_preview_says_rows_columns_used_and_splits_by_date(data_root, capsys):
    assert main(["--task", "forecast", "--data", "forecast/air_passengers/AirPassengers.csv", "--data-root",
                 str(data_root), "--split", "0.7,0.1,0.2", "--rows", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    # the run's own path: canonical (a symlinked data root reads as where it points), as the run records it
    assert out[0] == f"data: {(data_root / 'forecast/air_passengers/AirPassengers.csv').resolve()}"
    assert out[1] == "columns: Month (time), #Passengers (target)"
    assert out[3].split() == ["1949-01", "112"]
    assert out[-3:] == ["train: 101 rows (1949-01 to 1957-05; rows 1-101)",
                        "val: 14 rows (1957-06 to 1958-07; rows 102-115)",
                        "test: 29 rows (1958-08 to 1960-12; rows 116-144)"]


def test_bad_input_is_one_line_and_exit_code_2(data_root, capsys):
    path = str(data_root / "forecast/air_passengers/AirPassengers.csv")
    assert main(["--task", "forecast", "--data", path, "--target", "passengers"]) == 2
    assert capsys.readouterr().err == (f"error: {Path(path).resolve()}: unknown target column 'passengers'; the columns are: Month, "
                                       "#Passengers\n")
    assert main(["--task", "forecast", "--rows", "0"]) == 2
    assert capsys.readouterr().err == "error: --rows: expected a count of at least 1, got 0\n"
    assert main(["--task", "forecast", "--split", "2,x", "--json"]) == 2
    assert json.loads(capsys.readouterr().out) == {
        "error": "options.split (--split): expected numbers, got '2,x'"}


def test_the_worker_answers_each_request_by_its_id_and_keeps_serving():
    requests = io.StringIO("\n".join([
        json.dumps({"id": 1, "args": ["--task", "forecast", "--rows", "1"]}),
        "not json",
        json.dumps({"id": 3, "args": ["--task", "nosuchtask"]}),
        json.dumps({"id": 4, "args": ["--task", "forecast", "--data", "synthetic:delay", "--examples", "100"]}),
    ]) + "\n")
    out = io.StringIO()
    serve(requests, out)
    lines = out.getvalue().splitlines()
    assert all(line.startswith(ANSWER) for line in lines) and len(lines) == 4
    first, bad, unknown, synthetic = (json.loads(line[len(ANSWER):]) for line in lines)
    assert first["id"] == 1 and first["source"] == "cosine" and first["rows"] == [["0.540302"]]
    assert bad["id"] is None and bad["error"].startswith("not a preview request")
    assert unknown["id"] == 3 and unknown["error"].startswith("unknown task 'nosuchtask'")
    # the preset synthetic data picks splits 0.8,0.1,0.1
    assert [(s["name"], s["size"]) for s in synthetic["splits"]] == [("train", 80), ("val", 10), ("test", 10)]

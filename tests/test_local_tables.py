"""Local tables (suite/data/tables.py): read with pandas/pyarrow, never through the network, whatever
the environment says; wrong-shaped JSON (an object or a list where one value belongs) refused by line."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from suite.config import build_run_config
from suite.data.sources import read_table, row_lines
from suite.data.vectors import VectorSettings, build_vectors
from suite.errors import DataError
from suite.registry import get_task

FRAME = pd.DataFrame({"text": ["a good film", "a bad film", "fine acting", "dull plot"] * 5,
                      "label": [1, 0, 1, 0] * 5})

# Runs before the probe's body: every attempt at a connection or a name lookup is written to a file
# (at once: a caught exception or os._exit must not hide it) and refused.
BLOCK_NETWORK = """
import socket
_LOG = {log!r}
_connect = socket.socket.connect
def _record(what):
    with open(_LOG, "a") as handle:
        handle.write(what + "\\n")
def _refuse(name):
    def refused(*args, **kwargs):
        _record(f"{{name}} {{args[:2]!r}}")
        raise OSError(f"network blocked by the test ({{name}})")
    return refused
def _connect_local_only(self, address, *rest):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _record(f"connect {{address!r}}")
        raise OSError("network blocked by the test (connect)")
    return _connect(self, address, *rest)
socket.socket.connect = _connect_local_only
socket.socket.connect_ex = _connect_local_only
for _name in ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex"):
    setattr(socket, _name, _refuse(_name))
"""


def run_offline_unset(body: str, tmp_path: Path, timeout: float = 240) -> tuple[subprocess.CompletedProcess, list]:
    """``body`` in a fresh interpreter with the network blocked and the HF offline variables unset; the
    finished process and the network attempts it made."""
    log = tmp_path / "network-attempts.log"
    probe = tmp_path / "probe.py"
    probe.write_text(BLOCK_NETWORK.format(log=str(log)) + textwrap.dedent(body))
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE",
                                                             "TRANSFORMERS_OFFLINE")}
    env.update({"HF_HOME": str(tmp_path / "hf"), "RNN_SUITE_RUNS": str(tmp_path / "runs"),
                "RNN_SUITE_CACHE": str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1"})
    done = subprocess.run([sys.executable, str(probe)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=timeout)
    attempts = log.read_text().splitlines() if log.exists() else []
    return done, attempts


def write_formats(folder: Path, frame: pd.DataFrame) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {s: folder / f"table{s}" for s in (".csv", ".tsv", ".csv.gz", ".jsonl", ".json", ".jsonl.gz",
                                                 ".parquet")}
    frame.to_csv(paths[".csv"], index=False)
    frame.to_csv(paths[".tsv"], index=False, sep="\t")
    paths[".csv.gz"].write_bytes(gzip.compress(paths[".csv"].read_bytes()))
    frame.to_json(paths[".jsonl"], orient="records", lines=True)
    frame.to_json(paths[".json"], orient="records", indent=1)  # a list of objects over many lines
    paths[".jsonl.gz"].write_bytes(gzip.compress(paths[".jsonl"].read_bytes()))
    frame.to_parquet(paths[".parquet"])
    return paths


# --- no network -----------------------------------------------------------------------------------------

def test_local_tables_forecast_and_sentiment_never_touch_the_network(tmp_path):
    paths = write_formats(tmp_path / "tables", FRAME)
    series = tmp_path / "series.csv"
    dates = pd.date_range("2020-01-01", periods=120, freq="h").strftime("%Y-%m-%d %H:%M")
    series.write_text("date,load\n" + "".join(f"{d},{(h * 7) % 11}\n" for h, d in enumerate(dates)))
    done, attempts = run_offline_unset(f"""
        from suite.data.sources import read_table
        for path in {[str(paths[s]) for s in ('.csv', '.jsonl', '.parquet')]!r}:
            assert len(read_table(path)) == 20, path

        from suite.config import build_run_config
        from suite.registry import get_task
        task = get_task("sentiment")
        cfg = build_run_config(task, explicit={{"options.data": {str(paths['.jsonl'])!r}, "backbone.hidden": 8,
                                                "options.embedding_dim": 8}})
        dm = task.datamodule(cfg)
        dm.setup("fit")
        assert dm.state.classes == ["negative", "positive"], dm.state.classes

        from suite.cli import main
        code = main(["--task", "forecast", "--data", {str(series)!r}, "--lookback", "8", "--horizon", "4",
                     "--segment", "4", "--hidden", "8", "--max-epochs", "1", "--run-dir", "run"])
        assert code == 0, code
        print("PROBE-DONE")
    """, tmp_path)
    assert done.returncode == 0 and "PROBE-DONE" in done.stdout, done.stderr[-3000:]
    assert attempts == [], f"local reads tried the network: {attempts}"
    assert (tmp_path / "run" / "results.json").exists()
    cache = tmp_path / "hf"  # nothing cached for a local file either
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*"))


@pytest.mark.realdata
def test_real_tables_read_without_the_network(tmp_path, data_root):
    ett, sst2 = data_root / "forecast/ett/ETTh1.csv", data_root / "sentiment/sst2/dev.tsv"
    done, attempts = run_offline_unset(f"""
        from suite.data.sources import read_table
        print(read_table({str(ett)!r}).shape, read_table({str(sst2)!r}).shape)
    """, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["(17420,", "8)", "(872,", "2)"]
    assert attempts == [], f"local reads tried the network: {attempts}"


@pytest.mark.realdata
def test_real_tables_keep_their_columns_and_types(data_root):
    ett = read_table(str(data_root / "forecast/ett/ETTh1.csv"))
    assert list(ett.columns) == ["date", "HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    assert ett["OT"].dtype == "float64" and ett["date"].iloc[0] == "2016-07-01 00:00:00"
    assert isinstance(ett.index, pd.RangeIndex)
    imdb = read_table(str(data_root / "sentiment/imdb/test.csv.gz"))
    assert len(imdb) == 25000 and {"text", "label"} <= set(imdb.columns) and imdb["label"].dtype == "int64"


# --- every format the same ------------------------------------------------------------------------------

def test_every_format_reads_the_same_frame(tmp_path):
    frame = FRAME.assign(score=[0.5, None, 2.0, 3.5] * 5)
    for suffix, path in write_formats(tmp_path, frame).items():
        read = read_table(str(path))
        assert isinstance(read.index, pd.RangeIndex), suffix
        assert read["text"].tolist() == frame["text"].tolist(), suffix
        assert read["label"].tolist() == frame["label"].tolist(), suffix
        assert read["score"].isna().tolist() == frame["score"].isna().tolist(), suffix


def test_parquet_index_named_is_a_column_unnamed_is_dropped(tmp_path):
    FRAME.set_index(pd.Index([f"r{i}" for i in range(20)], name="id")).to_parquet(tmp_path / "named.parquet")
    FRAME.iloc[5:].to_parquet(tmp_path / "sliced.parquet")
    assert list(read_table(str(tmp_path / "named.parquet")).columns) == ["id", "text", "label"]
    sliced = read_table(str(tmp_path / "sliced.parquet"))
    assert list(sliced.columns) == ["text", "label"] and isinstance(sliced.index, pd.RangeIndex)


def test_json_rows_know_their_lines(tmp_path):
    jsonl = tmp_path / "gaps.jsonl"
    jsonl.write_text('{"text": "a"}\n\n{"text": "b"}\n{"text": "c"}\n')
    assert list(row_lines(read_table(str(jsonl)), str(jsonl))) == [1, 3, 4]
    listed = tmp_path / "list.json"
    listed.write_text('[\n  {"text": "a"},\n  {"text": "b",\n   "x": 1},\n  {"text": "c"}\n]\n')
    assert list(row_lines(read_table(str(listed)), str(listed))) == [2, 3, 5]
    strings = tmp_path / "strings.json"
    strings.write_text('["one", "two"]')
    assert read_table(str(strings))["text"].tolist() == ["one", "two"]  # a list of strings: a text column
    csv = tmp_path / "t.csv"
    FRAME.to_csv(csv, index=False)
    assert list(row_lines(read_table(str(csv)), str(csv)))[:2] == [2, 3]


@pytest.mark.parametrize("name, content, message, line", [
    ("bad.jsonl", '{"text": "a"}\n{"text": "b"\n', "not valid JSON (Expecting ',' delimiter, column 13)", 2),
    ("row.jsonl", '{"text": "a"}\n["b", 1]\n', "expected a JSON object (one row), got a list", 2),
    ("list.json", '[{"text": "a"},\n {"text": "b"}\n {"text": "c"}]', "expected ',' or ']' after a list item", 3),
    ("cols.json", '{"text": {"0": "a", "1": "b"}, "label": {"0": 1, "1": 0}}', "one JSON object of columns", None),
    ("latin.csv", b"text,label\ngood,1\ncaf\xe9,0\n", "not UTF-8 text (byte 0xe9)", 3),
    ("latin.jsonl", b'{"text": "ok"}\n{"text": "caf\xe9"}\n', "not UTF-8 text (byte 0xe9)", 2),
    ("header.tsv", "text\tlabel\n", "cannot read as TSV: no data rows (only a header?)", None),
    ("blank.csv", "\n\n", "file is empty", None),
    ("broken.csv.gz", b"not gzip", "not a valid gzip file", None),
    ("broken.parquet", b"not parquet at all", "cannot read as Parquet", None),
])
def test_unreadable_tables_name_file_and_line(tmp_path, name, content, message, line):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(DataError) as info:
        read_table(str(path))
    assert str(info.value).startswith(f"{path}{f', line {line}' if line else ''}: "), str(info.value)
    assert message in str(info.value) and info.value.line == line


# --- wrong-shaped JSON in text tasks ------------------------------------------------------------------------

def sentiment_setup(data: Path, **options):
    task = get_task("sentiment")
    cfg = build_run_config(task, explicit={"options.data": str(data), "backbone.hidden": 8,
                                           "options.embedding_dim": 8, **options})
    dm = task.datamodule(cfg)
    dm.setup("fit")
    return dm


def jsonl(path: Path, rows: list[dict], blank_after: int | None = None) -> Path:
    lines = [json.dumps(row) for row in rows]
    if blank_after is not None:
        lines.insert(blank_after, "")
    path.write_text("\n".join(lines) + "\n")
    return path


GOOD = [{"text": r["text"], "label": r["label"]} for r in FRAME.to_dict("records")]


@pytest.mark.parametrize("bad, column, message", [
    ({"text": {"en": "a film"}, "label": 1}, "text", "expected a string, got a JSON object {'en': 'a film'}"),
    ({"text": ["a", "film"], "label": 1}, "text", "expected a string, got a list ['a', 'film']"),
    ({"text": "a film", "label": [0]}, "label", "expected one class label (a string or a number), got a list [0]"),
    ({"text": "a film", "label": {"value": 1}}, "label",
     "expected one class label (a string or a number), got a JSON object {'value': 1}"),
])
def test_sentiment_refuses_objects_and_lists_by_line_and_column(tmp_path, bad, column, message):
    path = jsonl(tmp_path / "train.jsonl", GOOD[:6] + [bad] + GOOD[6:], blank_after=2)  # the blank line counts
    with pytest.raises(DataError) as info:
        sentiment_setup(path)
    assert str(info.value) == f"{path}, line 8: column {column!r}: {message}"


def test_sentiment_refuses_list_labels_in_parquet_and_a_json_list(tmp_path):
    frame = FRAME.assign(label=[[v] for v in FRAME["label"]])
    frame.to_parquet(tmp_path / "train.parquet")
    with pytest.raises(DataError, match=r"train.parquet, line 2: column 'label': expected one class label .* "
                                        r"got a list \[1\]"):
        sentiment_setup(tmp_path / "train.parquet")
    listed = tmp_path / "listed.json"
    listed.write_text("[\n" + ",\n".join(json.dumps(r) for r in GOOD[:3] + [{"text": {"a": 1}, "label": 0}]) + "\n]")
    with pytest.raises(DataError) as info:
        sentiment_setup(listed)
    assert info.value.line == 5 and "column 'text': expected a string, got a JSON object" in str(info.value)


def test_sentiment_cli_reports_wrong_shape_in_one_line(tmp_path, monkeypatch, capsys):
    from suite.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RNN_SUITE_RUNS", str(tmp_path / "runs"))
    jsonl(tmp_path / "train.jsonl", GOOD[:3] + [{"text": "x", "label": [1]}])
    assert main(["--task", "sentiment", "--data", "train.jsonl", "--max-epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert err.endswith("train.jsonl, line 4: column 'label': expected one class label (a string or a number), "
                        "got a list [1]")
    assert not (tmp_path / "runs").exists()


def test_word_vectors_refuse_an_object_as_text(tmp_path):
    path = jsonl(tmp_path / "docs.jsonl", [{"text": "the cat eats"}, {"text": {"body": "the dog"}}])
    with pytest.raises(DataError, match=r"docs.jsonl, line 2: column 'text': expected a string, got a JSON object"):
        build_vectors([str(path)], tmp_path / "v.txt", VectorSettings(dim=2, min_count=1))
    assert not (tmp_path / "v.txt").exists()


@pytest.mark.parametrize("frame, message", [
    (pd.DataFrame({"translation": [{"de": "ein Hund", "en": "a dog"}, {"de": "eine Katze", "en": ["a", "cat"]}]}),
     "corpus [train], line 2: column 'en': expected a string, got a list ['a', 'cat']"),
    (pd.DataFrame({"translation": [{"de": "ein Hund", "en": "a dog"}, "eine Katze = a cat"]}),
     "corpus [train], line 2: column 'translation': expected a JSON object of {language: text}, got a string"),
    (pd.DataFrame({"de": ["ein Hund", {"text": "eine Katze"}], "en": ["a dog", "a cat"]}),
     "corpus [train], line 2: column 'de': expected a string, got a JSON object"),
])
def test_translation_pairs_refuse_wrong_shapes(monkeypatch, frame, message):
    from suite.data import sources
    from tasks.translation.corpus import read_hub

    monkeypatch.setattr(sources, "read_table", lambda name, hub_split="train": frame)  # a Hub split, offline
    with pytest.raises(DataError) as info:
        read_hub("corpus", "de", "en")
    assert str(info.value).startswith(message)

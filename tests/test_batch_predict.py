"""Batch prediction: ``--checkpoint RUN --predict FILE --batch [--output OUT.jsonl|OUT.csv]`` and
``Predictor.predict_many`` / ``predict_file``.

Three tiny runs (sentiment on a few dozen hand-written reviews, tagging on a small CoNLL file, forecast on
the seed's cosine) are trained once for the module, in this process. Each batch answer must equal what
``--predict`` gives for that line alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import one_line_error, same

GOOD = ["a witty , warm and wonderful film", "an utterly charming and moving story", "great acting and a fine script",
        "funny , clever and beautifully made", "one of the best films this year", "a delight from start to end"]
BAD = ["a dull , lifeless mess", "the plot goes nowhere", "boring and far too long", "an awful script and bad acting",
       "a tedious , clumsy film", "the worst film this year"]
SENTENCES = ["Sarah lives in London", "I saw Paris", "London is big", "Bob met Sarah in Paris today"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from suite import api

    where = tmp_path_factory.mktemp("batch")
    rows = [(t, "pos") for t in GOOD] + [(t, "neg") for t in BAD]
    (where / "reviews.csv").write_text("text,label\n" + "".join(f'"{t}",{y}\n' for t, y in rows * 5), encoding="utf-8")
    tagged = [("Sarah", "B-PER"), ("lives", "O"), ("in", "O"), ("London", "B-LOC")], \
             [("Bob", "B-PER"), ("saw", "O"), ("Paris", "B-LOC")]
    (where / "train.conll").write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in s) for s in tagged * 20) + "\n",
                                       encoding="utf-8")
    tiny = {"max_epochs": 1, "threads": 1, "num_workers": 0}
    made = {
        "sentiment": api.train("sentiment", data=str(where / "reviews.csv"), hidden=8, embedding_dim=8, min_freq=1,
                               max_length=400, run_dir=where / "sentiment", **tiny),  # 450 words are cut
        "tagging": api.train("tagging", data=str(where / "train.conll"), format="conll", hidden=8, word_dim=8,
                             char_features=4, run_dir=where / "tagging", **tiny),
        "forecast": api.train("forecast", data="cosine", hidden=4, lookback=16, horizon=4, model="sequence",
                              run_dir=where / "forecast", **tiny),
    }
    return {name: Path(results["run_dir"]) for name, results in made.items()}


@pytest.fixture(scope="module")
def models(runs):
    from suite import api

    return {name: api.load(path) for name, path in runs.items()}


def cli(capsys, *args: str) -> tuple[int, str, str]:
    from suite.cli import main

    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- the answers are --predict's -----------------------------------------------------------------------------
def test_sentiment_jsonl_answers_equal_predict_per_line(runs, models, tmp_path, capsys):
    texts = GOOD[:3] + BAD[:3] + ["not in the vocabulary at all zzz"]
    source = write(tmp_path / "reviews.txt", "\n".join(texts[:3]) + "\n\n" + "\n".join(texts[3:]) + "\n")
    code, out, err = cli(capsys, "--checkpoint", str(runs["sentiment"]), "--predict", str(source), "--batch",
                         "--output", str(tmp_path / "labels.jsonl"))
    assert code == 0, err
    records = lines_of(tmp_path / "labels.jsonl")
    assert [r["line"] for r in records] == [1, 2, 3, 5, 6, 7, 8]  # the blank line 4 is not an input
    assert [r["input"] for r in records] == texts
    assert all(same(r["prediction"], models["sentiment"].predict(t)) for r, t in zip(records, texts))
    assert "7 answers and 0 errors for 7 inputs" in out and "1 blank line passed over" in out
    assert not (tmp_path / "labels.jsonl.partial").exists()
    # and what the command line answers for one line alone, written as JSON
    code, _, err = cli(capsys, "--checkpoint", str(runs["sentiment"]), "--predict", texts[1], "--output",
                       str(tmp_path / "one.json"))
    assert code == 0, err
    assert same(records[1]["prediction"], json.loads((tmp_path / "one.json").read_text()))


def test_sentiment_csv_has_the_label_and_one_column_per_class(runs, models, tmp_path, capsys):
    source = write(tmp_path / "reviews.txt", "\n".join(GOOD[:2] + BAD[:2]) + "\n")
    code, _, err = cli(capsys, "--checkpoint", str(runs["sentiment"]), "--predict", str(source), "--batch",
                       "--output", str(tmp_path / "labels.csv"))
    assert code == 0, err
    import csv

    rows = list(csv.DictReader((tmp_path / "labels.csv").open(encoding="utf-8")))
    classes = models["sentiment"].predict(GOOD[0])["probabilities"]
    assert list(rows[0]) == ["line", "input", "label", *[f"probabilities.{c}" for c in classes], "tokens",
                             "unknown_words", "warning", "error"]
    for row, text in zip(rows, GOOD[:2] + BAD[:2]):
        expected = models["sentiment"].predict(text)
        assert row["input"] == text and row["label"] == expected["label"] and row["error"] == ""
        assert all(abs(float(row[f"probabilities.{c}"]) - p) <= 1e-4 for c, p in expected["probabilities"].items())


def test_tagging_batch_equals_predict_and_csv_joins_the_tags(runs, models, tmp_path, capsys):
    source = write(tmp_path / "sentences.txt", "\n".join(SENTENCES) + "\n")
    for name in ("tags.jsonl", "tags.csv"):
        code, _, err = cli(capsys, "--checkpoint", str(runs["tagging"]), "--predict", str(source), "--batch",
                           "--output", str(tmp_path / name))
        assert code == 0, err
    expected = [models["tagging"].predict(s) for s in SENTENCES]
    assert [r["prediction"] for r in lines_of(tmp_path / "tags.jsonl")] == expected
    import csv

    rows = list(csv.DictReader((tmp_path / "tags.csv").open(encoding="utf-8")))
    assert [r["tags"] for r in rows] == [" ".join(e["tags"]) for e in expected]
    assert [r["tokens"] for r in rows] == [" ".join(e["tokens"]) for e in expected]
    assert [json.loads(r["entities"]) for r in rows] == [e["entities"] for e in expected]
    assert "text" not in rows[0]  # the input, already in its own column


def series(start: int, n: int = 20) -> str:
    import math

    return ", ".join(f"{math.cos(0.3 * (start + i)):.4f}" for i in range(n))


def test_forecast_lines_are_what_predict_takes_and_a_bad_one_is_skipped(runs, models, tmp_path, capsys):
    """Inline values or a source@row; the model's own fallback (no batched predict_many) answers them."""
    lines = [series(0), "cosine@100", "not numbers", "1, 2, 3", series(7)]
    source = write(tmp_path / "series.txt", "\n".join(lines) + "\n")
    code, out, err = cli(capsys, "--checkpoint", str(runs["forecast"]), "--predict", str(source), "--batch",
                         "--output", str(tmp_path / "forecast.jsonl"))
    assert code == 0, err
    records = lines_of(tmp_path / "forecast.jsonl")
    assert [r["line"] for r in records] == [1, 2, 3, 4, 5]
    for i in (0, 1, 4):
        assert records[i]["prediction"] == json.loads(json.dumps(models["forecast"].predict(lines[i])))
    assert "prediction" not in records[3] and records[3]["error"] == "the model needs the last 16 values, got 3"
    assert f"warning: {source}:4: the model needs the last 16 values, got 3 (skipped)" in err.splitlines()
    assert f"warning: {source}:3: " in err and "3 answers and 2 errors for 5 inputs" in out
    code, _, err = cli(capsys, "--checkpoint", str(runs["forecast"]), "--predict", str(source), "--batch",
                       "--output", str(tmp_path / "forecast.csv"))
    assert code == 0, err
    import csv

    rows = list(csv.DictReader((tmp_path / "forecast.csv").open(encoding="utf-8")))
    assert [float(v) for v in rows[1]["forecast.cos"].split()] == records[1]["prediction"]["forecast"]["cos"]
    assert rows[3]["error"] == records[3]["error"] and rows[3]["forecast.cos"] == ""
    assert "history.cos" not in rows[0]  # the input's own values: JSON lines keep them, CSV does not


def test_fail_stops_at_the_bad_line_with_the_answers_before_it(runs, tmp_path, capsys):
    lines = [series(0), series(3), "1, 2, 3", series(5)]
    source = write(tmp_path / "series.txt", "\n".join(lines) + "\n")
    out = tmp_path / "forecast.jsonl"
    write(out, "an earlier file\n")
    message = one_line_error(capsys, "--checkpoint", str(runs["forecast"]), "--predict", str(source), "--batch",
                             "--on-error", "fail", "--output", str(out))
    assert message.startswith(f"{source}:3: the model needs the last 16 values, got 3 (--on-error fail)")
    assert "2 answers before it" in message
    assert [r["line"] for r in lines_of(out)] == [1, 2]
    assert not (tmp_path / "forecast.jsonl.partial").exists()


# --- tables and JSON lines -----------------------------------------------------------------------------------
def test_table_rows_with_a_column_an_id_and_bad_rows(runs, models, tmp_path, capsys):
    source = write(tmp_path / "reviews.csv", 'id,body,stars\n'
                                             f'r1,"{GOOD[0]}",5\n'
                                             f'r2,"{BAD[0]}",1\n'
                                             'r3,,3\n'
                                             'r4,"too many",fields,here\n'
                                             f'r5,"{GOOD[1]}\nover two lines",4\n'
                                             f'r6,"{BAD[1]}",2\n')
    code, out, err = cli(capsys, "--checkpoint", str(runs["sentiment"]), "--predict", str(source), "--batch",
                         "--input-column", "body", "--id-column", "id", "--output", str(tmp_path / "out.jsonl"))
    assert code == 0, err
    records = lines_of(tmp_path / "out.jsonl")
    assert [(r["line"], r["id"]) for r in records] == [(2, "r1"), (3, "r2"), (4, "r3"), (5, None), (6, "r5"), (8, "r6")]
    assert records[2]["error"] == "column 'body' is empty" and records[3]["error"] == "4 fields; the header has 3"
    assert same(records[4]["prediction"], models["sentiment"].predict(f"{GOOD[1]}\nover two lines"))
    assert same(records[5]["prediction"], models["sentiment"].predict(BAD[1]))
    assert f"warning: {source}:5: 4 fields; the header has 3 (skipped)" in err
    # without --input-column, a column named like text ("body") is found
    code, _, err = cli(capsys, "--checkpoint", str(runs["sentiment"]), "--predict", str(source), "--batch",
                       "--output", str(tmp_path / "again.jsonl"))
    assert code == 0, err
    assert [r.get("prediction") for r in lines_of(tmp_path / "again.jsonl")] == [r.get("prediction") for r in records]


def test_jsonl_strings_objects_and_a_line_that_is_not_json(runs, models, tmp_path, capsys):
    source = write(tmp_path / "in.jsonl", json.dumps(GOOD[0]) + "\n"
                                          + json.dumps({"input": BAD[0], "id": 7}) + "\n"
                                          + '{"input": "unterminated\n'
                                          + json.dumps({"other": "x", "more": "y"}) + "\n"
                                          + json.dumps({"input": ["a", "list"]}) + "\n"
                                          + json.dumps(GOOD[2]) + "\n")
    code, _, err = cli(capsys, "--checkpoint", str(runs["sentiment"]), "--predict", str(source), "--batch",
                       "--id-column", "id", "--output", str(tmp_path / "out.jsonl"))
    assert code == 0, err
    records = lines_of(tmp_path / "out.jsonl")
    assert [r["line"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert records[1]["id"] == 7 and same(records[1]["prediction"], models["sentiment"].predict(BAD[0]))
    assert records[2]["error"].startswith("not valid JSON (")
    assert records[3]["error"].startswith("no 'input' field in the object (fields: other, more)")
    assert records[4]["error"] == "field 'input': expected the input as text, got a list"
    assert same(records[5]["prediction"], models["sentiment"].predict(GOOD[2]))
    assert f"warning: {source}:3: not valid JSON" in err


def test_parquet_rows_and_a_line_that_is_not_utf8(runs, models, tmp_path, capsys):
    import pandas as pd

    pd.DataFrame({"text": [GOOD[3], None, BAD[3]]}).to_parquet(tmp_path / "in.parquet")
    code, _, err = cli(capsys, "--checkpoint", str(runs["sentiment"]), "--predict", str(tmp_path / "in.parquet"),
                       "--batch", "--output", str(tmp_path / "out.jsonl"))
    assert code == 0, err
    records = lines_of(tmp_path / "out.jsonl")
    assert [r["line"] for r in records] == [1, 2, 3] and records[1]["error"] == "column 'text': no input (empty)"
    assert f"{tmp_path / 'in.parquet'}: row 2: " in err
    (tmp_path / "latin.txt").write_bytes(GOOD[0].encode() + b"\ncaf\xe9 noir\n" + BAD[0].encode() + b"\n")
    code, _, err = cli(capsys, "--checkpoint", str(runs["sentiment"]), "--predict", str(tmp_path / "latin.txt"),
                       "--batch", "--output", str(tmp_path / "latin.jsonl"))
    records = lines_of(tmp_path / "latin.jsonl")
    assert code == 0 and records[1] == {"line": 2, "input": "caf\ufffd noir", "error": "not UTF-8 text (byte 0xe9)"}
    assert same(records[2]["prediction"], models["sentiment"].predict(BAD[0]))


def test_gzip_and_a_json_list_are_read_with_their_lines(runs, models, tmp_path, capsys):
    import gzip

    with gzip.open(tmp_path / "in.txt.gz", "wt", encoding="utf-8") as handle:
        handle.write("\n".join(SENTENCES) + "\n")
    write(tmp_path / "in.json", '[\n  {"sentence": "I saw Paris"},\n  {"sentence": 3},\n  {"sentence": "London is big"}\n]\n')
    for name, lines in (("in.txt.gz", [1, 2, 3, 4]), ("in.json", [2, 3, 4])):
        code, _, err = cli(capsys, "--checkpoint", str(runs["tagging"]), "--predict", str(tmp_path / name), "--batch",
                           "--output", str(tmp_path / f"{name}.jsonl"))
        assert code == 0, err
        records = lines_of(tmp_path / f"{name}.jsonl")
        assert [r["line"] for r in records] == lines
    assert records[0]["prediction"] == models["tagging"].predict("I saw Paris")
    assert records[1]["input"] == "3" and records[1]["prediction"] == models["tagging"].predict("3")


def test_csv_cells_are_flat_and_never_clash_with_the_record_columns():
    from suite.batch_output import csv_fields, flatten

    cells = flatten({"tags": ["B-PER", "O"], "time": ["2024-01-01 00:00", "2024-01-01 01:00"], "n": 3,
                     "probabilities": {"neg": 0.25, "pos": 0.75}, "grid": [[1, 2]], "warning": None,
                     "text": "dropped"}, omit=("text",))
    assert cells == {"tags": "B-PER O", "time": '["2024-01-01 00:00", "2024-01-01 01:00"]', "n": 3,
                     "probabilities.neg": 0.25, "probabilities.pos": 0.75, "grid": "[[1, 2]]", "warning": ""}
    assert csv_fields({"input": "x", "label": "y"}) == {"prediction.input": "x", "label": "y"}


def test_without_output_json_lines_go_to_stdout_and_the_summary_to_stderr(runs, tmp_path, capsys):
    source = write(tmp_path / "s.txt", "\n".join(SENTENCES) + "\n")
    code, out, err = cli(capsys, "--checkpoint", str(runs["tagging"]), "--predict", str(source), "--batch")
    assert code == 0, err
    assert [json.loads(line)["line"] for line in out.splitlines()] == [1, 2, 3, 4]
    assert "wrote standard output: 4 answers" in err


# --- what the engine does around the task ---------------------------------------------------------------------
def test_inputs_go_to_the_task_in_chunks_and_a_failed_chunk_is_halved_down_to_the_bad_input(models, tmp_path, monkeypatch):
    model = models["sentiment"]
    calls = []
    real = type(model.task).predict_many

    def counting(self, m, inputs, *, files=True):
        calls.append(len(inputs))
        if any(text == "poison" for text in inputs):
            from suite.errors import UserError
            raise UserError("--predict: poisoned")
        return real(self, m, inputs, files=files)

    monkeypatch.setattr(type(model.task), "predict_many", counting)
    texts = (GOOD + BAD)[:9] + ["poison"]
    source = write(tmp_path / "many.txt", "\n".join(texts) + "\n")
    summary = model.predict_file(source, tmp_path / "out.jsonl", chunk_size=4)
    assert calls == [4, 4, 2, 1, 1]  # the last chunk failed: asked again one input at a time
    assert summary["answered"] == 9 and summary["errors"] == 1 and summary["inputs"] == 10
    assert lines_of(tmp_path / "out.jsonl")[-1] == {"line": 10, "input": "poison", "error": "poisoned"}


def test_a_bug_for_one_input_fails_that_line_only_and_is_told(models, tmp_path, monkeypatch, capsys):
    model = models["forecast"]
    real = type(model.task).predict

    def buggy(self, m, raw):
        if raw == "cosine@50":
            raise IndexError("out of range")
        return real(self, m, raw)

    monkeypatch.setattr(type(model.task), "predict", buggy)
    source = write(tmp_path / "origins.txt", "cosine@20\ncosine@50\ncosine@90\n")
    summary = model.predict_file(source, tmp_path / "out.jsonl")
    records = lines_of(tmp_path / "out.jsonl")
    assert summary["internal_errors"] == 1 and [("error" in r) for r in records] == [False, True, False]
    assert records[1]["error"] == "internal error (IndexError: out of range)"
    err = capsys.readouterr().err
    assert "Traceback" in err and "a bug in the forecast task" in err


def test_an_interruption_leaves_the_output_as_it_was_and_the_answers_so_far_beside_it(models, tmp_path,
                                                                                        monkeypatch, capsys):
    model = models["sentiment"]
    real, calls = type(model.task).predict_many, []

    def interrupted(self, m, inputs, *, files=True):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, m, inputs, files=files)

    monkeypatch.setattr(type(model.task), "predict_many", interrupted)
    out = write(tmp_path / "out.csv", "a complete earlier file\n")
    source = write(tmp_path / "many.txt", "\n".join(GOOD + BAD) + "\n")
    with pytest.raises(KeyboardInterrupt):
        model.predict_file(source, out, chunk_size=3)
    assert out.read_text() == "a complete earlier file\n"
    partial = (tmp_path / "out.csv.partial").read_text(encoding="utf-8").splitlines()
    assert partial[0].startswith("line,input,label,") and len(partial) == 1 + 6
    assert "6 answers so far in" in capsys.readouterr().err


def test_python_predict_many_equals_predict_and_names_a_bad_input(models):
    from suite.errors import UserError

    model = models["tagging"]
    assert model.predict_many(SENTENCES, chunk_size=3) == [model.predict(s) for s in SENTENCES]
    with pytest.raises(UserError, match=r"^inputs\[2\]: the sentence is empty"):
        model.predict_many(SENTENCES[:2] + ["   "] + SENTENCES[2:], chunk_size=8)


def test_sentiment_batches_of_mixed_lengths_answer_in_input_order_as_predict_does(models, monkeypatch):
    """More texts than two forward passes take, from one word to past --max-length, shuffled: each answer is
    predict's for its own text, in the input order, and each text is tokenised once."""
    import random

    from tasks.sentiment import task as sentiment

    model = models["sentiment"]
    rng = random.Random(0)
    words = " ".join(GOOD + BAD).split() + ["zyxwv"]  # a word the vocabulary lacks
    texts = [" ".join(rng.choice(words) for _ in range(rng.choice([1, 3, 12, 40, 450])))
             for _ in range(2 * sentiment.PREDICT_BATCH + 5)]
    alone = [model.predict(text) for text in texts]
    preprocessor = type(model.model.preprocessor)
    tokenised, tokens = [], preprocessor.tokens
    monkeypatch.setattr(preprocessor, "tokens", lambda self, text: tokenised.append(text) or tokens(self, text))
    together = model.predict_many(texts)
    assert same(together, alone) and [a["text"] for a in together] == texts
    assert sorted(tokenised) == sorted(texts)
    tokenised.clear()  # the server's way: every input a text, none looked up as a file
    assert same(model.task.predict_many(model.model, texts, files=False), alone)
    assert sorted(tokenised) == sorted(texts)
    assert any(a["warning"] for a in alone) and any(a["unknown_words"] for a in alone)


def test_a_log_gets_a_progress_line_and_stdout_stays_clean(models, tmp_path, monkeypatch, capsys):
    import suite.batch_predict as batch

    monkeypatch.setattr(batch, "LOG_EVERY_S", 0.0)
    source = write(tmp_path / "s.txt", "\n".join(SENTENCES * 3) + "\n")
    models["tagging"].predict_file(source, None, chunk_size=4)
    captured = capsys.readouterr()
    assert len([json.loads(line) for line in captured.out.splitlines()]) == 12
    assert f"{source}: 4 of 12 lines (33%)" in captured.err


# --- misuse: one line, exit code 2, before a model is loaded ----------------------------------------------------
def test_misuse_is_one_line(runs, tmp_path, capsys):
    run = str(runs["sentiment"])
    source = write(tmp_path / "in.txt", GOOD[0] + "\n")
    table = write(tmp_path / "in.csv", "a,b\nx,y\n")
    cases = {
        ("--predict", str(source), "--input-column", "text"): "--input-column belongs to batch prediction: add --batch",
        ("--predict", str(source), "--output", str(tmp_path / "x.jsonl")): "add --batch",
        ("--batch",): "--batch needs --predict FILE",
        ("--predict", str(source), "--batch", "--output", str(tmp_path / "x.json")): "--batch writes JSON lines (.jsonl) or CSV",
        ("--predict", str(tmp_path / "missing.txt"), "--batch"): "missing.txt: file not found",
        ("--predict", "a witty film", "--batch"): "a witty film: file not found",
        ("--predict", str(tmp_path), "--batch"): "is a folder; expected a file of inputs",
        ("--predict", str(write(tmp_path / "in.md", "x")), "--batch"): "--batch reads .txt, .jsonl, .json, .csv",
        ("--predict", str(table), "--batch"): "which column holds the inputs? give --input-column NAME; columns: a, b",
        ("--predict", str(table), "--batch", "--input-column", "c"): "no column 'c' (--input-column); columns: a, b",
        ("--predict", str(table), "--batch", "--input-column", "a", "--id-column", "z"): "no id column 'z'",
        ("--predict", str(source), "--batch", "--id-column", "id"): "--id-column needs a table or JSON lines",
        ("--predict", str(source), "--batch", "--evaluate", str(source)): "--batch cannot be combined with --evaluate",
        ("--predict", str(source), "--batch", "--explain"): "--batch cannot be combined with --explain",
        ("--predict", str(table), "--batch", "--input-column", "a", "--output", str(tmp_path / "in.csv")):
            "--output is the input file itself",
        ("--predict", str(source), "--batch", "--output", str(tmp_path / "no" / "x.jsonl")): "does not exist",
        ("--predict", str(source), "--batch", "--on-error", "ignore"): "--on-error: invalid choice",
    }
    for args, expected in cases.items():
        assert expected in one_line_error(capsys, "--checkpoint", run, *args), args
    # a task without passes of its own to size refuses it rather than ignoring it
    assert "--predict-batch: task 'tagging' sets its own forward passes" in one_line_error(
        capsys, "--checkpoint", str(runs["tagging"]), "--predict", str(source), "--batch", "--predict-batch", "8")
    write(tmp_path / "blank.txt", "\n  \n")
    assert one_line_error(capsys, "--checkpoint", run, "--predict", str(tmp_path / "blank.txt"), "--batch",
                          "--output", str(tmp_path / "o.jsonl")).endswith("blank.txt: no inputs in it (only blank lines)")
    assert not (tmp_path / "o.jsonl").exists() and not (tmp_path / "o.jsonl.partial").exists()


def test_when_no_input_can_be_answered_the_run_fails_with_every_error_written(runs, tmp_path, capsys):
    source = write(tmp_path / "words.txt", "alpha\nbeta\n")
    code, _, err = cli(capsys, "--checkpoint", str(runs["forecast"]), "--predict", str(source), "--batch",
                       "--output", str(tmp_path / "out.jsonl"))
    *warnings, last = err.strip().splitlines()
    assert code == 2 and len(warnings) == 2 and "Traceback" not in err
    assert last.startswith(f"error: none of the 2 inputs of {source} could be answered; the first: {source}:1: ")
    assert [r["line"] for r in lines_of(tmp_path / "out.jsonl")] == [1, 2]


# --- translation: the per-input fallback, text only ---------------------------------------------------------
@pytest.fixture(scope="module")
def translator(data_root, tmp_path_factory):
    from suite import api

    where = tmp_path_factory.mktemp("translation")
    for split, n in (("train", 200), ("val", 20), ("test_2016_flickr", 10)):
        for lang in ("de", "en"):
            lines = (data_root / "translation/multi30k" / f"{split}.{lang}").read_text(encoding="utf-8").splitlines()
            (where / f"{split}.{lang}").write_text("\n".join(lines[:n]) + "\n", encoding="utf-8")
    results = api.train("translation", data=str(where), embedding=16, decoder_hidden=16, hidden=16, source_vocab=200,
                        target_vocab=200, beam_size=1, max_epochs=1, threads=1, num_workers=0, run_dir=where / "run")
    return Path(results["run_dir"]), api.load(results["run_dir"])


@pytest.mark.realdata
def test_translation_lines_are_texts_even_when_one_names_a_file(translator, tmp_path, capsys):
    run, model = translator
    secret = write(tmp_path / "secret.txt", "Ein Geheimnis.\n")
    lines = ["Ein Hund rennt.", str(secret), "Zwei Männer spielen Fußball."]
    source = write(tmp_path / "de.txt", "\n".join(lines) + "\n")
    code, _, err = cli(capsys, "--checkpoint", str(run), "--predict", str(source), "--batch",
                       "--output", str(tmp_path / "en.csv"))
    assert code == 0, err
    import csv

    rows = list(csv.DictReader((tmp_path / "en.csv").open(encoding="utf-8")))
    assert [r["translation"] for r in rows] == [model.predict(line)["translation"] for line in lines]
    assert "attention" not in rows[0] and "score" in rows[0]


def test_a_trained_run_takes_threads_anew_but_no_other_training_setting(runs, tmp_path, capsys):
    """--threads says how to compute, not what was learnt: a batch on a busy machine may ask for one thread."""
    import torch

    reviews = write(tmp_path / "reviews.txt", "\n".join(GOOD[:2] + BAD[:2]) + "\n")
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # not 1 already (a parallel test worker runs on one): the flag must change it
    try:
        code, _, err = cli(capsys, "--checkpoint", str(runs["sentiment"]), "--predict", str(reviews), "--batch",
                           "--output", str(tmp_path / "one.jsonl"), "--threads", "1")
        assert code == 0 and torch.get_num_threads() == 1, err
    finally:
        torch.set_num_threads(before)
    code, _, _ = cli(capsys, "--checkpoint", str(runs["sentiment"]), "--predict", str(reviews), "--batch",
                     "--output", str(tmp_path / "default.jsonl"))
    assert code == 0 and lines_of(tmp_path / "one.jsonl") == lines_of(tmp_path / "default.jsonl")
    refused = one_line_error(capsys, "--checkpoint", str(runs["sentiment"]), "--predict", "fine", "--lr", "0.5")
    assert "model settings cannot change (not train.lr)" in refused


# --- --predict-batch -----------------------------------------------------------------------------------------
def test_predict_batch_sets_the_forward_passes_of_a_batch_job(runs, models, tmp_path, capsys, monkeypatch):
    from tasks.sentiment import task as sentiment

    texts = [GOOD[i % 6] if i % 3 else BAD[i % 6] + " , really" for i in range(40)]
    source = write(tmp_path / "in.txt", "\n".join(texts) + "\n")
    alone = [models["sentiment"].predict(t) for t in texts]
    sizes = []
    classify = sentiment.classify
    monkeypatch.setattr(sentiment, "classify", lambda *a: sizes.append(a[4]) or classify(*a))
    code, _, _ = cli(capsys, "--checkpoint", str(runs["sentiment"]), "--predict", str(source), "--batch",
                     "--predict-batch", "16", "--output", str(tmp_path / "out.jsonl"))
    assert code == 0 and sizes == [16]
    answers = lines_of(tmp_path / "out.jsonl")
    assert [a["line"] for a in answers] == list(range(1, 41))
    assert same([a["prediction"] for a in answers], alone)
    sizes.clear()
    summary = models["sentiment"].predict_file(source, tmp_path / "api.jsonl", progress=False, predict_batch=3)
    assert summary["answered"] == 40 and sizes == [3]
    sizes.clear()
    models["sentiment"].predict_file(source, tmp_path / "default.jsonl", progress=False)
    assert sizes == [None]  # the task's own default (PREDICT_BATCH)


def test_predict_batch_misuse_is_one_line(runs, models, tmp_path, capsys):
    from suite.errors import UserError

    run = str(runs["sentiment"])
    source = write(tmp_path / "in.txt", GOOD[0] + "\n")
    cases = {
        ("--predict", str(source), "--batch", "--predict-batch", "0"):
            "--predict-batch: expected a whole number of inputs per forward pass from 1 to 65,536, got 0",
        ("--predict", str(source), "--batch", "--predict-batch", "100000"): "from 1 to 65,536, got 100000",
        ("--predict", str(source), "--batch", "--predict-batch", "many"): "--predict-batch: invalid int value",
        ("--predict", str(source), "--predict-batch", "64"): "--predict-batch belongs to batch prediction: add --batch",
    }
    for args, expected in cases.items():
        assert expected in one_line_error(capsys, "--checkpoint", run, *args), args
    # a task without passes of its own to size refuses it rather than ignoring it
    assert "--predict-batch: task 'tagging' sets its own forward passes" in one_line_error(
        capsys, "--checkpoint", str(runs["tagging"]), "--predict", str(source), "--batch", "--predict-batch", "8")
    for bad in (0, -3, 2.5, "64", True):
        with pytest.raises(UserError, match="predict_batch: expected a whole number"):
            models["sentiment"].predict_file(source, tmp_path / "o.jsonl", predict_batch=bad)


def test_the_tokenizer_reads_what_normalised_text_holds():
    """tokenize() skips normalise()'s whitespace collapse (no token holds whitespace): the same tokens."""
    from suite.data.text import _TOKEN, normalise, tokenize

    texts = ["  A  film,\tit's\n\nwell-made<br /><br/>ENDING&nbsp;felt 1,000.5 rushed\u00a0\u2009 .  ",
             "<a<br>> <i>Caf\u0065\u0301</i>\r\n&#10;don\u2019t&amp;\u3000stop", "\u0130stanbul  \u212b", " \t\n", ""]
    for text in texts:
        for lowercase in (True, False):
            assert tokenize(text, lowercase) == _TOKEN.findall(normalise(text, lowercase)), (text, lowercase)

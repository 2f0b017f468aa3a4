"""Tagging's batched predict_many: the same answers as predict one sentence at a time, and text only
when the server asks (files=False)."""

from __future__ import annotations

import pytest

from helpers import run_cli

SENTENCES = ["Sarah lives in London", "I saw Paris", "London is big", "Bob met Sarah in Paris today"]


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("tag")
    rows = [("Sarah", "B-PER"), ("lives", "O"), ("in", "O"), ("London", "B-LOC")], \
           [("Bob", "B-PER"), ("saw", "O"), ("Paris", "B-LOC")]
    text = "\n\n".join("\n".join(f"{w}\t{t}" for w, t in s) for s in rows * 20) + "\n"
    (cwd / "train.conll").write_text(text, encoding="utf-8")
    done = run_cli("--task", "tagging", "--data", "train.conll", "--format", "conll", "--max-epochs", "1",
                   "--hidden", "8", "--word-dim", "8", "--char-features", "4", "--threads", "1", "--num-workers", "0",
                   "--run-dir", "run", cwd=cwd)
    assert done.returncode == 0, done.stderr
    from suite import api

    return api.load(cwd / "run"), cwd


def test_predict_many_equals_predict_per_sentence(tagger):
    model, _ = tagger
    many = model.task.predict_many(model.model, SENTENCES, files=False)
    assert many == [model.predict(s) for s in SENTENCES]
    assert model.task.predict_many(model.model, SENTENCES) == many  # files=True: texts that name no file


def test_files_false_reads_a_path_as_a_sentence(tagger, tmp_path):
    model, _ = tagger
    lines = tmp_path / "lines.txt"
    lines.write_text("Sarah lives in London\n", encoding="utf-8")
    assert "sentences" in model.task.predict_many(model.model, [str(lines)])[0]  # the CLI's file of lines
    answer = model.task.predict_many(model.model, [str(lines)], files=False)[0]
    assert answer["text"] == str(lines) and "sentences" not in answer
    from suite.errors import UserError

    with pytest.raises(UserError, match="no words to tag"):
        model.task.predict_many(model.model, ["ok", "   "], files=False)

"""The tagging task end to end through the CLI, as a user runs it, on slices of the real corpora."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import cli_env, one_line_error, read_results, run_cli
from test_tagging_data import head_sentences

SMALL = ("--hidden", "32", "--word-dim", "32", "--char-features", "16", "--threads", "1", "--num-workers", "0")


def slice_corpus(data_root: Path, dst: Path, corpus: str, names: list[str], sizes: list[int]) -> Path:
    for name, n in zip(names, sizes):
        head_sentences(data_root / "tagging" / corpus / name, dst / name, n)
    return dst


@pytest.fixture(scope="module")
def ewt_run(tmp_path_factory, data_root):
    cwd = tmp_path_factory.mktemp("ewt")
    slice_corpus(data_root, cwd / "ewt", "ud_english_ewt",
                 ["en_ewt-ud-train.conllu", "en_ewt-ud-dev.conllu", "en_ewt-ud-test.conllu"], [400, 100, 100])
    done = run_cli("--task", "tagging", "--data", "ewt", "--max-epochs", "6", "--lr", "0.01", "--schedule", "none", *SMALL,
                   "--run-dir", "run", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return cwd, cwd / "run", done


@pytest.mark.realdata
def test_pos_tagger_learns_and_reports_beside_the_baseline(ewt_run):
    cwd, run_dir, done = ewt_run
    results = read_results(run_dir)
    assert results["monitor"] == "score" and results["preset"] is None
    assert results["data"] == {"train": 400, "val": 100, "test": 100}
    test, base = results["metrics"]["test"], results["baseline"]
    assert base["name"] == "most_frequent_tag"
    assert 0.6 < base["test"]["accuracy"] < 0.95
    assert test["score"] == test["accuracy"] > 0.7  # six small epochs on 400 sentences
    assert "f1" not in test and "f1/NOUN" in test and "f1/NOUN" in base["test"]
    assert "baseline: most_frequent_tag" in done.stdout
    report = results["report"]
    assert report["per"] == "tag" and report["test"]["NOUN"]["support"] > 100
    assert report["test"]["NOUN"]["f1"] == pytest.approx(test["f1/NOUN"], abs=1e-6)
    rows = [line.split("\t") for line in (run_dir / "test_predictions.conll").read_text().splitlines() if line]
    assert len(rows) == sum(1 for _ in rows) and all(len(r) == 3 for r in rows)
    accuracy = sum(r[1] == r[2] for r in rows) / len(rows)
    assert accuracy == pytest.approx(test["accuracy"], abs=1e-6)


@pytest.mark.realdata
def test_predict_a_sentence_and_a_file_of_lines(ewt_run, tmp_path):
    _, run_dir, _ = ewt_run
    done = run_cli("--checkpoint", str(run_dir), "--predict", "The cat sat on the mat .", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["The", "cat", "sat", "on", "the", "mat", "."]
    assert lines[0].split()[1] == "DET" and lines[-1].split()[1] == "PUNCT"
    text = tmp_path / "lines.txt"
    text.write_text("I don't know .\n\nGo home !\n", encoding="utf-8")
    out = tmp_path / "tags.json"
    done = run_cli("--checkpoint", str(run_dir), "--predict", str(text), "--output", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    answer = json.loads(out.read_text())
    assert [s["tokens"] for s in answer["sentences"]] == [["I", "do", "n't", "know", "."], ["Go", "home", "!"]]
    assert all(len(s["tags"]) == len(s["tokens"]) for s in answer["sentences"])


@pytest.mark.realdata
def test_evaluate_on_another_file(ewt_run, tmp_path, data_root, capsys):
    _, run_dir, _ = ewt_run
    other = head_sentences(data_root / "tagging/ud_english_ewt/en_ewt-ud-test.conllu", tmp_path / "t.conllu", 80)
    done = run_cli("--checkpoint", str(run_dir), "--evaluate", str(other), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["report"]["test"]["NOUN"]["support"] > 0
    assert report["examples"] == 80 and 0.5 < report["metrics"]["accuracy"] <= 1
    assert report["baseline"]["name"] == "most_frequent_tag"
    unknown = tmp_path / "unknown.conllu"
    unknown.write_text("1\tHello\thello\tGREETING\t_\t_\t0\troot\t_\t_\n\n", encoding="utf-8")
    message = one_line_error(capsys, "--checkpoint", str(run_dir), "--evaluate", str(unknown))
    assert "unknown.conllu, line 1: tag 'GREETING'" in message and "the model learnt from" in message


@pytest.mark.realdata
def test_entity_tagger_with_crf_end_to_end(tmp_path, data_root):
    slice_corpus(data_root, tmp_path / "wnut", "wnut17",
                 ["wnut17train.conll", "emerging.dev.conll", "emerging.test.annotated"], [300, 80, 80])
    slice_corpus(data_root, tmp_path / "pos", "ud_english_ewt", ["en_ewt-ud-train.conllu"], [200])
    # the preset learns word vectors from IMDB (minutes); the short movie-review snippets take seconds
    env = cli_env(RNN_SUITE_CACHE=str(tmp_path / "cache"))
    done = run_cli("--task", "tagging", "--preset", "wnut17", "--data", "wnut", "--aux-data", "pos",
                   "--vectors-from", str(data_root / "sentiment" / "rt_polarity"),
                   "--max-epochs", "2", *SMALL, "--run-dir", "run", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "word vectors: " in done.stderr and len(list((tmp_path / "cache" / "vectors").iterdir())) == 1
    results = read_results(tmp_path / "run")
    assert results["config"]["options"]["crf"] == "on"
    assert results["data"]["aux_train"] == 200 and results["data"]["train"] == 300 + 40  # --val-to-train 0.5
    test, base = results["metrics"]["test"], results["baseline"]["test"]
    assert set(test) >= {"accuracy", "precision", "recall", "f1", "score", "f1/person"}
    assert test["score"] == test["f1"] and 0 <= test["f1"] <= 1 and test["accuracy"] > 0.8
    assert set(base) >= {"f1", "precision", "recall"}
    assert results["report"]["crf"] is True and results["report"]["per"] == "entity_type"
    done = run_cli("--checkpoint", "run", "--predict", "Barack Obama visited Paris and Google yesterday",
                   cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[0].startswith("Barack")
    assert "entities:" in done.stdout


@pytest.mark.parametrize("content,message", [
    ("1\tHi\thi\tINTJ\n", "train.conllu, line 1: expected 10 tab-separated CoNLL-U columns, got 4"),
    ("one\tO\n\ntwo\tO\tX\n", "train.conllu, line 3: expected 2 columns like line 1, got 3"),
])
def test_bad_training_file_is_one_line_error(in_tmp, capsys, content, message):
    (in_tmp / "train.conllu").write_text(content, encoding="utf-8")
    said = one_line_error(capsys, "--task", "tagging", "--data", "train.conllu", "--format",
                          "conllu" if "CoNLL-U" in message else "conll")
    assert said.endswith(message)
    assert not (in_tmp / "runs").exists()


def test_missing_data_names_the_path(in_tmp, capsys):
    message = one_line_error(capsys, "--task", "tagging", "--data", "no/such/folder.conll")
    assert "no/such/folder.conll" in message and "not found" in message

"""The tagging task end to end through the CLI, as a user runs it, on slices of the real corpora."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from helpers import cli_env, one_line_error, read_results, run_cli
from suite.cli import main
from tasks.tagging.data import TaggingState
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


def saved_state(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoints" / "best.ckpt", weights_only=True)["rnn_suite"]["data_state"]


def checkpoint_with(run_dir: Path, path: Path, data_state: dict) -> Path:
    """The run's best checkpoint, alone, holding ``data_state``."""
    ckpt = torch.load(run_dir / "checkpoints" / "best.ckpt", weights_only=True)
    ckpt["rnn_suite"]["data_state"] = data_state
    torch.save(ckpt, path)
    return path


def version_0(saved: dict) -> dict:
    """A data state in the layout checkpoints held before states had versions."""
    return {"info": {"tags": saved["tags"], "scheme": saved["scheme"], "crf": saved["crf"],
                     "words": {"itos": saved["words"]}, "chars": {"itos": saved["chars"]},
                     "lowercase": saved["lowercase"], "max_word_chars": saved["max_word_chars"],
                     "word_dim": saved["word_dim"],
                     "baseline": {"words": saved["baseline_words"], "default": saved["baseline_default"]}}}


@pytest.mark.realdata
def test_checkpoints_hold_a_versioned_data_state(ewt_run):
    _, run_dir, _ = ewt_run
    saved = saved_state(run_dir)
    assert saved["version"] == 1 and saved["scheme"] == "none" and saved["crf"] is False
    assert saved["aux_tags"] == [] and saved["trained_words"] is None and saved["vector_dim"] == 0
    state = TaggingState.from_dict(saved)
    assert state.to_dict() == saved and TaggingState.from_dict(state.to_dict()) == state
    assert state.words[:2] == ["<pad>", "<unk>"] and state.baseline_words["the"] == "DET"


@pytest.mark.realdata
def test_a_version_0_checkpoint_predicts_and_evaluates_as_before(ewt_run, tmp_path, data_root, capsys):
    _, run_dir, _ = ewt_run
    saved = saved_state(run_dir)
    assert TaggingState.from_dict(version_0(saved)) == TaggingState.from_dict(saved)
    old = checkpoint_with(run_dir, tmp_path / "old.ckpt", version_0(saved))
    other = head_sentences(data_root / "tagging/ud_english_ewt/en_ewt-ud-test.conllu", tmp_path / "t.conllu", 30)
    answers = []
    for ckpt in (run_dir / "checkpoints" / "best.ckpt", old):
        capsys.readouterr()
        assert main(["--checkpoint", str(ckpt), "--predict", "The cat sat on the mat ."]) == 0
        predicted = capsys.readouterr().out
        assert main(["--checkpoint", str(ckpt), "--evaluate", str(other)]) == 0
        report = json.loads(capsys.readouterr().out)
        answers.append((predicted, report["metrics"], report["baseline"], report["report"]))
    assert answers[0] == answers[1] and answers[0][0].startswith("The ")


@pytest.mark.realdata
@pytest.mark.parametrize("version, field", [(1, "words"), (1, "baseline_default"), (0, "chars"), (0, "info")])
def test_a_damaged_data_state_is_one_line_naming_the_field(ewt_run, tmp_path, capsys, version, field):
    _, run_dir, _ = ewt_run
    state = saved_state(run_dir) if version else version_0(saved_state(run_dir))
    (state["info"] if version == 0 and field != "info" else state).pop(field)
    if field == "info":
        state["other"] = 1
    damaged = checkpoint_with(run_dir, tmp_path / "damaged.ckpt", state)
    message = one_line_error(capsys, "--checkpoint", str(damaged), "--predict", "Go home !")
    assert message == f"{damaged}: its tagging data state is unreadable (field {field!r} is missing); not a " \
                      "checkpoint of this run, or damaged"


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

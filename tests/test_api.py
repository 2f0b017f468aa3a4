"""The Python API for every built-in task: train as the CLI does, load a run folder or a checkpoint file
alone (copied away from its run), predict and evaluate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from suite import api
from suite.errors import UserError
from test_tagging_data import head_sentences
from test_translation import slice_folder

WINDOW = ",".join(f"{i / 100:.2f}" for i in range(500))


def check_predictor_roundtrip(results: dict, tmp_path: Path, raw: str):
    """The run folder and its best checkpoint copied alone answer the same; the file needs nothing else."""
    run_dir = Path(results["run_dir"])
    from_run = api.load(run_dir)
    alone = tmp_path / "elsewhere" / "model.ckpt"
    alone.parent.mkdir()
    shutil.copy(run_dir / results["best_checkpoint"], alone)
    shutil.rmtree(run_dir)  # nothing of the run is left to lean on
    from_file = api.load(alone)
    assert from_file.task.name == from_run.task.name == results["task"]
    answer = from_file.predict(raw)
    assert json.dumps(answer, sort_keys=True, default=str) == json.dumps(from_run.predict(raw), sort_keys=True,
                                                                         default=str)
    return from_file, answer


def test_forecast_train_load_predict_evaluate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results = api.train("forecast", hidden=4, max_epochs=1, run_dir=tmp_path / "run")
    assert results["status"] == "finished" and results["run_dir"] == str(tmp_path / "run")
    assert (tmp_path / "run" / "results.json").exists() and "mse" in results["metrics"]["test"]
    model, answer = check_predictor_roundtrip(results, tmp_path, WINDOW)
    assert answer["targets"] == ["cos"] and len(answer["forecast"]["cos"]) == 1
    report = model.evaluate("cosine")
    assert set(report["metrics"]) >= {"mse", "mae"} and report["baseline"]["name"] == "repeat_last"


def test_settings_are_named_like_flags_and_checked(tmp_path):
    cfg = api.resolve("forecast", max_epochs=3, **{"train.lr": 0.02, "batch-size": 7})
    assert (cfg.train.max_epochs, cfg.train.lr, cfg.train.batch_size) == (3, 0.02, 7)
    with pytest.raises(UserError, match="unknown setting 'epochs'"):
        api.train("forecast", epochs=3, run_dir=tmp_path / "r")
    with pytest.raises(UserError, match="must be greater than 0"):
        api.train("forecast", lr=-1, run_dir=tmp_path / "r")
    assert not (tmp_path / "r").exists()


@pytest.mark.realdata
def test_sentiment(tmp_path, data_root):
    results = api.train("sentiment", data="sentiment/rt_polarity", limit=600, max_epochs=1, hidden=8,
                        embedding_dim=16, threads=1, data_root=str(data_root), run_dir=tmp_path / "run")
    model, answer = check_predictor_roundtrip(results, tmp_path, "a moving and beautifully acted film")
    assert answer["label"] in answer["probabilities"]


@pytest.mark.realdata
def test_tagging(tmp_path, data_root):
    source = data_root / "tagging" / "ud_english_ewt"
    for name, n in (("en_ewt-ud-train.conllu", 120), ("en_ewt-ud-dev.conllu", 30), ("en_ewt-ud-test.conllu", 30)):
        head_sentences(source / name, tmp_path / "ewt" / name, n)
    results = api.train("tagging", preset="none", data=str(tmp_path / "ewt"), max_epochs=1, hidden=16, word_dim=16,
                        char_features=8, threads=1, run_dir=tmp_path / "run")
    model, answer = check_predictor_roundtrip(results, tmp_path, "The cat sat on the mat .")
    assert [t for t in answer["tokens"]] == "The cat sat on the mat .".split()


@pytest.mark.realdata
def test_translation(tmp_path, data_root):
    folder = slice_folder(data_root, tmp_path / "m30k", sizes=(("train", 150), ("val", 20), ("test_2016_flickr", 20)))
    results = api.train("translation", data=str(folder), max_epochs=1, embedding=16, decoder_hidden=32, hidden=16,
                        source_vocab=200, target_vocab=200, beam_size=2, threads=1, run_dir=tmp_path / "run")
    model, answer = check_predictor_roundtrip(results, tmp_path, "Ein Hund läuft.")
    assert isinstance(answer["translation"], str)
    assert api.load(tmp_path / "elsewhere" / "model.ckpt", beam_size=1).config.options.beam_size == 1


@pytest.mark.realdata
def test_music(tmp_path, data_root, monkeypatch):
    monkeypatch.setenv("RNN_SUITE_CACHE", str(tmp_path / "cache"))
    full = json.loads((data_root / "music/jsb_chorales/jsb-chorales-quarter.json").read_text())
    data = tmp_path / "slice.json"
    data.write_text(json.dumps({"train": full["train"][:8], "valid": full["valid"][:2], "test": full["test"][:2]}))
    results = api.train("music", data=str(data), hidden=8, nade_hidden=8, max_epochs=1, batch_size=4, threads=1,
                        run_dir=tmp_path / "run")
    model, answer = check_predictor_roundtrip(results, tmp_path, "C4+E4+G4")
    # a seeded piece: identical from the folder and from the file alone, primer first
    assert answer["primer_steps"] >= 1 and len(answer["steps"]) > answer["primer_steps"]

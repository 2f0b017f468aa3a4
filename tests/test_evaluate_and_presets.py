"""The engine issue on --evaluate and presets: data given to --evaluate is the test set alone, read in the
trained run's languages, columns and formats; the music default stops on validation; the preset a run gets
does not depend on how its data path is spelt, and --print-config and the run summary say which it is."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from suite.cli import main
from suite.config import build_run_config
from suite.registry import get_task

SMALL = ["--max-epochs", "1", "--threads", "1", "--num-workers", "0"]


def train(capsys, run: Path, *args: str) -> Path:
    code = main([*args, *SMALL, "--run-dir", str(run)])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    return run


def evaluate(capsys, run: Path, data: Path | str, *extra: str) -> dict:
    code = main(["--checkpoint", str(run), "--evaluate", str(data), *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- 1. --evaluate reads the test set alone ------------------------------------------------------------
DE = ["ein hund läuft", "eine katze schläft", "der mann isst", "die frau liest", "ein kind spielt",
      "der hund schläft", "die katze läuft", "der mann liest"]
EN = ["a dog runs", "a cat sleeps", "the man eats", "the woman reads", "a child plays", "the dog sleeps",
      "the cat runs", "the man reads"]
TRANSLATION = ["--task", "translation", "--tokenizer", "word", "--source-vocab", "8", "--target-vocab", "8",
               "--hidden", "8", "--embedding", "8", "--decoder-hidden", "8", "--beam-size", "1",
               "--batch-size", "4"]


@pytest.fixture(scope="module")
def translation_run(tmp_path_factory):
    """A de-en model trained on a folder (its --pair-columns stay the task's default en,fr)."""
    root = tmp_path_factory.mktemp("translation")
    for lang, lines in (("de", DE), ("en", EN)):
        write_lines(root / "data" / f"train.{lang}", lines[:6])
        write_lines(root / "data" / f"val.{lang}", lines[6:])
    run = root / "run"
    assert main([*TRANSLATION, "--data", str(root / "data"), *SMALL, "--run-dir", str(run)]) == 0
    return run


def test_translation_evaluates_a_folder_holding_only_a_test_split(translation_run, tmp_path, capsys):
    write_lines(tmp_path / "only" / "test.de", DE[:3])
    write_lines(tmp_path / "only" / "test.en", EN[:3])
    capsys.readouterr()
    report = evaluate(capsys, translation_run, tmp_path / "only")
    assert report["examples"] == 3 and "bleu" in report["metrics"] and report["split"] == "test.de/.en"


def test_translation_reads_a_pairs_file_in_the_trained_languages(translation_run, tmp_path, capsys):
    pairs = write_lines(tmp_path / "pairs.tsv", [f"{d}\t{e}\tCC-BY" for d, e in zip(DE[:4], EN[:4])])
    capsys.readouterr()
    report = evaluate(capsys, translation_run, pairs)  # de<TAB>en without repeating --pair-columns de,en
    assert report["examples"] == 4
    swapped = write_lines(tmp_path / "swapped.tsv", [f"{e}\t{d}" for d, e in zip(DE[:4], EN[:4])])
    assert evaluate(capsys, translation_run, swapped, "--pair-columns", "en,de")["examples"] == 4
    # a folder without the model's languages is one line naming what it lacks
    write_lines(tmp_path / "fr" / "test.fr", ["un chien court"])
    assert main(["--checkpoint", str(translation_run), "--evaluate", str(tmp_path / "fr")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "test.de" in err, err


def rolls(rng, pieces: int, steps: int = 12) -> list[list[list[int]]]:
    return [[sorted({int(p) for p in rng.integers(55, 75, size=3)}) for _ in range(steps)] for _ in range(pieces)]


@pytest.fixture(scope="module")
def music_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("music")
    rng = np.random.default_rng(0)
    data = root / "rolls.json"
    data.write_text(json.dumps({"train": rolls(rng, 6), "valid": rolls(rng, 2), "test": rolls(rng, 2)}))
    run = root / "run"
    assert main(["--task", "music", "--data", str(data), "--hidden", "8", "--nade-hidden", "8",
                 "--batch-size", "4", *SMALL, "--run-dir", str(run)]) == 0
    return run


def test_music_evaluates_a_mat_or_json_file_holding_only_a_test_split(music_run, tmp_path, capsys):
    from scipy.io import savemat

    rng = np.random.default_rng(1)
    cell = np.empty((1, 3), dtype=object)
    for i in range(3):
        cell[0, i] = (rng.random((10, 88)) < 0.05).astype(np.float64)
        cell[0, i][0, 40] = 1.0  # no piece is silent
    savemat(tmp_path / "test.mat", {"testdata": cell})
    capsys.readouterr()
    report = evaluate(capsys, music_run, tmp_path / "test.mat")
    assert report["examples"] == 3 and np.isfinite(report["metrics"]["nll"])
    (tmp_path / "test.json").write_text(json.dumps({"test": rolls(rng, 4)}))
    assert evaluate(capsys, music_run, tmp_path / "test.json")["examples"] == 4
    savemat(tmp_path / "other.mat", {"songs": cell})
    assert main(["--checkpoint", str(music_run), "--evaluate", str(tmp_path / "other.mat")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "testdata" in err and "songs" in err, err


def test_music_scores_a_folder_of_scores_whole(tmp_path):
    """A folder given to --evaluate is the test set: every piece, not a tenth of them."""
    from tasks.music.data import MusicDataModule, MusicState
    from tasks.music.scores import roll_to_score

    rng = np.random.default_rng(2)
    folder = tmp_path / "pieces"
    folder.mkdir()
    for i in range(5):
        roll = np.zeros((8, 88), dtype=np.uint8)
        roll[np.arange(8), rng.integers(30, 50, size=8)] = 1
        roll_to_score(roll, 1.0).write("midi", fp=str(folder / f"piece{i}.mid"))
    task = get_task("music")
    cfg = build_run_config(task, explicit={"options.data": str(folder)})
    dm = MusicDataModule(cfg, MusicState.of(cfg.options), test_data=str(folder))
    dm.setup("test")
    assert len(dm.test_set) == 5 and dm.test_split == "all pieces"


SENTIMENT_ROWS = [("a wonderful moving film", 1), ("a dull boring mess", 0), ("great acting and a great story", 1),
                  ("boring and far too long", 0), ("wonderful music", 1), ("a mess of a plot", 0),
                  ("great fun", 1), ("dull", 0), ("moving and wonderful", 1), ("too long and dull", 0)]


def write_table(path: Path, rows) -> Path:
    return write_lines(path, ["review,stars"] + [f'"{t}",{y}' for t, y in rows])


def test_sentiment_evaluates_a_folder_holding_only_a_test_or_dev_split(tmp_path, capsys):
    data = write_table(tmp_path / "train.csv", SENTIMENT_ROWS * 2)
    run = train(capsys, tmp_path / "run", "--task", "sentiment", "--data", str(data), "--hidden", "8",
                "--embedding-dim", "8", "--min-freq", "1")
    write_table(tmp_path / "only" / "test.csv", SENTIMENT_ROWS[:3])
    report = evaluate(capsys, run, tmp_path / "only")
    assert report["examples"] == 3 and "acc" in report["metrics"]
    write_table(tmp_path / "dev" / "dev.csv", SENTIMENT_ROWS[:5])
    report = evaluate(capsys, run, tmp_path / "dev")
    assert report["examples"] == 5 and report["split"] == "dev.csv"


def conll(path: Path, sentences) -> Path:
    return write_lines(path, [line for s in sentences for line in [*(f"{w}\t{t}" for w, t in s), ""]])


TAGGED = [[("the", "DET"), ("dog", "NOUN"), ("runs", "VERB")], [("a", "DET"), ("cat", "NOUN"), ("sleeps", "VERB")],
          [("the", "DET"), ("man", "NOUN"), ("reads", "VERB")], [("a", "DET"), ("child", "NOUN"), ("plays", "VERB")]]


def test_tagging_evaluates_a_folder_holding_only_a_dev_split(tmp_path, capsys):
    folder = tmp_path / "data"
    conll(folder / "toy-train.conll", TAGGED * 3)
    conll(folder / "toy-dev.conll", TAGGED[:2])
    run = train(capsys, tmp_path / "run", "--task", "tagging", "--data", str(folder), "--hidden", "8",
                "--word-dim", "8", "--char-dim", "4", "--char-features", "4")
    conll(tmp_path / "only" / "other-test.conll", TAGGED[:3])
    assert evaluate(capsys, run, tmp_path / "only")["examples"] == 3
    conll(tmp_path / "dev" / "other-dev.conll", TAGGED[:2])
    report = evaluate(capsys, run, tmp_path / "dev")
    assert report["examples"] == 2 and report["split"] == "other-dev.conll"


def test_forecast_evaluates_a_file_holding_only_a_test_stretch(tmp_path, capsys):
    t = np.arange(300)
    write_lines(tmp_path / "train.csv", ["y"] + [f"{v:.5f}" for v in np.sin(t / 8)])
    run = train(capsys, tmp_path / "run", "--task", "forecast", "--data", str(tmp_path / "train.csv"),
                "--lookback", "8", "--horizon", "2", "--segment", "4", "--hidden", "4")
    write_lines(tmp_path / "test.csv", ["y"] + [f"{v:.5f}" for v in np.sin(t[:30] / 8 + 1)])
    assert evaluate(capsys, run, tmp_path / "test.csv")["examples"] == 30 - 8 - 2 + 1


# --- 2. the music default stops on validation -----------------------------------------------------------
def test_music_defaults_stop_on_validation():
    cfg = build_run_config(get_task("music"))
    assert cfg.train.patience > 0 and cfg.train.max_epochs >= 20
    docs = (Path(__file__).resolve().parent.parent / "docs" / "tasks" / "music.md").read_text(encoding="utf-8")
    assert f"--patience {cfg.train.patience}" in docs or f"patience {cfg.train.patience}" in docs


# --- 3. presets do not depend on how a path is spelt -----------------------------------------------------
def spellings(data_root: Path) -> list[str]:
    absolute = (data_root / "tagging" / "ud_english_ewt").resolve()
    relative = os.path.relpath(data_root / "tagging" / "wnut17" / ".." / "ud_english_ewt")
    return ["tagging/ud_english_ewt", str(absolute), relative, str(absolute) + "/"]


@pytest.mark.realdata
def test_the_preset_does_not_depend_on_how_the_data_path_is_spelt(data_root):
    task = get_task("tagging")
    configs = []
    for given in spellings(data_root):
        cfg = build_run_config(task, explicit={"options.data": given}, data_root=str(data_root)).to_dict()
        assert cfg["options"].pop("data") == str((data_root / "tagging" / "ud_english_ewt").resolve())
        configs.append(cfg)
    assert configs[0]["preset"] == "ewt" and configs[0]["options"]["vector_words"] > 0
    assert all(c == configs[0] for c in configs), [c["preset"] for c in configs]
    assert build_run_config(task, data_root=str(data_root)).to_dict()["preset"] == "ewt"
    other = build_run_config(task, explicit={"options.data": str(data_root / "tagging" / "wnut17")},
                             data_root=str(data_root))
    assert other.preset is None


@pytest.mark.realdata
def test_a_path_to_the_default_dataset_with_no_data_root_gets_its_preset_and_its_other_data(data_root, monkeypatch):
    """``--data ../shared/data/tagging/ud_english_ewt`` with no data root set: the path implies the root, so
    the run gets the ewt preset, and the preset's word-vector text is found beside it."""
    monkeypatch.delenv("RNN_SUITE_DATA", raising=False)
    task = get_task("tagging")
    for given in spellings(data_root)[1:]:
        cfg = build_run_config(task, explicit={"options.data": given})
        assert cfg.preset == "ewt", given
        assert cfg.options.vectors_from == str((data_root / "sentiment" / "imdb").resolve())
    assert build_run_config(task, explicit={"options.data": str(data_root / "tagging" / "wnut17")}).preset is None


@pytest.mark.realdata
def test_print_config_says_which_preset_and_why(data_root, capsys):
    absolute = str((data_root / "tagging" / "ud_english_ewt").resolve())
    assert main(["--task", "tagging", "--data", absolute, "--data-root", str(data_root), "--print-config"]) == 0
    out, err = capsys.readouterr()
    assert "preset: ewt" in out
    assert "preset ewt" in err and "--preset none" in err, err
    assert main(["--task", "tagging", "--data", str(data_root / "tagging" / "wnut17"),
                 "--data-root", str(data_root), "--print-config"]) == 0
    out, err = capsys.readouterr()
    assert "preset: null" in out and "no preset" in err and "wnut17" in err, err
    assert main(["--task", "tagging", "--preset", "wnut17", "--data-root", str(data_root), "--print-config"]) == 0
    assert "preset wnut17 (--preset)" in capsys.readouterr().err


def test_a_saved_config_keeps_its_preset_or_its_lack_of_one(tmp_path, capsys):
    (tmp_path / "plain.yaml").write_text("task: forecast\npreset: null\n")
    assert main(["--config", str(tmp_path / "plain.yaml"), "--print-config"]) == 0
    out, err = capsys.readouterr()
    assert "preset: null" in out and "no preset" in err, err


def test_the_run_summary_names_the_preset(tmp_path, capsys):
    assert main(["--task", "forecast", "--hidden", "4", *SMALL, "--run-dir", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "preset: seed" in out, out
    assert main(["--task", "forecast", "--hidden", "4", "--preset", "none", *SMALL,
                 "--run-dir", str(tmp_path / "plain")]) == 0
    assert "preset: none" in capsys.readouterr().out

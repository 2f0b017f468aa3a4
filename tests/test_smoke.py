"""Every installed task, end to end under --fast-dev-run, and each of its presets built on a few rows.

Quick checks that an engine change, a new preset or a new plugin still fits every task: the first
trains one batch through ``main.py --task NAME --fast-dev-run`` (in this process) and reads the
results.json it wrote; the second resolves every preset's configuration, reads a little of its data,
builds its model and runs one training and one validation step, with no Trainer.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import torch

from helpers import read_results
from suite.config import NO_PRESET, build_run_config
from suite.registry import get_task, task_names
from test_tagging_data import head_sentences

#: tasks whose default data is in the shared data root (forecast's wave and music's Bach chorales are built in)
READS_SHARED_DATA = {"sentiment", "tagging", "translation"}

EWT_FILES = ("en_ewt-ud-train.conllu", "en_ewt-ud-dev.conllu", "en_ewt-ud-test.conllu")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Small copies, in the real files' formats, of the data too big for a smoke test; made on first use."""
    folder = tmp_path_factory.mktemp("small")
    made: dict[str, Path] = {}

    def get(name: str, data_root: Path) -> Path:
        if name in made:
            return made[name]
        if name == "imdb":  # 50,000 reviews: 60 of each class per split, train.csv.gz and test.csv.gz as in IMDB
            out = folder / "imdb"
            out.mkdir()
            for split in ("train", "test"):
                frame = pd.read_csv(data_root / "sentiment" / "imdb" / f"{split}.csv.gz")
                frame.groupby("label").head(60).to_csv(out / f"{split}.csv.gz", index=False)
        elif name == "ewt":  # 16,600 sentences: the first 150 of each split, CoNLL-U
            out = folder / "ewt"
            for file in EWT_FILES:
                head_sentences(data_root / "tagging" / "ud_english_ewt" / file, out / file, 150)
        else:
            raise KeyError(name)
        made[name] = out
        return out
    return get


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def workdir(tmp_path, module_cache, monkeypatch):
    """A fresh working folder with runs under it; the caches (music's parsed corpus, word vectors) are
    shared by the whole module, so each is made once."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RNN_SUITE_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("RNN_SUITE_CACHE", str(module_cache))
    threads = torch.get_num_threads()
    yield tmp_path
    torch.set_num_threads(threads)  # --threads 1 sets it for the whole process


def _task_param(name: str):
    return pytest.param(name, marks=pytest.mark.realdata) if name in READS_SHARED_DATA else name


def _root(request, name: str) -> Path | None:
    return request.getfixturevalue("data_root") if name in READS_SHARED_DATA else None


# --- 1. --fast-dev-run end to end ----------------------------------------------------------------

def fast_flags(name: str, root: Path | None, small) -> list[str]:
    """Small models on small data: one batch is all a fast dev run trains, but the data is read whole."""
    if name == "forecast":
        return ["--hidden", "8"]
    if name == "sentiment":  # the real rt-polarity reviews (10,662 lines) rather than IMDB's 50,000
        return ["--data", "sentiment/rt_polarity", "--hidden", "8", "--embedding-dim", "16"]
    if name == "tagging":  # EWT as the preset reads it; the word vectors learnt from an IMDB slice (IMDB: ~30 s)
        return ["--vectors-from", str(small("imdb", root)), "--hidden", "16", "--word-dim", "16",
                "--char-features", "8"]
    if name == "translation":  # Multi30k, its first 500 training pairs
        return ["--max-pairs", "500", "--hidden", "16", "--embedding", "16", "--decoder-hidden", "32",
                "--source-vocab", "300", "--target-vocab", "300", "--beam-size", "2"]
    if name == "music":  # 12 of music21's Bach chorales (a fixed shuffled split: 10/1/1)
        return ["--max-files", "12", "--hidden", "16", "--nade-hidden", "16"]
    return []  # a plugin: its own defaults


@pytest.mark.parametrize("name", [_task_param(n) for n in task_names()])
def test_fast_dev_run_trains_one_batch_and_writes_results(name, workdir, request, small, capsys):
    from suite.cli import main

    root = _root(request, name)
    run_dir = workdir / "run"
    argv = ["--task", name, "--fast-dev-run", "--threads", "1", "--run-dir", str(run_dir),
            *fast_flags(name, root, small)]
    if root is not None:
        argv += ["--data-root", str(root)]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    results = read_results(run_dir)
    assert results["status"] == "finished" and results["fast_dev_run"] is True
    assert results["config"]["train"]["fast_dev_run"] is True
    assert results["global_steps"] == 1  # one training batch
    # Lightning saves no checkpoint in a fast dev run: the run keeps last.ckpt, validated and tested
    assert results["best_checkpoint"] == "checkpoints/last.ckpt" and (run_dir / "checkpoints/last.ckpt").is_file()
    assert results["metrics"]["val"] and results["metrics"]["test"]
    assert all(math.isfinite(v) for v in results["metrics"]["test"].values() if v is not None)
    assert all((run_dir / p).is_file() for p in results["outputs"])
    assert f"{name} finished" in out and "last.ckpt" in out
    assert not (run_dir / "logs").exists()


# --- 2. every preset builds its model and takes a step -------------------------------------------

def preset_cases() -> list:
    cases = []
    for name in task_names():
        for preset in (NO_PRESET, *get_task(name).presets):
            marks = [pytest.mark.realdata] if name in READS_SHARED_DATA else []
            cases.append(pytest.param(name, preset, marks=marks, id=f"{name}-{preset}"))
    return cases


def small_data(name: str, preset: str, root: Path | None, small) -> dict:
    """Dotted overrides that shrink a preset's data (the model stays the preset's own)."""
    if name == "sentiment":  # IMDB is every sentiment preset's data: a slice of the same two files
        return {"options.data": str(small("imdb", root))}
    if name == "tagging":
        # a slice of EWT (the default data, and WNUT-17's auxiliary corpus); every preset learns its word
        # vectors from IMDB: from the IMDB slice here
        ewt = str(small("ewt", root))
        settings = {"options.data": ewt} if preset != "wnut17" else {"options.aux_data": ewt}
        return {**settings, **({"options.vectors_from": str(small("imdb", root))} if preset != NO_PRESET else {})}
    if name == "translation":  # Multi30k and Tatoeba: the first 300 training pairs
        return {"options.max_pairs": 300}
    if name == "music":  # the Bach chorales: 10 of them (8/1/1)
        return {"options.max_files": 10}
    return {}


def _first(loader):
    return next(iter(loader))


@pytest.mark.filterwarnings("ignore:You are trying to `self.log\\(\\)`")  # no Trainer: nothing to log to
@pytest.mark.filterwarnings("ignore:.*does not occur in the training data")  # a slice's rare tags
@pytest.mark.parametrize("name, preset", preset_cases())
def test_every_preset_builds_its_model_and_steps_once(name, preset, workdir, request, small):
    task = get_task(name)
    root = _root(request, name)
    cfg = build_run_config(task, preset=preset, explicit=small_data(name, preset, root, small),
                           data_root=str(root) if root else None)
    assert cfg.preset == (None if preset == NO_PRESET else preset)
    torch.manual_seed(0)
    datamodule = task.datamodule(cfg)
    datamodule.setup("fit")
    model = task.model(cfg, datamodule)
    model.train()
    loss = model.training_step(_first(datamodule.train_dataloader()), 0)
    assert torch.isfinite(loss), loss
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    model.eval()
    with torch.no_grad():
        model.validation_step(_first(datamodule.val_dataloader()), 0)

"""Translation's BLEU and chrF under DDP: the whole split is scored, not one rank's shard.

A tiny model is trained once in this process on a synthetic corpus (no shared data needed). Its best
checkpoint is then validated and tested by a 2-process gloo DDP run on the CPU (this file run as a
script; Lightning starts the second rank by running it again), and every rank's figures must equal the
single-process ones the training run reported. The validation and test splits have odd sizes, so
Lightning's DistributedSampler repeats an example to even out the ranks and the repeat must not count.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, cli_env

VAL, TEST = 33, 31  # odd: the distributed sampler pads each split with one repeated example

# a word-for-word "translation" with a small vocabulary: a tiny model learns it in a few epochs, so the
# scores are far from zero and a shard's figure differs from the whole split's
SOURCE = ["ein", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun",
          "zehn", "hund", "katze", "haus", "baum", "rot", "blau", "groß", "klein"]
TARGET = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
          "ten", "dog", "cat", "house", "tree", "red", "blue", "big", "small"]


def write_corpus(folder: Path) -> Path:
    rng = random.Random(0)
    lexicon = dict(zip(SOURCE, TARGET))
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", 400), ("val", VAL), ("test", TEST)):
        pairs = []
        for _ in range(n):
            words = [rng.choice(SOURCE) for _ in range(rng.randint(3, 7))]
            pairs.append((" ".join(words), " ".join(lexicon[w] for w in words)))
        (folder / f"{split}.de").write_text("".join(s + "\n" for s, _ in pairs), encoding="utf-8")
        (folder / f"{split}.en").write_text("".join(t + "\n" for _, t in pairs), encoding="utf-8")
    return folder


def evaluate_run(run_dir: str, devices: int, out_dir: str) -> None:
    """Validate and test a run's best checkpoint on ``devices`` CPU processes; each rank writes its
    figures to ``out_dir/rank<N>.json``."""
    import lightning as L
    import torch
    from suite.config import build_run_config
    from suite.registry import get_task
    from suite.runs import Run
    from suite.trained import for_inference, load_trained
    from suite.training import quiet_libraries, strip_stage

    quiet_libraries()
    torch.set_num_threads(1)  # two ranks share the machine's cores
    run = Run.open(run_dir)
    saved = run.read_config()
    task = get_task(saved["task"])
    cfg = build_run_config(task, file_data=for_inference(saved), file_name=str(run.config_path))
    trained = load_trained(task, cfg, run)
    model, dm = trained.model, trained.datamodule
    # the task's own bucketed loaders, which shard themselves under DDP (padding included), as in training
    trainer = L.Trainer(accelerator="cpu", devices=devices, strategy="ddp" if devices > 1 else "auto",
                        use_distributed_sampler=False, logger=False, enable_progress_bar=False, enable_model_summary=False,
                        enable_checkpointing=False)
    val = trainer.validate(model, datamodule=dm, verbose=False)
    test = trainer.test(model, datamodule=dm, verbose=False)
    figures = {"val": strip_stage(val[0], "val"), "test": strip_stage(test[0], "test"),
               "world_size": trainer.world_size, "val_size": len(dm.val_set),
               # what translations.tsv is written from (on rank zero): every test sentence once
               "test_translated": {name: sorted(dict(rows)) for name, rows in model.test_outputs.items()}}
    Path(out_dir, f"rank{trainer.global_rank}.json").write_text(json.dumps(figures))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run trained in one process: its folder and the figures it reported (results.json)."""
    from suite import api

    root = tmp_path_factory.mktemp("translation_ddp")
    corpus = write_corpus(root / "corpus")
    results = api.train("translation", run_dir=root / "run", data=str(corpus), tokenizer="word", hidden=32,
                        embedding=32, decoder_hidden=64, io_dropout=0.0, batch_size=16, lr=0.01, max_epochs=3,
                        beam_size=2, threads=1, seed=0)
    return root, results


def test_ddp_validation_and_test_scores_cover_the_whole_split(trained):
    root, single = trained
    assert single["data"]["val"] == VAL and single["data"]["test"] == TEST
    # scores that a shard could not reproduce by chance
    assert single["metrics"]["val"]["bleu"] > 5 and single["metrics"]["test"]["chrf"] > 10, single["metrics"]

    out = root / "ddp"
    out.mkdir()
    done = subprocess.run([sys.executable, __file__, single["run_dir"], "2", str(out)], cwd=REPO, env=cli_env(),
                          capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    for figures in ranks:
        assert figures["world_size"] == 2 and figures["val_size"] == VAL
        for stage, names in (("val", ("bleu", "chrf")),
                             ("test", ("bleu", "chrf", "bleu_greedy", "chrf_greedy"))):
            for name in names:
                assert figures[stage][name] == pytest.approx(single["metrics"][stage][name], abs=1e-6), \
                    (stage, name, figures[stage], single["metrics"][stage])
        assert figures["test_translated"] == {"beam": list(range(TEST)), "greedy": list(range(TEST))}


if __name__ == "__main__":  # python tests/test_translation_ddp.py RUN_DIR DEVICES OUT_DIR (the DDP evaluation)
    evaluate_run(sys.argv[1], int(sys.argv[2]), sys.argv[3])

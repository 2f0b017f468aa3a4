"""The sentiment model's n-gram shortcut (NBSVM's features beside the encoder): its hashed n-grams against a
plain Python enumeration, its naive Bayes ratios against numpy, padding and batch invariance, what the
branch costs in parameters, and a trained run's answers after save and load; on full IMDB (slow), the
default model's test accuracy."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from suite.config import build_run_config
from suite.data.text import pad_batch
from suite.registry import get_task
from tasks.sentiment.models import NgramLogits

TASK = get_task("sentiment")

#: token-id texts of a toy corpus (0 is padding, 1 <unk>), with a repeated bigram and a one-word text
TOY = [[2, 3, 4, 2, 3], [5, 6], [2, 3, 7, 7, 7, 8], [9], [4, 5, 6, 4, 1, 2]]
TOY_LABELS = [1, 0, 1, 0, 1]


def python_buckets(ids: list[int], order: int, vocab: int, buckets: int) -> set[int]:
    """The distinct buckets of a text's n-grams, by the documented rule written out: an n-gram's key is its
    ids in base ``vocab`` after the keys of every shorter order, modulo ``buckets``."""
    out, offset = set(), 0
    for n in range(1, order + 1):
        for start in range(len(ids) - n + 1):
            key = 0
            for token in ids[start:start + n]:
                key = key * vocab + token
            out.add((key + offset) % buckets)
        offset += vocab ** n
    return out


def model_buckets(branch: NgramLogits, texts: list[list[int]]) -> list[set[int]]:
    ids, _ = pad_batch([torch.tensor(t) for t in texts])
    key, keep = branch.hashed(ids)
    assert int(keep.sum()) == sum(int(k.unique().numel()) for k in (key[r][keep[r]] for r in range(len(texts))))
    return [set(key[r][keep[r]].tolist()) for r in range(len(texts))]


@pytest.mark.parametrize("order, buckets", [(1, 1000), (2, 1000), (3, 97), (3, 1_000_003)])
def test_hashed_ngrams_are_each_texts_distinct_ngrams(order, buckets):
    branch = NgramLogits(10, order, buckets, 1)
    assert model_buckets(branch, TOY) == [python_buckets(t, order, 10, buckets) for t in TOY]
    # a huge vocabulary cannot overflow int64 (the key is reduced at every word)
    big = NgramLogits(3_000_000, 3, 1_000_003, 1)
    text = [2_999_999, 2_999_998, 2_999_997]
    assert model_buckets(big, [text]) == [python_buckets(text, 3, 3_000_000, 1_000_003)]


def toy_features(order: int, vocab: int, buckets: int) -> np.ndarray:
    x = np.zeros((len(TOY), buckets))  # binarised: a text has a bucket or not
    for row, text in enumerate(TOY):
        x[row, sorted(python_buckets(text, order, vocab, buckets))] = 1
    return x


def nb_ratios(x: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Wang & Manning's ratios over the buckets some training text has (the others: 0, no feature)."""
    used = x.sum(axis=0) > 0
    p, q = 1 + x[positive][:, used].sum(axis=0), 1 + x[~positive][:, used].sum(axis=0)
    r = np.zeros(x.shape[1])
    r[used] = np.log((p / p.sum()) / (q / q.sum()))
    return r


def test_naive_bayes_ratios_equal_a_direct_numpy_computation():
    x, y = toy_features(2, 10, 211), np.array(TOY_LABELS)
    branch = NgramLogits(10, 2, 211, 1)
    branch.fit([torch.tensor(t) for t in TOY], torch.tensor(TOY_LABELS), 2)
    np.testing.assert_allclose(branch.ratios[:, 0].numpy(), nb_ratios(x, y == 1), rtol=1e-6, atol=1e-7)
    # three classes: one column per class, each against the rest
    labels = np.array([0, 1, 2, 1, 0])
    three = NgramLogits(10, 2, 211, 3)
    three.fit([torch.tensor(t) for t in TOY], torch.tensor(labels), 3)
    for c in range(3):
        np.testing.assert_allclose(three.ratios[:, c].numpy(), nb_ratios(x, labels == c), rtol=1e-6, atol=1e-7)


def test_the_fitted_weights_are_scikit_learns_logistic_regression():
    """The member's L-BFGS fit is L2 logistic regression at NBSVM's C=1 on the NB-scaled features, the
    bias unpenalised: the minimum scikit-learn's lbfgs solver finds for the same objective."""
    from sklearn.linear_model import LogisticRegression

    x, y = toy_features(2, 10, 211), np.array(TOY_LABELS)
    r = nb_ratios(x, y == 1)
    want = LogisticRegression(C=1.0, solver="lbfgs", tol=1e-10, max_iter=10_000).fit(x * r, y)
    branch = NgramLogits(10, 2, 211, 1)
    branch.fit([torch.tensor(t) for t in TOY], torch.tensor(TOY_LABELS), 2)
    np.testing.assert_allclose(branch.weight[:, 0].numpy(), want.coef_[0], atol=1e-5)
    np.testing.assert_allclose(float(branch.bias[0]), want.intercept_[0], atol=1e-5)
    margins = branch(pad_batch([torch.tensor(t) for t in TOY])[0])[:, 0]
    np.testing.assert_allclose(margins.numpy(), want.decision_function(x * r), atol=1e-5)


def test_the_logit_is_the_ratio_weighted_sum_over_distinct_ngrams():
    branch = NgramLogits(10, 2, 101, 1).eval()
    branch.fit([torch.tensor(t) for t in TOY], torch.tensor(TOY_LABELS), 2)
    with torch.no_grad():
        branch.weight.normal_()
    ids, _ = pad_batch([torch.tensor(t) for t in TOY])
    got = branch(ids)[:, 0]
    r, w, b = branch.ratios[:, 0], branch.weight[:, 0], float(branch.bias[0])
    want = [b + sum(float(r[k] * w[k]) for k in python_buckets(t, 2, 10, 101)) for t in TOY]
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)


# --- in the model, on a real slice ----------------------------------------------------------------

def setup(data_root, **options):
    explicit = {"options.data": str(data_root / "sentiment/rt_polarity"), "options.limit": 300,
                "backbone.hidden": 8, "options.embedding_dim": 8, "options.ngram_buckets": 5003,
                **{f"options.{k}": v for k, v in options.items()}}
    cfg = build_run_config(TASK, explicit=explicit)
    dm = TASK.datamodule(cfg)
    dm.setup("fit")
    return cfg, dm


@pytest.mark.realdata
def test_the_branch_reads_the_ids_training_and_prediction_read(data_root):
    """The shortcut hashes the same (ids, lengths) the encoder reads, so a validation text as batched in
    training, alone, and as predict() encodes it gives the same n-grams and the same logit."""
    cfg, dm = setup(data_root)
    model = TASK.model(cfg, dm).eval()
    assert model.ngrams is not None and model.ngrams.weight.abs().sum() > 0  # fitted on the training split
    rows = [0, 1, 2, 3]
    ids, lengths, _, _ = dm.val_set.__getitems__(rows)
    pre = model.preprocessor
    with torch.no_grad():
        batched = model.ngrams(ids)
        for row in rows:
            text = dm.val_set.texts[row]
            predicted = torch.tensor([pre.ids(pre.tokens(text))[0] or [1]])
            assert torch.equal(predicted[0], dm.val_set.ids[row])
            alone = model.ngrams(predicted)
            assert torch.allclose(alone[0], batched[row], atol=1e-5)
            in_batch = ids[row][:lengths[row]].tolist()
            assert model_buckets(model.ngrams, [predicted[0].tolist()]) == model_buckets(model.ngrams, [in_batch])


@pytest.mark.realdata
def test_the_branch_costs_one_weight_per_bucket_and_output(data_root):
    on_cfg, dm = setup(data_root)
    off_cfg, _ = setup(data_root, ngrams=0)
    count = lambda cfg: sum(p.numel() for p in TASK.model(cfg, dm).parameters())  # noqa: E731
    assert count(on_cfg) - count(off_cfg) == 5003 * 1 + 1  # a weight per bucket, and the bias
    trainable = lambda cfg: sum(p.numel() for p in TASK.model(cfg, dm).parameters() if p.requires_grad)  # noqa: E731
    assert trainable(on_cfg) == trainable(off_cfg)  # fitted, not trained
    assert build_run_config(TASK, preset="seed").options.ngrams == 0  # the seed tutorial's model is kept


@pytest.mark.realdata
def test_training_moves_the_encoder_and_not_the_fitted_member(data_root):
    """The encoder learns on its own loss; the answer is the mean of the two members' logits."""
    cfg, dm = setup(data_root)
    model = TASK.model(cfg, dm)
    fitted = model.ngrams.weight.clone()
    before = model.classifier.weight.detach().clone()
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    batch = dm.train_set.__getitems__(list(range(16)))
    model.step(batch, "train").backward()
    optimiser.step()
    assert torch.equal(model.ngrams.weight, fitted) and not torch.equal(model.classifier.weight, before)
    model.eval()
    ids, lengths, _, _ = batch
    with torch.no_grad():
        encoder, ngrams = model.members(ids, lengths)
        assert torch.allclose(model(ids, lengths), (encoder + ngrams) / 2)


@pytest.mark.realdata
def test_a_trained_run_predicts_the_same_after_save_and_load(tmp_path, data_root):
    from suite import api

    run = tmp_path / "run"
    api.train("sentiment", data=str(data_root / "sentiment" / "rt_polarity"), limit=300, max_epochs=1, hidden=8,
              embedding_dim=8, ngram_buckets=5003, threads=1, run_dir=run)
    texts = ["a moving , beautifully acted film", "dull , lifeless and far too long", "zxqv blorft"]
    loaded = api.load(run)
    again = api.load(run / "checkpoints" / "best.ckpt")
    assert loaded.model.ngrams is not None
    assert torch.equal(loaded.model.ngrams.weight, again.model.ngrams.weight)
    assert loaded.model.ngrams.weight.abs().sum() > 0  # trained, not the zeros it starts from
    assert [loaded.predict(t) for t in texts] == [again.predict(t) for t in texts]
    # the branch moves the answers: without it the same weights give other probabilities
    ids = torch.tensor([loaded.model.preprocessor.ids(loaded.model.preprocessor.tokens(texts[0]))[0]])
    with torch.no_grad():
        full = loaded.model(ids, torch.tensor([ids.shape[1]]))
        branch = loaded.model.ngrams(ids)[0, 0]
    assert float(branch) != 0.0 and torch.isfinite(full).all()


@pytest.mark.realdata
def test_a_checkpoint_without_the_branch_loads_as_it_was(tmp_path, data_root):
    """A run trained before the shortcut existed (its config.yaml has no ngrams option, so the default
    switches it on) loads its weights as they were, and answers as it did."""
    off_cfg, dm = setup(data_root, ngrams=0)
    old = TASK.model(off_cfg, dm).eval()
    on_cfg, _ = setup(data_root)
    restored_dm = TASK.datamodule(on_cfg)
    restored_dm.load_state_dict(json.loads(json.dumps(dm.state_dict())))
    restored = TASK.model(on_cfg, restored_dm)
    restored.load_state_dict(old.state_dict())
    assert restored.ngrams is None
    text = "the plot is thin but the cast is wonderful"
    assert TASK.predict(restored, text) == TASK.predict(old, text)


def test_bad_ngram_options_are_one_line_exit_2(capsys):
    from suite.cli import main

    assert main(["--task", "sentiment", "--ngrams", "4", "--print-config"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ngrams" in err[0] and "3" in err[0]


# --- quality on full IMDB ---------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.xfail(strict=True, reason="issue 20 is open: 0.9094 and 0.9076 measured (seeds 0, 1) against "
                                       "nbsvm's 0.9084 and 0.9094 (docs/tasks/sentiment.md, Measured)")
def test_default_model_beats_the_strong_baselines_on_imdb(tmp_path, data_root):
    """Issue 20: the default model, trained from scratch on IMDB's training split, reaches test accuracy
    >= 0.912 and is above the strong baseline fitted in the same run (tens of minutes on 2 CPU cores)."""
    from suite import api

    run = tmp_path / "imdb"
    api.train("sentiment", data=str(data_root / "sentiment" / "imdb"), run_dir=run)
    results = json.loads((run / "results.json").read_text())
    acc = results["metrics"]["test"]["acc"]
    strong = results["baseline"]["others"][results["baseline"]["strong"]]["test"]["acc"]
    assert acc >= 0.912 and acc > strong, (acc, strong)


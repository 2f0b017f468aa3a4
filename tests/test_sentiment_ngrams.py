"""The sentiment model's n-gram shortcut (NBSVM's features beside the encoder): its hashed n-grams against a
plain Python enumeration, its naive Bayes ratios against numpy, padding and batch invariance, what the
branch costs in parameters, and a trained run's answers after save and load; the mixing of the two members'
logits, fitted on validation (against scikit-learn, in a trained run, in the checkpoint, --predict and the
exported graph); on full IMDB (slow), the default model's test accuracy."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from suite.config import build_run_config
from suite.data.text import pad_batch
from suite.registry import get_task
from tasks.sentiment.models import NgramLogits, fit_mixing, mean_mixing, mixed

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
    """The encoder learns on its own loss; before any validation the answer is the mean of the two members'
    logits."""
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


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_root):
    """A run of one epoch on the rt_polarity slice that ``setup`` reads (the same split and vocabulary)."""
    from suite import api

    run = tmp_path_factory.mktemp("sentiment-ngrams") / "run"
    api.train("sentiment", data=str(data_root / "sentiment" / "rt_polarity"), limit=300, max_epochs=1, hidden=8,
              embedding_dim=8, ngram_buckets=5003, threads=1, run_dir=run, strong_baseline=False)
    return run


@pytest.mark.realdata
def test_a_trained_run_predicts_the_same_after_save_and_load(trained):
    from suite import api

    run = trained
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


# --- the mixing of the two members, fitted on validation ---------------------------------------------

def test_the_mixing_is_scikit_learns_logistic_regression_on_the_members_logits():
    """The mixing minimises the mean log loss plus a whisper of L2 on the two weights: scikit-learn's L2
    logistic regression on the two logits as features, at the C that is the same objective."""
    from sklearn.linear_model import LogisticRegression

    from tasks.sentiment.models import MIXING_L2

    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (400,), generator=g)
    signal = (2 * y - 1).double()
    encoder = 0.8 * signal + 1.5 * torch.randn(400, generator=g, dtype=torch.float64)
    ngrams = 2.0 * signal + 1.0 * torch.randn(400, generator=g, dtype=torch.float64) + 0.7
    got = fit_mixing(encoder, ngrams, y)
    x = torch.stack([encoder, ngrams], dim=1).numpy()
    want = LogisticRegression(C=1 / (2 * len(y) * MIXING_L2), tol=1e-12, max_iter=10_000).fit(x, y.numpy())
    np.testing.assert_allclose(got[:2].numpy(), want.coef_[0], atol=1e-4)
    np.testing.assert_allclose(float(got[2]), want.intercept_[0], atol=1e-4)
    # more classes: one offset per class, and the better member weighs more
    y3 = torch.randint(0, 3, (600,), generator=g)
    onehot = F.one_hot(y3, 3).double()
    good, noise = 3 * onehot + torch.randn(600, 3, generator=g), torch.randn(600, 3, generator=g)
    three = fit_mixing(noise, good, y3)
    assert three.shape == (5,) and three[1] > 1.0 and abs(float(three[0])) < 0.2


def test_beside_a_useless_encoder_the_member_gets_the_weight_and_a_degenerate_set_keeps_the_mean():
    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 2, (2000,), generator=g)
    useless = torch.randn(2000, generator=g)
    member = 1.0 * (2 * y - 1) + 1.5 * torch.randn(2000, generator=g)
    weights = fit_mixing(useless, member, y)
    assert weights[1] > 0.5 and abs(float(weights[0])) < 0.1 * float(weights[1])
    logits = mixed(weights, useless, member)
    assert ((logits > 0).long() == y).float().mean() > ((useless + member > 0).long() == y).float().mean()
    torch.testing.assert_close(fit_mixing(torch.tensor([float("nan")]), torch.tensor([1.0]), torch.tensor([1])),
                               mean_mixing(1))


@pytest.mark.realdata
def test_the_mixing_is_fitted_on_the_validation_logits_and_scores_the_run(trained, data_root):
    """The saved mixing is the fit on the best epoch's validation logits, the member (fitted on the training
    split alone) given the weight its validation logits earn, and the run's validation accuracy is the mixed
    logits' accuracy."""
    from suite import api

    cfg, dm = setup(data_root)
    model = api.load(trained).model.eval()
    ids, lengths, y, _ = dm.val_set.__getitems__(list(range(len(dm.val_set))))
    with torch.no_grad():
        encoder, ngrams = model.members(ids, lengths)
        answer = model(ids, lengths)
    torch.testing.assert_close(model.mixing, fit_mixing(encoder, ngrams, y), atol=1e-4, rtol=1e-4)
    assert not torch.equal(model.mixing, mean_mixing(1))
    torch.testing.assert_close(answer, mixed(model.mixing, encoder, ngrams))
    results = json.loads((trained / "results.json").read_text())
    assert results["metrics"]["val"]["acc"] == pytest.approx(float(((answer > 0).long() == y).float().mean()),
                                                             abs=1e-6)
    assert results["report"]["ngram_member"]["mixing"] == pytest.approx(model.mixing.tolist(), abs=1e-6)


@pytest.mark.realdata
def test_the_mixing_round_trips_and_an_old_checkpoint_answers_with_the_mean(trained, data_root):
    from suite import api

    cfg, dm = setup(data_root)
    saved = torch.load(trained / "checkpoints" / "best.ckpt", weights_only=True)["state_dict"]
    assert "mixing" in saved
    fresh = TASK.model(cfg, dm).eval()
    fresh.load_state_dict(saved)
    torch.testing.assert_close(fresh.mixing, saved["mixing"])
    ids, lengths, _, _ = dm.val_set.__getitems__([0, 1, 2])
    old = TASK.model(cfg, dm).eval()
    old.load_state_dict({k: v for k, v in saved.items() if k != "mixing"})  # written before the mixing
    torch.testing.assert_close(old.mixing, mean_mixing(1))
    with torch.no_grad():
        encoder, ngrams = old.members(ids, lengths)
        torch.testing.assert_close(old(ids, lengths), (encoder + ngrams) / 2)
        torch.testing.assert_close(fresh(ids, lengths), api.load(trained).model.eval()(ids, lengths))


@pytest.mark.realdata
def test_predict_and_the_exported_graph_answer_with_the_mixing(trained, tmp_path, capsys):
    import onnxruntime as ort

    from export_helpers import export_in_process
    from suite import api
    from suite.data.text import pad_batch

    model = api.load(trained).model.eval()
    pre = model.preprocessor
    texts = ["a moving , beautifully acted film", "dull , lifeless and far too long"]
    ids, lengths = pad_batch([torch.tensor(pre.ids(pre.tokens(t))[0]) for t in texts])
    with torch.no_grad():
        want = model.probabilities(mixed(model.mixing, *model.members(ids, lengths)))
        mean = model.probabilities(sum(model.members(ids, lengths)) / 2)
    assert (want - mean).abs().max() > 1e-4  # the mixing moves the answers, so agreeing below means something
    for row, text in enumerate(texts):
        answer = TASK.predict(model, text)
        assert answer["probabilities"][model.classes[1]] == pytest.approx(float(want[row, 1]), abs=1e-4)
    export_in_process(capsys, trained, "onnx", tmp_path / "onnx")
    session = ort.InferenceSession(str(tmp_path / "onnx" / "classifier.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(["probabilities"], {"ids": ids.numpy(), "lengths": lengths.numpy()})[0]
    assert np.abs(got - want.numpy()).max() <= 1e-5


@pytest.mark.realdata
def test_under_ddp_every_rank_fits_on_all_ranks_rows(data_root):
    """``gathered`` puts the ranks' rows together, however many each holds: the fake all_gather below is
    what Lightning's returns for two ranks holding ``mine`` and ``theirs``."""
    from types import SimpleNamespace

    cfg, dm = setup(data_root)
    model = TASK.model(cfg, dm)
    mine, theirs = torch.arange(3.0), torch.arange(10.0, 15.0)

    def all_gather(t):
        if t.dtype == torch.long and t.numel() == 1:  # the row counts
            return torch.tensor([[3], [5]])
        other = torch.cat([theirs, theirs.new_zeros(len(t) - len(theirs))])
        return torch.stack([t, other])

    model._trainer = SimpleNamespace(world_size=2)
    model.all_gather = all_gather
    assert model.gathered(mine).tolist() == [0.0, 1.0, 2.0, 10.0, 11.0, 12.0, 13.0, 14.0]
    model._trainer = SimpleNamespace(world_size=1)
    assert model.gathered(mine) is mine


def test_bad_ngram_options_are_one_line_exit_2(capsys):
    from suite.cli import main

    assert main(["--task", "sentiment", "--ngrams", "4", "--print-config"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ngrams" in err[0] and "3" in err[0]


# --- quality on full IMDB ---------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("seed", [0, 1])  # the seeds measured (docs/tasks/sentiment.md, Measured)
def test_default_model_beats_the_strong_baselines_on_imdb(tmp_path, data_root, seed):
    """Issue 20: the default model, trained from scratch on IMDB's training split, reaches test accuracy
    >= 0.912 and is above the strong baseline fitted in the same run (about 17-20 minutes each on 2 loaded
    CPU cores: 0.9133 and 0.9121 measured against nbsvm's 0.9084 and 0.9094)."""
    from suite import api

    run = tmp_path / "imdb"
    api.train("sentiment", data=str(data_root / "sentiment" / "imdb"), seed=seed, threads=1, run_dir=run)
    results = json.loads((run / "results.json").read_text())
    acc = results["metrics"]["test"]["acc"]
    strong = results["baseline"]["others"][results["baseline"]["strong"]]["test"]["acc"]
    assert acc >= 0.912 and acc > strong, (acc, strong)
    assert results["fit_seconds"] <= 45 * 60, results["fit_seconds"]

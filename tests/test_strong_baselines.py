"""The strong classical baselines (issue 20): each one against scikit-learn, sklearn-crfsuite or numpy
computed here on the same small split; the run summary's model | naive | strong columns and results.json;
--no-strong-baseline; and the line a run prints when the baselines extra is missing."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import read_results
from suite.cli import main
from suite.config import build_run_config
from suite.registry import get_task
from test_tagging_data import head_sentences

SENTIMENT, FORECAST, TAGGING = get_task("sentiment"), get_task("forecast"), get_task("tagging")
TINY_FORECAST = ["--task", "forecast", "--data", "series.csv", "--target", "a,b", "--covariates", "c",
                 "--lookback", "24", "--horizon", "6", "--segment", "6", "--split", "300,80,80", "--max-epochs", "1",
                 "--hidden", "8", "--threads", "1", "--no-plot"]


def datamodule(task, **explicit):
    cfg = build_run_config(task, explicit=explicit)
    dm = task.datamodule(cfg)
    dm.setup("fit")
    return cfg, dm


# --- sentiment: TF-IDF logistic regression and NBSVM -----------------------------------------------------

def imdb_folder(data_root, dst, n_train=240, n_test=120, stars=False):
    """IMDB reviews, half of each class, as train.csv and test.csv; ``stars``: three classes by rating."""
    dst.mkdir()
    for split, n in (("train", n_train), ("test", n_test)):
        frame = pd.read_csv(data_root / f"sentiment/imdb/{split}.csv.gz")
        frame = pd.concat([frame[frame.label == 0].head(n // 2), frame[frame.label == 1].head(n // 2)])
        if stars:
            frame["label"] = pd.cut(frame["rating"], [0, 2, 8, 10], labels=["low", "middle", "high"]).astype(str)
        frame[["text", "label"]].to_csv(dst / f"{split}.csv", index=False)
    return dst


def sklearn_reference(dm, cfg):
    """Both models built here from scikit-learn's own n-grams (ngram_range), as the module docstring says."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression

    from tasks.sentiment.baselines import C_GRID
    from tasks.sentiment.data import TextPreprocessor

    sets = {"train": dm.train_set, "val": dm.val_set, "test": dm.test_set}
    y = {s: ds.labels.numpy() for s, ds in sets.items()}
    binary = len(dm.state.classes) == 2
    vec = CountVectorizer(tokenizer=TextPreprocessor(cfg.options).tokens, lowercase=False, token_pattern=None,
                          ngram_range=(1, 2))  # min_df 1: fewer than 1000 training texts
    x = {"train": vec.fit_transform(sets["train"].texts)}
    x.update({s: vec.transform(sets[s].texts) for s in ("val", "test")})
    tfidf = TfidfTransformer(sublinear_tf=True).fit(x["train"])
    t = {s: tfidf.transform(m) for s, m in x.items()}
    best = None
    for c in C_GRID:
        model = (LogisticRegression(C=c, solver="liblinear") if binary else
                 LogisticRegression(C=c, solver="newton-cg")).fit(t["train"], y["train"])
        accuracy = (model.predict(t["val"]) == y["val"]).mean()
        if best is None or accuracy > best[0]:
            best = (accuracy, model)
    logreg = best[1]
    # NBSVM by its formula: r = log((p/|p|1) / (q/|q|1)) over binarised counts with add-one smoothing, one
    # classifier per positive class, w' = 0.75 mean|w| + 0.25 w
    b = {s: (m > 0).astype(float) for s, m in x.items()}
    margins = {s: [] for s in ("val", "test")}
    for positive in ([1] if binary else range(len(dm.state.classes))):
        is_pos = y["train"] == positive
        p = 1 + np.asarray(b["train"][is_pos].sum(axis=0)).ravel()
        q = 1 + np.asarray(b["train"][~is_pos].sum(axis=0)).ravel()
        r = np.log((p / p.sum()) / (q / q.sum()))
        clf = LogisticRegression(C=1.0, solver="liblinear", dual=True, max_iter=1000)
        clf.fit(b["train"].multiply(r).tocsr(), is_pos.astype(int))
        w = 0.75 * np.abs(clf.coef_.ravel()).mean() + 0.25 * clf.coef_.ravel()
        for s in margins:
            margins[s].append(b[s].multiply(r).tocsr() @ w + clf.intercept_[0])
    nb_pred = {s: (m[0] > 0).astype(int) if binary else np.stack(m, axis=1).argmax(axis=1) for s, m in margins.items()}
    return y, {s: logreg.predict(t[s]) for s in ("val", "test")}, \
        {s: logreg.predict_proba(t[s])[:, 1] for s in ("val", "test")}, nb_pred, \
        {s: m[0] for s, m in margins.items()}


@pytest.mark.realdata
def test_sentiment_baselines_match_scikit_learn(tmp_path, data_root):
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    cfg, dm = datamodule(SENTIMENT, **{"options.data": str(imdb_folder(data_root, tmp_path / "imdb")),
                                       "options.max_length": 50, "options.max_vocab": 500})
    base = SENTIMENT.baseline(dm)
    y, lr_pred, lr_prob, nb_pred, nb_margin = sklearn_reference(dm, cfg)
    for split in ("val", "test"):
        got = base.others["tfidf_logreg"][split]
        assert got["acc"] == pytest.approx(accuracy_score(y[split], lr_pred[split]), abs=1e-6)
        assert got["f1"] == pytest.approx(f1_score(y[split], lr_pred[split], average="macro"), abs=1e-6)
        assert got["auroc"] == pytest.approx(roc_auc_score(y[split], lr_prob[split]), abs=1e-6)
        got = base.others["nbsvm"][split]
        assert got["acc"] == pytest.approx(accuracy_score(y[split], nb_pred[split]), abs=1e-6)
        assert got["f1"] == pytest.approx(f1_score(y[split], nb_pred[split], average="macro"), abs=1e-6)
        assert got["auroc"] == pytest.approx(roc_auc_score(y[split], nb_margin[split]), abs=1e-6)
    # the texts are read whole: --max-length and --max-vocab limit the network, not the baselines
    assert "features" in base.others["tfidf_logreg"]["description"]
    assert set(base.others["nbsvm"]["test"]) == set(base.test) == {"acc", "f1", "auroc"}
    assert base.strong == max(("tfidf_logreg", "nbsvm"), key=lambda n: base.others[n]["val"]["acc"])
    assert base.others[base.strong]["test"]["acc"] > base.test["acc"] + 0.1  # far above the majority class


@pytest.mark.realdata
def test_sentiment_baselines_are_multiclass_too(tmp_path, data_root):
    from sklearn.metrics import f1_score

    cfg, dm = datamodule(SENTIMENT, **{"options.data": str(imdb_folder(data_root, tmp_path / "stars", stars=True))})
    assert dm.state.classes == ["high", "low", "middle"]
    base = SENTIMENT.baseline(dm)
    y, lr_pred, _, nb_pred, _ = sklearn_reference(dm, cfg)
    for name, pred in (("tfidf_logreg", lr_pred), ("nbsvm", nb_pred)):
        got = base.others[name]["test"]
        assert set(got) == set(base.test) == {"acc", "f1"}  # no AUROC for three classes, as for the network
        assert got["acc"] == pytest.approx((pred["test"] == y["test"]).mean(), abs=1e-6)
        assert got["f1"] == pytest.approx(f1_score(y["test"], pred["test"], average="macro", labels=[0, 1, 2]),
                                          abs=1e-6)


# --- forecast: DLinear by least squares --------------------------------------------------------------------

def write_series(path, rows=460, seed=0):
    g = np.random.default_rng(seed)
    t = np.arange(rows)
    frame = pd.DataFrame({"a": np.sin(t / 5) + 0.1 * g.standard_normal(rows) + t / 200,
                          "b": np.cos(t / 9) + 0.2 * g.standard_normal(rows),
                          "c": g.standard_normal(rows)})  # a covariate: DLinear reads the targets only
    frame.to_csv(path, index=False)
    return path


def dlinear_trend(x: torch.Tensor, kernel: int = 25) -> torch.Tensor:
    """DLinear's moving_avg, as its reference code writes it: edge values repeated, AvgPool1d of stride 1."""
    front = x[:, :1, :].repeat(1, (kernel - 1) // 2, 1)
    end = x[:, -1:, :].repeat(1, (kernel - 1) // 2, 1)
    padded = torch.cat([front, x, end], dim=1)
    return torch.nn.AvgPool1d(kernel, stride=1)(padded.permute(0, 2, 1)).permute(0, 2, 1)


def test_the_decomposition_is_dlinears():
    from tasks.forecast.baselines import decompose

    x = torch.randn(5, 40, 3, dtype=torch.float64)
    trend, remainder = decompose(x.numpy())
    assert np.allclose(trend, dlinear_trend(x).numpy(), atol=1e-12)
    assert np.allclose(trend + remainder, x.numpy(), atol=1e-12)


def test_dlinear_matches_numpy_least_squares(tmp_path):
    from tasks.forecast.baselines import RIDGE

    _, dm = datamodule(FORECAST, **{"options.data": str(write_series(tmp_path / "series.csv")), "options.target": "a,b",
                                    "options.covariates": "c", "options.lookback": 30, "options.horizon": 6,
                                    "options.split": "300,80,80"})
    base = FORECAST.baseline(dm)
    assert base.strong == "dlinear"
    series, std = dm.series.double(), np.asarray(dm.state.std[:2])

    def design(origins):  # one row per (window, target): trend, remainder, 1, from the targets' own history
        x = torch.stack([series[t - 30:t, :2] for t in origins])
        trend = dlinear_trend(x)
        rows = lambda part: part.permute(0, 2, 1).reshape(-1, 30).numpy()  # noqa: E731
        f = np.hstack([rows(trend), rows(x - trend), np.ones((len(x) * 2, 1))])
        y = torch.stack([series[t:t + 6, :2] for t in origins]).permute(0, 2, 1).reshape(-1, 6).numpy()
        return f, y

    f, y = design(range(30, 300 - 6 + 1))
    # the ridge term written out as extra rows of the least-squares problem (none on the bias)
    lam = RIDGE * (f[:, :-1] ** 2).sum() / (f.shape[1] - 1)
    augmented = np.vstack([f, np.sqrt(lam) * np.eye(f.shape[1])[:-1]])
    w = np.linalg.lstsq(augmented, np.vstack([y, np.zeros((f.shape[1] - 1, 6))]), rcond=None)[0]
    for split, (start, end) in (("val", (300, 380)), ("test", (380, 460))):
        fs, ys = design(range(start, end - 6 + 1))
        err = fs @ w - ys
        channel = np.tile([0, 1], len(err) // 2)[:, None]  # rows alternate target a, target b
        orig_err = err * std[channel]
        got = base.others["dlinear"][split]
        assert got["mse"] == pytest.approx((err ** 2).mean(), rel=1e-6)
        assert got["mae"] == pytest.approx(np.abs(err).mean(), rel=1e-6)
        assert got["orig_mae"] == pytest.approx(np.abs(orig_err).mean(), rel=1e-6)
        assert set(got) == set(base.val)  # the metric keys of the naive baseline and the network
    assert base.others["dlinear"]["test"]["mse"] < base.test["mse"]  # it beats repeating the last value


def test_dlinear_with_a_lookback_beyond_its_closed_form_is_a_note(tmp_path, monkeypatch):
    import tasks.forecast.baselines as baselines

    monkeypatch.setattr(baselines, "MAX_LOOKBACK", 16)
    _, dm = datamodule(FORECAST, **{"options.data": str(write_series(tmp_path / "series.csv")), "options.target": "a",
                                    "options.lookback": 30, "options.horizon": 6, "options.split": "300,80,80"})
    base = FORECAST.baseline(dm)
    assert base.strong is None and "dlinear" not in base.others
    assert base.strong_note == ("not fitted (DLinear): ValueError: a lookback of 30 steps is more than its closed "
                                "form takes here (16)")


# --- tagging: a linear-chain CRF ---------------------------------------------------------------------------

def tagging_slice(data_root, dst, corpus, names, sizes):
    for name, n in zip(names, sizes):
        head_sentences(data_root / "tagging" / corpus / name, dst / name, n)
    return dst


def crf_reference(dm):
    import sklearn_crfsuite

    from tasks.tagging.baselines import C1, C2, MAX_ITERATIONS, sentence_features

    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=C1, c2=C2, max_iterations=MAX_ITERATIONS,
                               all_possible_transitions=True)
    crf.fit([sentence_features(s.tokens) for s in dm.train_set.sentences], [s.tags for s in dm.train_set.sentences])
    return {split: (crf.predict([sentence_features(s.tokens) for s in ds.sentences]), [s.tags for s in ds.sentences])
            for split, ds in (("val", dm.val_set), ("test", dm.test_set))}


@pytest.mark.realdata
def test_crf_pos_tagger_matches_sklearn_crfsuite(tmp_path, data_root):
    from sklearn_crfsuite.metrics import flat_accuracy_score

    folder = tagging_slice(data_root, tmp_path / "ewt", "ud_english_ewt",
                           ["en_ewt-ud-train.conllu", "en_ewt-ud-dev.conllu", "en_ewt-ud-test.conllu"], [300, 80, 80])
    _, dm = datamodule(TAGGING, **{"options.data": str(folder)})
    base = TAGGING.baseline(dm)
    assert base.strong == "crf"
    for split, (predicted, gold) in crf_reference(dm).items():
        got = base.others["crf"][split]
        assert got["accuracy"] == pytest.approx(flat_accuracy_score(gold, predicted), abs=1e-6)
        # the keys of the most-frequent-tag baseline (and per-tag F1, for the tags it predicts or meets)
        assert {k for k in got if "/" not in k} == {k for k in base.test if "/" not in k} == {"accuracy", "score"}
        assert "f1/NOUN" in got
    assert base.others["crf"]["test"]["accuracy"] > base.test["accuracy"]


@pytest.mark.realdata
def test_crf_entity_tagger_matches_seqeval(tmp_path, data_root):
    from seqeval.metrics import f1_score, precision_score, recall_score

    folder = tagging_slice(data_root, tmp_path / "wnut", "wnut17",
                           ["wnut17train.conll", "emerging.dev.conll", "emerging.test.annotated"], [600, 200, 200])
    _, dm = datamodule(TAGGING, **{"options.data": str(folder)})
    assert dm.state.scheme == "bio"
    base = TAGGING.baseline(dm)
    for split, (predicted, gold) in crf_reference(dm).items():
        got = base.others["crf"][split]
        assert got["f1"] == pytest.approx(f1_score(gold, predicted), abs=1e-6)
        assert got["precision"] == pytest.approx(precision_score(gold, predicted), abs=1e-6)
        assert got["recall"] == pytest.approx(recall_score(gold, predicted), abs=1e-6)
        assert got["score"] == got["f1"]


def test_crf_word_features():
    from tasks.tagging.baselines import shape, word_features

    assert [shape(w) for w in ("McDonald's", "1999", "U.S.", "Paris")] == ["XxXxx'x", "dd", "X.X.", "Xxx"]
    first = word_features(["Paris", "is", "big"], 0)
    assert first["lower"] == "paris" and first["suffix3"] == "ris" and first["suffix2"] == "is"
    assert first["title"] and not first["upper"] and first["BOS"] and first["next:lower"] == "is"
    assert "EOS" in word_features(["Paris", "is", "big"], 2) and "prev:lower" in word_features(["a", "b"], 1)


# --- the run: summary, results.json, --no-strong-baseline, the missing extra ------------------------------

def test_a_run_shows_model_naive_and_strong_side_by_side(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_series(tmp_path / "series.csv")
    assert main([*TINY_FORECAST, "--run-dir", "run"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    top = next(i for i, line in enumerate(lines) if line.split()[:1] == ["model"])
    header, columns = lines[top:top + 2]
    assert header.split() == ["model", "naive", "baseline:", "repeat_last", "strong", "baseline:", "dlinear"]
    assert columns.split() == ["metric"] + ["val", "test"] * 3
    results = read_results(tmp_path / "run")
    base = results["baseline"]
    assert base["strong"] == "dlinear" and base["strong_note"] is None
    dlinear = base["others"]["dlinear"]
    assert set(dlinear["test"]) == set(base["test"]) == set(results["metrics"]["test"]) - {"loss"}
    mse = next(line.split() for line in out.splitlines() if line.startswith("mse "))
    assert float(mse[5]) == pytest.approx(dlinear["val"]["mse"], rel=1e-3)
    assert float(mse[6]) == pytest.approx(dlinear["test"]["mse"], rel=1e-3)
    assert "strong baseline: dlinear: DLinear by least squares on 271 training windows" in out

    assert main([*TINY_FORECAST, "--run-dir", "off", "--no-strong-baseline"]) == 0
    out = capsys.readouterr().out
    base = read_results(tmp_path / "off")["baseline"]
    assert "dlinear" not in base["others"] and base["strong"] is None and base["strong_note"] is None
    assert "strong baseline" not in out and "naive baseline: repeat_last" in out


@pytest.mark.realdata
@pytest.mark.filterwarnings("ignore:.*does not occur in the training data")  # a tag of the tiny EWT slice
def test_without_the_extra_a_run_says_so_in_one_line(tmp_path, monkeypatch, capsys, data_root):
    monkeypatch.chdir(tmp_path)
    imdb_folder(data_root, tmp_path / "imdb", n_train=80, n_test=40)
    for module in [m for m in sys.modules if m.split(".")[0] in ("sklearn", "sklearn_crfsuite")] + ["sklearn",
                                                                                                  "sklearn_crfsuite"]:
        monkeypatch.setitem(sys.modules, module, None)  # as if they were not installed (imported already or not)
    assert main(["--task", "sentiment", "--data", "imdb", "--max-epochs", "1", "--hidden", "8", "--embedding-dim", "8",
                 "--threads", "1", "--run-dir", "run"]) == 0
    out = capsys.readouterr().out
    note = ("not fitted (TF-IDF logistic regression and NBSVM): scikit-learn is not installed; "
            "pip install rnn-suite[baselines]")
    assert f"strong baseline: {note}" in out.splitlines()
    base = read_results(tmp_path / "run")["baseline"]
    assert base["strong"] is None and base["strong_note"] == note and base["others"] == {}
    assert base["name"].startswith("majority class")  # the naive baseline is still there

    _, dm = datamodule(TAGGING, **{"options.data": str(tagging_slice(
        data_root, tmp_path / "ewt", "ud_english_ewt",
        ["en_ewt-ud-train.conllu", "en_ewt-ud-dev.conllu", "en_ewt-ud-test.conllu"], [30, 10, 10]))})
    assert TAGGING.baseline(dm).strong_note == ("not fitted (a linear-chain CRF, sklearn-crfsuite): sklearn-crfsuite "
                                                "is not installed; pip install rnn-suite[baselines]")


@pytest.mark.parametrize("asked", [False, True])
def test_sweep_trials_skip_the_strong_baseline_unless_asked(in_tmp, capsys, monkeypatch, asked):
    import yaml

    from suite.sweeps.spec import LAUNCHER_ENV

    monkeypatch.setenv(LAUNCHER_ENV, "forkserver")  # a trial without a fresh interpreter's imports
    write_series(in_tmp / "series.csv")
    assert main([*TINY_FORECAST, "--sweep", "lr=0.01", *(["--strong-baseline"] if asked else [])]) == 0, \
        capsys.readouterr().out
    (trial,) = (in_tmp / "runs" / "forecast" / "sweeps").glob("*/trials/*")
    assert yaml.safe_load((trial / "config.yaml").read_text())["train"]["strong_baseline"] is asked
    assert read_results(trial)["baseline"]["strong"] == ("dlinear" if asked else None)

"""The sentiment task's strong baselines: linear models over word unigrams and bigrams (scikit-learn).

Two classical references, both fitted on the training split the network trains on and scored on its
validation and test splits with the network's own metric classes:

- ``tfidf_logreg``: TF-IDF (sublinear term frequency, smoothed idf, rows L2-normalised) and logistic
  regression, its C chosen on the validation split from ``C_GRID``;
- ``nbsvm``: NBSVM (Wang & Manning 2012, "Baselines and bigrams"): binarised n-gram indicators scaled by
  the naive Bayes log-count ratio of each class against the rest, a linear classifier on them, and its
  weights interpolated towards their mean magnitude (beta 0.25), one classifier per class for more than
  two. The classifier is liblinear's logistic regression rather than its L2-loss SVM: at the paper's C=1
  the SVM's solver stops at its iteration limit on IMDB (0.910 test accuracy, 16 s) where the logistic
  loss converges (0.913, 8 s, in the primal form; both trained on all 25,000 reviews).

The texts are tokenised by the task's own preprocessor (its lower-casing, markup removal and
``--drop-punctuation``), whole: neither ``--max-length`` nor ``--max-vocab`` limits them, since those are the
network's costs, not the data's.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np

#: logistic regression's inverse regularisation strengths tried on validation (sublinear TF-IDF rows are
#: unit vectors, so a large C is usual: IMDB's validation accuracy was 0.899, 0.907, 0.908 and 0.909)
C_GRID = (1.0, 4.0, 16.0, 64.0)
#: NBSVM's settings as Wang & Manning give them: add-one smoothing of the counts, the classifier's C, and
#: the interpolation weight of the trained weights against their mean magnitude
NB_ALPHA, NB_C, NB_BETA = 1.0, 1.0, 0.25
#: below this many training texts every n-gram is kept; above it, n-grams of a single training text are
#: dropped: no model learns a weight from one text, and on IMDB they are 835,148 of 1,215,355 n-grams
MIN_DF_FROM = 1000


def ngrams(tokens: Sequence[str]) -> list[str]:
    """Word unigrams and bigrams (a bigram is its two words joined by a space)."""
    return [*tokens, *(f"{a} {b}" for a, b in zip(tokens, tokens[1:]))]


def count_features(train_texts: Sequence[str], other_texts: dict[str, Sequence[str]],
                   tokens: Callable[[str], list[str]]):
    """The vectoriser fitted on the training texts, and the n-gram count matrices of every split."""
    from sklearn.feature_extraction.text import CountVectorizer

    vectoriser = CountVectorizer(analyzer=lambda text: ngrams(tokens(text)),
                                 min_df=2 if len(train_texts) >= MIN_DF_FROM else 1)
    counts = {"train": vectoriser.fit_transform(train_texts)}
    counts.update({split: vectoriser.transform(texts) for split, texts in other_texts.items()})
    return vectoriser, counts


def tfidf_logreg(counts: dict, y_train: np.ndarray, y_val: np.ndarray, seed: int):
    """(the fitted TF-IDF transformer, the logistic regression whose C scored best on validation, that C)."""
    from sklearn.feature_extraction.text import TfidfTransformer

    tfidf = TfidfTransformer(sublinear_tf=True).fit(counts["train"])
    x_train, x_val = tfidf.transform(counts["train"]), tfidf.transform(counts["val"])
    best = None
    for c in C_GRID:
        model = logistic_regression(c, len(np.unique(y_train)), seed).fit(x_train, y_train)
        accuracy = float((model.predict(x_val) == y_val).mean())
        if best is None or accuracy > best[0]:  # ties keep the smaller C, the simpler model
            best = (accuracy, model, c)
    return tfidf, best[1], best[2]


def logistic_regression(c: float, classes: int, seed: int):
    from sklearn.linear_model import LogisticRegression

    # liblinear's primal Newton solver converges at every C of the grid (its dual, faster on IMDB, stopped at
    # its iteration limit at C=64 on SST-2); it has no multinomial loss, and of the solvers that have one
    # newton-cg took 0.2-0.4 s where lbfgs took 1-2 s (three classes of 200 reviews, 35,000 n-grams)
    if classes == 2:
        return LogisticRegression(C=c, solver="liblinear", random_state=seed)
    return LogisticRegression(C=c, solver="newton-cg", random_state=seed)


class NBSVM:
    """Wang & Manning's NBSVM over binarised counts: ``decision_function(X)`` gives one column per class
    (one column, the positive class's, for two classes, as scikit-learn's linear models do)."""

    def __init__(self, alpha: float = NB_ALPHA, c: float = NB_C, beta: float = NB_BETA, seed: int = 0):
        self.alpha, self.c, self.beta, self.seed = alpha, c, beta, seed

    def fit(self, counts, y: np.ndarray) -> NBSVM:
        from sklearn.linear_model import LogisticRegression

        binary = (counts > 0).astype(np.float64).tocsr()
        self.classes_ = np.unique(y)
        positives = [self.classes_[1]] if len(self.classes_) == 2 else list(self.classes_)
        self.ratios_, self.coef_, self.intercept_ = [], [], []
        for positive in positives:
            is_pos = y == positive
            p = self.alpha + np.asarray(binary[is_pos].sum(axis=0)).ravel()
            q = self.alpha + np.asarray(binary[~is_pos].sum(axis=0)).ravel()
            r = np.log((p / p.sum()) / (q / q.sum()))
            # the dual: on IMDB 0.8 s where the primal takes 6 s, with the same predictions; 1000 passes, as
            # SST-2's 67,349 phrases need more than liblinear's default 100
            linear = LogisticRegression(C=self.c, solver="liblinear", dual=True, max_iter=1000,
                                        random_state=self.seed)
            linear.fit(binary.multiply(r).tocsr(), is_pos.astype(int))
            w = linear.coef_.ravel()
            self.ratios_.append(r)
            self.coef_.append((1 - self.beta) * np.abs(w).mean() + self.beta * w)
            self.intercept_.append(float(linear.intercept_[0]))
        return self

    def decision_function(self, counts) -> np.ndarray:
        binary = (counts > 0).astype(np.float64).tocsr()
        columns = [binary.multiply(r).tocsr() @ w + b for r, w, b in zip(self.ratios_, self.coef_, self.intercept_)]
        return columns[0] if len(columns) == 1 else np.stack(columns, axis=1)

    def predict(self, counts) -> np.ndarray:
        scores = self.decision_function(counts)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[scores.argmax(axis=1)]


def label_scores(labels, predicted, positive_score, classes: int) -> dict[str, float]:
    """Accuracy, macro F1 and (two classes, both present) AUROC of class indices ``predicted`` and the
    positive class's scores (unused for more classes), by the same torchmetrics classes as the network's."""
    import torch
    from torchmetrics.classification import BinaryAUROC, MulticlassAccuracy, MulticlassF1Score

    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    preds = torch.as_tensor(np.asarray(predicted), dtype=torch.long)
    scores = {"acc": float(MulticlassAccuracy(classes, average="micro")(preds, y)),
              "f1": float(MulticlassF1Score(classes, average="macro")(preds, y))}
    if classes == 2 and len(set(y.tolist())) == 2:
        # BinaryAUROC reads scores outside [0, 1] as logits; the ranking, all AUROC depends on, is kept
        scores["auroc"] = float(BinaryAUROC()(torch.as_tensor(np.asarray(positive_score), dtype=torch.float64), y))
    return scores


def strong_baselines(train: tuple[Sequence[str], np.ndarray], splits: dict[str, tuple[Sequence[str], np.ndarray]],
                     tokens: Callable[[str], list[str]], classes: int, seed: int) -> dict[str, dict]:
    """``{"tfidf_logreg": {...}, "nbsvm": {...}}``: each model's scores on every split of ``splits`` (which
    holds ``val``, where C is chosen), its fit time (the shared vectorising included) and a description.
    Labels are class indices ``0..classes-1``."""
    started = time.perf_counter()
    texts, y_train = train
    vectoriser, counts = count_features(texts, {s: t for s, (t, _) in splits.items()}, tokens)
    shared = time.perf_counter() - started
    features = f"{len(vectoriser.vocabulary_):,}"
    out: dict[str, dict] = {}
    started = time.perf_counter()
    tfidf, logreg, c = tfidf_logreg(counts, y_train, splits["val"][1], seed)
    scored = {}
    for split, (_, y) in splits.items():
        x = tfidf.transform(counts[split])
        scored[split] = label_scores(y, logreg.predict(x), logreg.predict_proba(x)[:, 1], classes)
    out["tfidf_logreg"] = {**scored, "fit_seconds": round(shared + time.perf_counter() - started, 2),
                           "description": f"TF-IDF of word 1-2 grams ({features} features, sublinear tf) "
                                          f"and logistic regression, C={c:g} chosen on validation"}
    started = time.perf_counter()
    nbsvm = NBSVM(seed=seed).fit(counts["train"], y_train)
    scored = {}
    for split, (_, y) in splits.items():
        margin = nbsvm.decision_function(counts[split])
        scored[split] = label_scores(y, nbsvm.predict(counts[split]), margin if margin.ndim == 1 else None,
                                     classes)
    out["nbsvm"] = {**scored, "fit_seconds": round(shared + time.perf_counter() - started, 2),
                    "description": f"NBSVM (Wang & Manning 2012): binarised word 1-2 grams ({features}) "
                                   f"scaled by naive Bayes log-count ratios, logistic loss C={NB_C:g}, "
                                   f"interpolation beta {NB_BETA:g}"}
    return out


def fit_for(datamodule) -> dict[str, dict]:
    """The strong baselines of a trained datamodule: fitted on its training split, scored on validation and
    test (where the data has no test split, validation stands in, as it does for the network)."""
    from .data import TextPreprocessor

    def labelled(dataset):
        if dataset.texts is None:  # built from ids alone (not by the datamodule): nothing to vectorise
            raise ValueError("the datasets hold token ids without their texts")
        return dataset.texts, dataset.labels.numpy()

    splits = {"val": labelled(datamodule.val_set)}
    if datamodule.test_set is not datamodule.val_set:
        splits["test"] = labelled(datamodule.test_set)
    fitted = strong_baselines(labelled(datamodule.train_set), splits, TextPreprocessor(datamodule.opts).tokens,
                              len(datamodule.state.classes), datamodule.cfg.train.seed)
    for entry in fitted.values():
        entry.setdefault("test", entry["val"])
    return fitted

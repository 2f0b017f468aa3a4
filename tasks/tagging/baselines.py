"""The tagging task's strong baseline: a linear-chain CRF over hand-made word features (sklearn-crfsuite).

The features are the standard ones of a feature-based tagger (the sklearn-crfsuite tutorial's, with
a word shape): the word lower-cased, its 2- and 3-character suffixes, its shape (``Xxxx``, ``dd``), whether
it is title-case, upper-case or a number, and the same for the words before and after it, with
sentence-start and -end marks. The CRF (L-BFGS with elastic-net regularisation, ``C1`` and ``C2``, at most
``MAX_ITERATIONS`` passes) is trained on the run's training sentences in its tag scheme, so POS tags and
BIO/BIOES entities alike, and scored by the task's own metric: token accuracy, and entity precision,
recall and F1 for entity schemes.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .data import TaggedSentences, TaggingState

#: crfsuite's settings: L1 and L2 weights as in sklearn-crfsuite's tutorial, and an iteration cap that keeps
#: the fit on all of UD English EWT's 12,544 training sentences under a minute on two CPU cores
C1, C2, MAX_ITERATIONS = 0.1, 0.1, 100

_UPPER, _LOWER, _DIGIT = re.compile(r"[A-Z]"), re.compile(r"[a-z]"), re.compile(r"[0-9]")


def shape(word: str) -> str:
    """``"McDonald's"`` -> ``"XxXxxxx'x"``, runs of one class shortened to two (``"Xx'x"`` keeps it short)."""
    text = _DIGIT.sub("d", _LOWER.sub("x", _UPPER.sub("X", word)))
    return re.sub(r"(.)\1{2,}", r"\1\1", text)


def word_features(tokens: list[str], i: int) -> dict[str, object]:
    word = tokens[i]
    features: dict[str, object] = {
        "bias": 1.0, "lower": word.lower(), "suffix3": word[-3:], "suffix2": word[-2:], "shape": shape(word),
        "title": word.istitle(), "upper": word.isupper(), "digit": word.isdigit(),
    }
    for offset, name in ((-1, "prev"), (1, "next")):
        j = i + offset
        if 0 <= j < len(tokens):
            other = tokens[j]
            features.update({f"{name}:lower": other.lower(), f"{name}:title": other.istitle(),
                             f"{name}:upper": other.isupper()})
        else:
            features["BOS" if offset < 0 else "EOS"] = True
    return features


def sentence_features(tokens: list[str]) -> list[dict[str, object]]:
    return [word_features(tokens, i) for i in range(len(tokens))]


def train_crf(sentences):
    """A CRF fitted on ``sentences`` (each with ``tokens`` and ``tags``)."""
    import sklearn_crfsuite

    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=C1, c2=C2, max_iterations=MAX_ITERATIONS,
                               all_possible_transitions=True)
    crf.fit([sentence_features(s.tokens) for s in sentences], [list(s.tags) for s in sentences])
    return crf


def score_tags(state: TaggingState, dataset: TaggedSentences, predicted: list[list[str]]) -> dict[str, float]:
    """The task's tagging metric on tag names predicted for each sentence of ``dataset``."""
    import torch

    from .metrics import TaggingScores

    index = {t: i for i, t in enumerate(state.tags)}
    scores = TaggingScores(state.tags, state.scheme != "none", with_report=True)
    pad = lambda rows: torch.nn.utils.rnn.pad_sequence(rows, batch_first=True)  # noqa: E731
    for start in range(0, len(dataset), 256):
        chunk = range(start, min(start + 256, len(dataset)))
        guessed = [torch.tensor([index[t] for t in predicted[i]], dtype=torch.long) for i in chunk]
        gold = [dataset.tags[i] for i in chunk]
        scores.update(pad(guessed), pad(gold), torch.tensor([len(g) for g in gold]))
    return {k: float(v) for k, v in scores.compute().items()}


def fit_for(datamodule) -> dict[str, dict]:
    """``{"crf": ...}``: fitted on the datamodule's training sentences, scored on validation and test."""
    state, train = datamodule.state, datamodule.train_set
    started = time.perf_counter()
    crf = train_crf(train.sentences)
    scored = {}
    for split, dataset in (("val", datamodule.val_set), ("test", datamodule.test_set)):
        if dataset is None:
            continue
        predicted = crf.predict([sentence_features(s.tokens) for s in dataset.sentences])
        scored[split] = score_tags(state, dataset, predicted)
    return {"crf": {**scored, "fit_seconds": round(time.perf_counter() - started, 2),
                    "description": f"linear-chain CRF (sklearn-crfsuite, L-BFGS, c1 {C1:g}, c2 {C2:g}, at most "
                                   f"{MAX_ITERATIONS} iterations) over word, suffix, shape and neighbour features, "
                                   f"{len(train):,} training sentences"}}

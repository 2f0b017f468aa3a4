"""Entity spans and scores against seqeval (the reference scorer) on known and random cases."""

from __future__ import annotations

import random

import pytest
import torch
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities

from tasks.tagging.metrics import TaggingScores
from tasks.tagging.schemes import bio_to_bioes, entities, looks_like_entities, scheme_tags, to_bio

KNOWN = [
    ["B-PER", "I-PER", "O", "B-LOC"],
    ["I-PER", "I-PER", "O"],               # an entity that starts with I- (ill-formed, conlleval counts it)
    ["B-PER", "I-LOC", "I-LOC", "O"],      # a type change inside: two entities
    ["O", "I-ORG", "B-ORG", "I-ORG"],      # I- start, then a new B- of the same type
    ["B-MISC", "B-MISC", "I-MISC"],
    ["O", "O", "O"],
    ["I-LOC"],
]


@pytest.mark.parametrize("tags", KNOWN)
def test_entities_match_seqeval_on_known_cases(tags):
    assert entities(tags) == get_entities(tags)


def score(gold: list[list[str]], pred: list[list[str]], tags: list[str]) -> dict[str, float]:
    index = {t: i for i, t in enumerate(tags)}
    metric = TaggingScores(tags, entities_scored=True, with_report=True)
    pad = lambda rows: torch.nn.utils.rnn.pad_sequence([torch.tensor([index[t] for t in r]) for r in rows],  # noqa: E731
                                                       batch_first=True)
    metric.update(pad(pred), pad(gold), torch.tensor([len(g) for g in gold]))
    out = {k: float(v) for k, v in metric.compute().items()}
    out["report"] = metric.last_report
    return out


def test_scores_match_seqeval_including_ill_formed_predictions():
    tags = scheme_tags(["PER", "LOC", "ORG", "MISC"], "bio")
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG"], ["B-MISC", "O", "B-PER"]]
    pred = [["B-PER", "I-PER", "O", "I-LOC"], ["O", "I-ORG", "B-ORG"], ["B-MISC", "O", "O"]]
    got = score(gold, pred, tags)
    assert got["precision"] == pytest.approx(precision_score(gold, pred))
    assert got["recall"] == pytest.approx(recall_score(gold, pred))
    assert got["f1"] == pytest.approx(f1_score(gold, pred))
    assert got["accuracy"] == pytest.approx(6 / 10)
    assert got["score"] == got["f1"]
    want = classification_report(gold, pred, output_dict=True)
    for kind, row in got["report"].items():
        assert row["precision"] == pytest.approx(want[kind]["precision"])
        assert row["recall"] == pytest.approx(want[kind]["recall"])
        assert row["f1"] == pytest.approx(want[kind]["f1-score"])
        assert row["support"] == want[kind]["support"]
        assert got[f"f1/{kind}"] == pytest.approx(want[kind]["f1-score"])


@pytest.mark.parametrize("scheme", ["bio", "bioes"])
def test_random_sequences_score_as_seqeval(scheme):
    rng = random.Random(0 if scheme == "bio" else 1)
    tags = scheme_tags(["A", "B", "C"], scheme)
    gold = [[rng.choice(tags) for _ in range(rng.randint(1, 12))] for _ in range(200)]
    pred = [[t if rng.random() < 0.7 else rng.choice(tags) for t in row] for row in gold]
    got = score(gold, pred, tags)
    # seqeval's default mode reads any of B/I/E/S prefixes the conlleval way, as entities() does
    assert got["f1"] == pytest.approx(f1_score(gold, pred))
    assert got["precision"] == pytest.approx(precision_score(gold, pred))
    assert got["recall"] == pytest.approx(recall_score(gold, pred))


def test_no_entities_anywhere_scores_zero_not_nan():
    tags = scheme_tags(["A"], "bio")
    got = score([["O", "O"]], [["O", "O"]], tags)
    assert got["f1"] == 0.0 and got["precision"] == 0.0 and got["accuracy"] == 1.0


def test_scheme_conversion_keeps_the_entities():
    rng = random.Random(3)
    tags = scheme_tags(["A", "B"], "bio")
    for _ in range(300):
        row = [rng.choice(tags) for _ in range(rng.randint(1, 10))]
        bioes = bio_to_bioes(row)
        assert entities(bioes) == entities(row)
        assert entities(to_bio(bioes)) == entities(row)
        assert all(t[0] in "OBIES" for t in bioes)
    assert bio_to_bioes(["B-A", "I-A", "O", "B-B", "I-A"]) == ["B-A", "E-A", "O", "S-B", "S-A"]
    assert to_bio(["I-A", "I-A", "O"]) == ["B-A", "I-A", "O"]


def test_token_accuracy_ignores_padding():
    tags = ["NOUN", "VERB"]
    metric = TaggingScores(tags, entities_scored=False)
    pred = torch.tensor([[0, 1, 1], [1, 1, 1]])  # padding positions predicted wrong on purpose
    gold = torch.tensor([[0, 1, 0], [1, 0, 0]])
    metric.update(pred, gold, torch.tensor([2, 1]))
    out = metric.compute()
    assert float(out["accuracy"]) == 1.0 and float(out["score"]) == 1.0 and "f1" not in out


def test_scheme_detection():
    assert looks_like_entities(["O", "B-PER", "I-PER"]) and looks_like_entities(["S-LOC", "O"])
    assert not looks_like_entities(["NOUN", "VERB"]) and not looks_like_entities(["O", "O"])
    assert not looks_like_entities(["O", "B-PER", "X-PER"])

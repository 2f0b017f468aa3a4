"""The polyphonic-music benchmark's measures and its naive references.

NLL: per time step, -log p(frame) summed over the 88 keys (nats), averaged over every time step of
every piece of the split, the first step of each piece predicted from the initial state.
Frame accuracy (Bay et al. 2009): sum of true positives over all frames / sum of (TP + FP + FN).
"""

from __future__ import annotations

import numpy as np
import torch
from torchmetrics import Metric

from .encoding import VOCAB, roll_to_events


class FrameAccuracy(Metric):
    full_state_update = False

    def __init__(self):
        super().__init__()
        for name in ("tp", "fp", "fn"):
            self.add_state(name, default=torch.tensor(0.0), dist_reduce_fx="sum")

    def update(self, predicted: torch.Tensor, target: torch.Tensor) -> None:
        predicted, target = predicted.bool(), target.bool()
        self.tp += (predicted & target).sum()
        self.fp += (predicted & ~target).sum()
        self.fn += (~predicted & target).sum()

    def compute(self) -> torch.Tensor:
        total = self.tp + self.fp + self.fn
        return self.tp / total if total > 0 else torch.tensor(0.0)


def bernoulli_nll(p: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """-log p(frame) under independent keys, per frame (p and frames broadcast over keys)."""
    return -(frames * np.log(p) + (1 - frames) * np.log1p(-p)).sum(-1)


def frame_accuracy(predicted: list[np.ndarray], target: list[np.ndarray]) -> float:
    tp = fp = fn = 0
    for pr, tg in zip(predicted, target):
        pr, tg = pr.astype(bool), tg.astype(bool)
        tp += int((pr & tg).sum())
        fp += int((pr & ~tg).sum())
        fn += int((~pr & tg).sum())
    return tp / (tp + fp + fn) if tp + fp + fn else 0.0


class KeyFrequency:
    """Each key on with its training frequency, add-one smoothed: p_k = (n_k + 1) / (frames + 2)."""

    name = "key_frequency"

    def __init__(self, train: list[np.ndarray]):
        frames = np.concatenate(train).astype(np.float64)
        self.p = (frames.sum(0) + 1.0) / (len(frames) + 2.0)

    def score(self, rolls: list[np.ndarray]) -> dict[str, float]:
        nll = np.concatenate([bernoulli_nll(self.p, r.astype(np.float64)) for r in rolls])
        guess = (self.p > 0.5).astype(np.uint8)
        return {"nll": float(nll.mean()),
                "accuracy": frame_accuracy([np.broadcast_to(guess, r.shape) for r in rolls], rolls)}


class RepeatPrevious:
    """The previous frame again. To keep the NLL finite each key repeats its previous state with the
    probabilities seen in training: p(on | was on) = a, p(on | was off) = b, both add-one smoothed
    counts of training transitions; a piece's first frame is scored by the key-frequency model and
    predicted empty for accuracy."""

    name = "repeat_previous"

    def __init__(self, train: list[np.ndarray]):
        self.first = KeyFrequency(train)
        prev = np.concatenate([r[:-1] for r in train]).astype(bool)
        nxt = np.concatenate([r[1:] for r in train]).astype(bool)
        self.a = ((prev & nxt).sum() + 1.0) / (prev.sum() + 2.0)
        self.b = ((~prev & nxt).sum() + 1.0) / ((~prev).sum() + 2.0)

    def score(self, rolls: list[np.ndarray]) -> dict[str, float]:
        nlls, guesses = [], []
        for r in rolls:
            r = r.astype(np.float64)
            nlls.append(bernoulli_nll(self.first.p, r[:1]))
            p = np.where(r[:-1] > 0, self.a, self.b)
            nlls.append(bernoulli_nll(p, r[1:]))
            guesses.append(np.vstack([np.zeros((1, r.shape[1])), r[:-1]]))
        return {"nll": float(np.concatenate(nlls).mean()), "accuracy": frame_accuracy(guesses, rolls)}


class TokenUnigram:
    """Melody events: each step's token with its add-one smoothed training frequency."""

    name = "token_frequency"

    def __init__(self, train: list[np.ndarray]):
        counts = np.bincount(np.concatenate([roll_to_events(r) for r in train]), minlength=VOCAB) + 1.0
        self.p = counts / counts.sum()

    def score(self, rolls: list[np.ndarray]) -> dict[str, float]:
        tokens = np.concatenate([roll_to_events(r) for r in rolls])
        return {"nll": float(-np.log(self.p[tokens]).mean()),
                "accuracy": float((tokens == self.p.argmax()).mean())}


class TokenBigram:
    """Melody events: the next token given the previous one, add-one smoothed training counts."""

    name = "token_bigram"

    def __init__(self, train: list[np.ndarray]):
        counts = np.ones((VOCAB + 1, VOCAB))  # row VOCAB: the start of a piece
        for r in train:
            tokens = roll_to_events(r)
            np.add.at(counts, (np.concatenate([[VOCAB], tokens[:-1]]), tokens), 1.0)
        self.p = counts / counts.sum(1, keepdims=True)

    def score(self, rolls: list[np.ndarray]) -> dict[str, float]:
        nll, right, n = 0.0, 0, 0
        for r in rolls:
            tokens = roll_to_events(r)
            prev = np.concatenate([[VOCAB], tokens[:-1]])
            nll -= np.log(self.p[prev, tokens]).sum()
            right += int((self.p[prev].argmax(1) == tokens).sum())
            n += len(tokens)
        return {"nll": float(nll / n), "accuracy": right / n}

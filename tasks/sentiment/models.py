"""The text classifier: embedding -> recurrent encoder -> pooling -> dropout -> classifier.

Padded positions never count: the encoder never lets them reach a real step's state (padded
recurrence or packing, by ``lengths``), max/mean/attention pooling mask them out, and the loss and metrics see one prediction per text. Two classes use one logit with a
sigmoid and binary cross-entropy (the seed's Dense(1, sigmoid)); more classes use softmax.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import (BinaryAUROC, MulticlassAccuracy, MulticlassConfusionMatrix,
                                         MulticlassF1Score)

from suite.backbones import PackedRecurrence, PaddedRecurrence, glorot_linear_
from suite.config import RunConfig
from suite.task import TaskModule

from .data import SentimentState, TextPreprocessor


class WordDropout(nn.Module):
    """Zeroes whole token embeddings with probability ``p`` in training (rescaling the rest)."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape[:2], device=x.device) >= self.p
        return x * keep.unsqueeze(-1).to(x.dtype) / (1 - self.p)


class Pooling(nn.Module):
    """Encoder outputs ``(B, T, H)`` -> one vector per text, ignoring padded steps."""

    def __init__(self, kind: str, size: int):
        super().__init__()
        self.kind = kind
        self.score = nn.Linear(size, 1) if kind == "attention" else None
        self.output_size = size * (2 if kind == "max_mean" else 1)

    def forward(self, outputs, lengths, mask, last) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.kind == "last":
            return last, None
        m = mask.unsqueeze(-1)
        if self.kind == "attention":
            scores = self.score(outputs).squeeze(-1).masked_fill(~mask, float("-inf"))
            weights = torch.softmax(scores, dim=1)
            return torch.bmm(weights.unsqueeze(1), outputs).squeeze(1), weights
        mean = outputs.sum(dim=1) / lengths.to(outputs.dtype).unsqueeze(-1)  # padded outputs are zero
        if self.kind == "mean":
            return mean, None
        peak = outputs.masked_fill(~m, float("-inf")).max(dim=1).values
        return (peak if self.kind == "max" else torch.cat([peak, mean], dim=-1)), None


class SentimentModule(TaskModule):
    def __init__(self, cfg: RunConfig, state: SentimentState, vectors: torch.Tensor | None = None):
        super().__init__(cfg)
        opts = cfg.options
        self.classes = classes = list(state.classes)
        self.preprocessor = TextPreprocessor(opts, state.vocabulary)  # how predict() reads new text
        self.binary = len(classes) == 2
        dim = state.vector_dim or opts.embedding_dim  # a word-vector file decides the width
        self.embedding = nn.Embedding(len(state.vocab), dim, padding_idx=0)
        keras = cfg.backbone.init == "keras"
        if keras:  # Keras' Embedding default
            nn.init.uniform_(self.embedding.weight, -0.05, 0.05)
        if vectors is not None:
            with torch.no_grad():
                self.embedding.weight.copy_(vectors)
            self.embedding.weight.requires_grad_(not opts.freeze_embeddings)
        with torch.no_grad():
            self.embedding.weight[0].zero_()
        self.word_dropout = WordDropout(opts.embedding_dropout)
        recurrence = PackedRecurrence if opts.recurrence == "packed" else PaddedRecurrence
        self.encoder = recurrence(dim, cfg.backbone)
        self.pool = Pooling(opts.pooling, self.encoder.output_size)
        self.bag = opts.bag_of_embeddings
        features = self.pool.output_size + (dim if self.bag else 0)
        self.dropout = nn.Dropout(opts.classifier_dropout)
        self.classifier = nn.Linear(features, 1 if self.binary else len(classes))
        if keras:
            glorot_linear_(self.classifier)
        n = len(classes)
        self.metrics = nn.ModuleDict({
            stage: nn.ModuleDict({"acc": MulticlassAccuracy(n, average="micro"),
                                  "f1": MulticlassF1Score(n, average="macro"),
                                  **({"auroc": BinaryAUROC()} if self.binary else {})})
            for stage in ("val_", "test_")})
        self.confusion = MulticlassConfusionMatrix(n)
        self.test_confusion: list[list[int]] | None = None
        self.test_probabilities: torch.Tensor | None = None
        self.test_index: torch.Tensor | None = None  # the dataset rows of test_probabilities, in order
        self._test_rows: list = []

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Features for the classifier and, for attention pooling, the weights over tokens."""
        mask = ids != 0
        x = self.word_dropout(self.embedding(ids))
        outputs, last = self.encoder(x, lengths, outputs=self.pool.kind != "last")
        pooled, weights = self.pool(outputs, lengths.to(ids.device), mask, last)
        if self.bag:
            pooled = torch.cat([pooled, x.sum(dim=1) / lengths.to(x.device, x.dtype).unsqueeze(-1)], dim=-1)
        return pooled, weights

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits: ``(B,)`` for two classes, ``(B, C)`` otherwise."""
        features, _ = self.encode(ids, lengths)
        logits = self.classifier(self.dropout(features))
        return logits.squeeze(-1) if self.binary else logits

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """``(B, C)`` class probabilities from the logits."""
        if self.binary:
            p = torch.sigmoid(logits)
            return torch.stack([1 - p, p], dim=-1)
        return torch.softmax(logits, dim=-1)

    def step(self, batch, stage: str) -> torch.Tensor:
        ids, lengths, y, index = batch
        logits = self(ids, lengths)
        if self.binary:
            loss = F.binary_cross_entropy_with_logits(logits, y.to(logits.dtype))
            preds = (logits > 0).long()
        else:
            loss = F.cross_entropy(logits, y)
            preds = logits.argmax(dim=-1)
        n = len(y)
        self.log(f"{stage}/loss", loss, batch_size=n, prog_bar=stage != "train", on_epoch=True,
                 on_step=stage == "train", sync_dist=stage != "train")  # under DDP: all ranks' mean
        if stage == "train":  # a plain tensor: cheap to log every step, and its batch-weighted mean is exact
            self.log("train/acc", (preds == y).float().mean(), batch_size=n, on_epoch=True, on_step=False,
                     prog_bar=True)
        else:  # updated per batch, logged once per epoch (logging a Metric object every step costs ~1 ms)
            for name, metric in self.metrics[stage + "_"].items():
                metric.update(torch.sigmoid(logits) if name == "auroc" else preds, y)
        if stage == "test":
            self.confusion.update(preds, y)
            self._test_rows.append((index.cpu(), self.probabilities(logits.detach()).cpu()))
        return loss

    @staticmethod
    def batch_size_of(batch) -> int:
        return int(batch[0].shape[0])

    def _log_epoch_metrics(self, stage: str) -> None:
        """compute() synchronises the counts across DDP ranks, so the logged values need no further sync."""
        for name, metric in self.metrics[stage + "_"].items():
            if metric.update_count:
                self.log(f"{stage}/{name}", metric.compute(), prog_bar=name == "acc")
            metric.reset()

    def on_validation_epoch_end(self) -> None:
        self._log_epoch_metrics("val")

    def on_test_epoch_start(self) -> None:
        self.confusion.reset()
        self._test_rows = []

    def on_test_epoch_end(self) -> None:
        self._log_epoch_metrics("test")
        self.test_confusion = self.confusion.compute().tolist()
        index = torch.cat([i for i, _ in self._test_rows])
        probs = torch.cat([p for _, p in self._test_rows])
        # back in the dataset's row order; only the rows tested (all, but one batch under --fast-dev-run)
        order = torch.argsort(index)
        self.test_index, self.test_probabilities = index[order], probs[order]
        self._test_rows = []

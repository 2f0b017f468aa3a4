"""The text classifier: embedding -> recurrent encoder -> pooling -> dropout -> classifier, and beside it
(``--ngrams``) NBSVM over the same token ids, the answer being ``a * encoder + b * member + c`` of the two
members' logits, ``(a, b, c)`` fitted on each validation epoch's logits (``fit_mixing``; the mean before any).

Padded positions never count: the encoder never lets them reach a real step's state (padded
recurrence or packing, by ``lengths``), max/mean/attention pooling mask them out, the n-gram member skips
n-grams that touch padding, and the loss and metrics see one prediction per text. Two classes use one logit
with a sigmoid and binary cross-entropy (the seed's Dense(1, sigmoid)); more classes use softmax.
"""

from __future__ import annotations

import time
import warnings

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import (BinaryAUROC, MulticlassAccuracy, MulticlassConfusionMatrix,
                                         MulticlassF1Score)

from suite.backbones import PackedRecurrence, PaddedRecurrence, glorot_linear_
from suite.config import RunConfig
from suite.task import TaskModule

from .baselines import MIN_DF_FROM, NB_ALPHA, NB_C
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


#: L-BFGS iterations for the n-gram member's logistic regression (IMDB converges in well under this)
NGRAM_FIT_STEPS = 500
#: NBSVM's interpolation towards the weights' mean magnitude, off (1): on an IMDB slice (6,400 reviews for
#: training, hashed word 1-2 grams) the logistic regression alone scored 0.876 on validation, interpolated
#: with the baseline's beta 0.25 0.868; uninterpolated its logits are a logistic model's, fit to average
NGRAM_BETA = 1.0


class NgramLogits(nn.Module):
    """NBSVM beside the encoder (Wang & Manning 2012, as baselines.NBSVM fits it): a text's distinct word
    n-grams (of up to ``order`` words of its token ids, hashed into ``buckets``) as binary features, each
    scaled by its naive Bayes log-count ratio on the training split, and a logistic regression on them fitted
    once on the training split (``fit``); one logit per output. The weights are fitted, not trained: the
    encoder trains on its own loss and the model answers with the mean of the two members' logits.

    Hashing the ids inside the network (rather than a vocabulary of n-gram strings in the data) keeps
    prediction, batch prediction and the exported graph reading exactly what training read from the same
    ``(ids, lengths)``, with nothing more in the data state."""

    def __init__(self, vocab_size: int, order: int, buckets: int, outputs: int, beta: float = NGRAM_BETA):
        super().__init__()
        self.vocab_size, self.order, self.buckets, self.beta = vocab_size, order, buckets, beta
        # parameters (so that they are counted and saved) that no optimiser step moves
        self.weight = nn.Parameter(torch.zeros(buckets, outputs), requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(outputs), requires_grad=False)
        self.register_buffer("ratios", torch.zeros(buckets, outputs))  # saved: prediction needs no training data
        self.fitted: dict | None = None  # what fit() saw and took, for the run's report

    def hashed(self, ids: torch.Tensor, origins: bool = False) -> tuple[torch.Tensor, ...]:
        """``(B, K)`` bucket of each n-gram and whether it counts (inside the text, first of its bucket in
        the row: features are binary, as NBSVM's). Padding is id 0, so an n-gram touching it is out.
        With ``origins``, three ``(B, K)`` more, for crediting a bucket to the words it came from (--explain):
        whether the entry is an n-gram of the text at all (counted or a repeat of its bucket), its first
        word's position and its number of words."""
        real = ids != 0
        buckets, vocab = self.buckets, self.vocab_size
        hashes, valid = [], []
        offset = 0  # n-grams of different orders never share a key before hashing
        length = ids.shape[1]
        for n in range(1, self.order + 1):
            # word k of every n-gram; a text shorter than n gives empty slices (no branch: the exported
            # graph must not bake one in)
            def part(x, k, n=n):
                return x[:, k:length - (n - 1 - k)]

            key = part(ids, 0) % buckets
            ok = part(real, 0)
            for k in range(1, n):  # Horner's rule modulo the buckets: no int64 overflow for any vocabulary
                key = (key * vocab + part(ids, k)) % buckets
                ok = ok & part(real, k)
            hashes.append((key + offset) % buckets)
            valid.append(ok)
            offset = (offset + vocab ** n) % buckets
        key = torch.cat(hashes, dim=1).masked_fill(~torch.cat(valid, dim=1), -1)
        key, order = torch.sort(key, dim=1)  # the invalid (-1) first, then equal buckets side by side
        first = torch.ones_like(key, dtype=torch.bool)
        first[:, 1:] = key[:, 1:] != key[:, :-1]
        if not origins:
            return key.clamp(min=0), first & (key >= 0)
        sizes = [max(0, length - n + 1) for n in range(1, self.order + 1)]  # the blocks concatenated above
        starts = torch.cat([torch.arange(size, device=ids.device) for size in sizes])
        widths = torch.cat([torch.full((size,), n, device=ids.device) for n, size in enumerate(sizes, 1)])
        return key.clamp(min=0), first & (key >= 0), key >= 0, starts[order], widths[order]

    def terms(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, K, outputs)`` each n-gram's share of the logits (zero where it does not count) and the
        ``(B, K)`` bucket it fell in: the logits are the shares summed over K plus the bias."""
        key, keep = self.hashed(ids)
        terms = self.ratios[key] * self.weight[key]
        return terms * keep.unsqueeze(-1).to(terms.dtype), key

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.terms(ids)[0].sum(dim=1) + self.bias

    def features(self, texts: list[torch.Tensor], batch: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
        """The (text, bucket) pairs of the texts' binary features: two ``(nnz,)`` int64 tensors."""
        from suite.data.text import pad_batch

        rows, cols = [], []
        for start in range(0, len(texts), batch):
            ids, _ = pad_batch(texts[start:start + batch])
            key, keep = self.hashed(ids)
            rows.append((torch.arange(len(ids)).unsqueeze(1).expand_as(key) + start)[keep])
            cols.append(key[keep])
        return torch.cat(rows), torch.cat(cols)

    @torch.no_grad()
    def fit(self, texts: list[torch.Tensor], labels: torch.Tensor, classes: int) -> None:
        """The naive Bayes log-count ratios and the logistic regression, on the training texts' ids. For each
        output (the positive class for two classes, each class against the rest otherwise) the ratio of a
        bucket is ``log((p / |p|_1) / (q / |q|_1))``, p and q the add-one smoothed counts of texts in and out
        of the class that contain it; buckets of fewer texts than NBSVM's ``min_df`` keep ratio 0 (no
        feature), as the vectoriser drops those n-grams."""
        started = time.perf_counter()
        rows, cols = self.features(texts)
        labels = torch.as_tensor(labels, dtype=torch.long)
        counts = torch.zeros(classes, self.buckets, dtype=torch.float64)
        counts.index_put_((labels[rows], cols), torch.ones(len(rows), dtype=torch.float64), accumulate=True)
        total = counts.sum(dim=0)
        used = total >= (2 if len(texts) >= MIN_DF_FROM else 1)
        kept = used[cols]
        rows, cols = rows[kept], cols[kept]
        index = torch.full((self.buckets,), -1, dtype=torch.long)
        index[used] = torch.arange(int(used.sum()))
        outputs = self.ratios.shape[1]
        positive = [1] if outputs == 1 else list(range(classes))
        self.ratios.zero_()
        self.weight.zero_()
        for column, c in enumerate(positive):
            p = NB_ALPHA + counts[c][used]
            q = NB_ALPHA + (total - counts[c])[used]
            r = torch.log((p / p.sum()) / (q / q.sum()))
            w, b = logistic_regression(rows, index[cols], r[index[cols]], len(texts), len(r),
                                       (labels == c).to(torch.float64), NB_C)
            self.ratios[used, column] = r.to(self.ratios.dtype)
            self.weight[used, column] = ((1 - self.beta) * w.abs().mean() + self.beta * w).to(self.weight.dtype)
            self.bias[column] = b
        self.fitted = {"features": int(used.sum()), "texts": len(texts),
                       "fit_seconds": round(time.perf_counter() - started, 2)}


def logistic_regression(rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor, n: int, d: int,
                        y: torch.Tensor, c: float) -> tuple[torch.Tensor, float]:
    """``(w, b)`` minimising ``c * sum_i log(1 + exp(-s_i (x_i . w + b))) + |w|^2 / 2`` (s_i = +-1 from the 0/1
    ``y``; the bias unpenalised) over the sparse ``x`` given as (row, column, value) triples, by L-BFGS:
    liblinear's L2 logistic regression, with torch alone (scikit-learn is an extra; the model is not)."""
    with warnings.catch_warnings():  # torch's notices that CSR is "in beta": it is what makes this fit fast
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        x, xt = (torch.sparse_coo_tensor(torch.stack(pair), values, size, check_invariants=False).coalesce()
                 .to_sparse_csr() for pair, size in (([rows, cols], (n, d)), ([cols, rows], (d, n))))
    sign = 2 * y - 1
    w = torch.zeros(d, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([w, b], lr=1.0, max_iter=NGRAM_FIT_STEPS, history_size=20,
                                  tolerance_grad=1e-9, tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def objective():  # divided by n: the same minimum, gradients of a size the tolerances suit
        margin = (x @ w.detach()) + b.detach()
        loss = (c * F.softplus(-sign * margin).sum() + 0.5 * w.detach().square().sum()) / n
        slope = -c * sign * torch.sigmoid(-sign * margin) / n  # d loss / d margin
        w.grad = xt @ slope + w.detach() / n
        b.grad = slope.sum().reshape(1)
        return loss

    with torch.enable_grad():
        optimiser.step(objective)
    return w.detach(), float(b.detach())


#: L-BFGS iterations for the mixing of the members' logits (three numbers for two classes: converges in tens)
MIXING_FIT_STEPS = 100
#: a whisper of L2 on the members' weights, so that a validation set one member separates perfectly (a tiny
#: slice) still gives finite weights; on 5,000 IMDB reviews it moves the weights by under 1e-3
MIXING_L2 = 1e-4


def mean_mixing(outputs: int) -> torch.Tensor:
    """The mixing of a model whose checkpoint has none: the mean of the two members' logits, no offset."""
    return torch.cat([torch.tensor([0.5, 0.5]), torch.zeros(outputs)])


def mixed(mixing: torch.Tensor, encoder: torch.Tensor, ngrams: torch.Tensor) -> torch.Tensor:
    """``a * encoder + b * ngrams + c`` for ``mixing = (a, b, c...)``: c one offset per logit column."""
    offset = mixing[2:] if encoder.dim() > 1 else mixing[2]
    return mixing[0] * encoder + mixing[1] * ngrams + offset


def fit_mixing(encoder: torch.Tensor, ngrams: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The ``(a, b, c...)`` of the mixing that minimises the log loss of the mixed logits on ``y`` (binary
    cross-entropy for ``(N,)`` logits, softmax cross-entropy for ``(N, C)``): a logistic regression on two
    features (the members' logits), convex, by L-BFGS from the mean. Chosen over a convex weight on a grid
    by validation accuracy: on IMDB's 5,000 validation reviews the fit scored 0.9180 / 0.9252 (seeds 0 / 1)
    against the grid's 0.9196 / 0.9232, and its offset matters (the mean scored 0.9065 test for seed 1, the
    fit 0.9121; docs/tasks/sentiment.md, Measured)."""
    encoder, ngrams = encoder.detach().double(), ngrams.detach().double()
    outputs = 1 if encoder.dim() == 1 else encoder.shape[1]
    weights = mean_mixing(outputs).double().requires_grad_(True)
    optimiser = torch.optim.LBFGS([weights], lr=1.0, max_iter=MIXING_FIT_STEPS, history_size=10,
                                  tolerance_grad=1e-10, tolerance_change=1e-14, line_search_fn="strong_wolfe")

    def objective():
        optimiser.zero_grad()
        logits = mixed(weights, encoder, ngrams)
        if encoder.dim() == 1:
            loss = F.binary_cross_entropy_with_logits(logits, y.to(logits.dtype))
        else:
            loss = F.cross_entropy(logits, y)
        loss = loss + MIXING_L2 * weights[:2].square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimiser.step(objective)
    fitted = weights.detach()
    if not torch.isfinite(fitted).all():  # a degenerate validation set (one row, one class): keep the mean
        return mean_mixing(outputs)
    return fitted.float()


class SentimentModule(TaskModule):
    def __init__(self, cfg: RunConfig, state: SentimentState, vectors: torch.Tensor | None = None,
                 train=None):
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
        self.ngrams = None
        if opts.ngrams:
            self.ngrams = NgramLogits(len(state.vocab), opts.ngrams, opts.ngram_buckets,
                                      self.classifier.out_features)
            if train is not None:  # training; a trained model's member comes back with its weights
                self.ngrams.fit(train.ids, train.labels, len(classes))
            # (a, b, c...) of the answer a * encoder + b * member + c: a buffer, so that the checkpoint, the
            # exported graph and every prediction path answer with the mixing the best epoch was scored with
            self.register_buffer("mixing", mean_mixing(self.classifier.out_features))
        self._val_rows: list = []
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

    def members(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The encoder's logits and the n-gram member's (None when it is off), each ``(B,)`` for two
        classes and ``(B, C)`` otherwise."""
        features, _ = self.encode(ids, lengths)
        encoder = self.classifier(self.dropout(features))
        ngrams = self.ngrams(ids) if self.ngrams is not None else None
        if self.binary:
            return encoder.squeeze(-1), None if ngrams is None else ngrams.squeeze(-1)
        return encoder, ngrams

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits: ``(B,)`` for two classes, ``(B, C)`` otherwise; with the n-gram member, the two members'
        logits mixed (``answer``; the encoder trained on its own loss, the member fitted before: ``step``)."""
        return self.answer(*self.members(ids, lengths))

    def answer(self, encoder: torch.Tensor, ngrams: torch.Tensor | None) -> torch.Tensor:
        """The model's logits from its members' (``members``): ``a * encoder + b * ngrams + c`` with the
        mixing fitted on validation (``on_validation_epoch_end``)."""
        return encoder if ngrams is None else mixed(self.mixing, encoder, ngrams)

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.binary:
            return F.binary_cross_entropy_with_logits(logits, y.to(logits.dtype))
        return F.cross_entropy(logits, y)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """A checkpoint written before the n-gram member existed (or with it off) loads as the model it
        was: the member, which the run's saved settings now switch on by default, is dropped."""
        if self.ngrams is not None and not any(k.startswith("ngrams.") for k in state_dict):
            self.ngrams = None
            del self.mixing
        elif self.ngrams is not None and "mixing" not in state_dict:  # saved before the mixing was fitted
            state_dict = {**state_dict, "mixing": mean_mixing(self.classifier.out_features)}
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """``(B, C)`` class probabilities from the logits."""
        if self.binary:
            p = torch.sigmoid(logits)
            return torch.stack([1 - p, p], dim=-1)
        return torch.softmax(logits, dim=-1)

    def step(self, batch, stage: str) -> torch.Tensor:
        ids, lengths, y, index = batch
        encoder, ngrams = self.members(ids, lengths)
        logits = self.answer(encoder, ngrams)
        loss = self.loss(logits, y)  # what is logged: the answers' loss
        # The encoder learns on its own loss. Trained on the mean of the logits, the n-gram member fits the
        # training texts within an epoch and leaves the encoder no error to learn from (an IMDB slice of 6,400
        # reviews: validation accuracy 0.863 after the first epoch, 0.866 after four, where NBSVM alone has
        # 0.883); trained by AdamW on a loss of its own, the mean of the two stayed there too (0.8625), likely
        # as Adam's per-weight steps move rare n-grams as far as common ones. Fitted convexly before training
        # (NgramLogits.fit), the member alone has 0.876.
        objective = loss if ngrams is None else self.loss(encoder, y)
        preds = (logits > 0).long() if self.binary else logits.argmax(dim=-1)
        n = len(y)
        if stage != "val" or ngrams is None:
            self.log(f"{stage}/loss", loss, batch_size=n, prog_bar=stage != "train", on_epoch=True,
                     on_step=stage == "train", sync_dist=stage != "train")  # under DDP: all ranks' mean
        if stage == "val" and ngrams is not None:  # scored at the epoch's end, with the mixing fitted there
            self._val_rows.append((encoder.detach(), ngrams.detach(), y))
            return objective
        if stage == "train":  # a plain tensor: cheap to log every step, and its batch-weighted mean is exact
            self.log("train/acc", (preds == y).float().mean(), batch_size=n, on_epoch=True, on_step=False,
                     prog_bar=True)
        else:  # updated per batch, logged once per epoch (logging a Metric object every step costs ~1 ms)
            for name, metric in self.metrics[stage + "_"].items():
                metric.update(torch.sigmoid(logits) if name == "auroc" else preds, y)
        if stage == "test":
            self.confusion.update(preds, y)
            self._test_rows.append((index.cpu(), self.probabilities(logits.detach()).cpu()))
        return objective

    @staticmethod
    def batch_size_of(batch) -> int:
        return int(batch[0].shape[0])

    def _log_epoch_metrics(self, stage: str) -> None:
        """compute() synchronises the counts across DDP ranks, so the logged values need no further sync."""
        for name, metric in self.metrics[stage + "_"].items():
            if metric.update_count:
                self.log(f"{stage}/{name}", metric.compute(), prog_bar=name == "acc")
            metric.reset()

    def on_validation_epoch_start(self) -> None:
        self._val_rows = []

    def gathered(self, x: torch.Tensor) -> torch.Tensor:
        """``x``'s rows from every DDP rank, in rank order (ranks may hold different numbers of rows)."""
        if self.trainer.world_size == 1:
            return x
        sizes = self.all_gather(torch.tensor([len(x)], device=x.device)).flatten().tolist()
        padded = torch.cat([x, x.new_zeros((max(sizes) - len(x),) + tuple(x.shape[1:]))])
        everything = self.all_gather(padded)
        return torch.cat([everything[rank, :size] for rank, size in enumerate(sizes)])

    def score_validation(self) -> None:
        """With the n-gram member: fit the mixing on this epoch's validation logits (while fitting; every rank
        the same, from all ranks' rows), then score the mixed logits, so that the checkpoint chosen and saved
        on this epoch's metrics carries the mixing they were computed with."""
        rows, self._val_rows = self._val_rows, []
        if not rows:
            return
        encoder, ngrams, y = (torch.cat(parts) for parts in zip(*rows))
        trainer = self.trainer
        if trainer.state.fn == "fit" and not trainer.sanity_checking:
            everything = [self.gathered(t) for t in (encoder, ngrams, y)]
            self.mixing.copy_(fit_mixing(*everything).to(self.mixing.device))
        logits = self.answer(encoder, ngrams)
        preds = (logits > 0).long() if self.binary else logits.argmax(dim=-1)
        for name, metric in self.metrics["val_"].items():
            metric.update(torch.sigmoid(logits) if name == "auroc" else preds, y)
        self.log("val/loss", self.loss(logits, y), batch_size=len(y), prog_bar=True, sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        self.score_validation()
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

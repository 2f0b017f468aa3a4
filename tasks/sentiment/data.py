"""The sentiment datamodule: splits, label encoding, the training vocabulary, bucketed batches.

Texts are tokenised and numericalised once in ``load()``; the dataset holds one id tensor per text and
batches are padded only to their longest member, with lengths for packing. The vocabulary and class
names are the run's ``SentimentState``, saved in its checkpoints, so a trained run reads new text exactly
as it read its training data.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
from torch.utils.data import DataLoader, Dataset

from suite.config import RunConfig
from suite.data.splits import seeded_holdout
from suite.data.state import DataState, StateError
from suite.data.text import (Vocabulary, batched_loader, bucketed_loader, distributed_sampler, load_word_vectors,
                             pad_batch, tokenize, truncate)
from suite.errors import ConfigError, DataError
from suite.task import TaskDataModule

from .sources import Examples, find_sources, find_test_source, read_split


class TextLabelDataset(Dataset):
    """Id tensors and class indices; ``__getitems__`` collates a whole batch at once into
    ``(ids, lengths, labels, example indices)`` (the indices map bucketed batches back to rows)."""

    def __init__(self, ids: list[torch.Tensor], labels: torch.Tensor, texts: list[str] | None = None):
        self.ids = ids
        self.labels = labels
        self.texts = texts  # as read, whole: the strong baseline (baselines.py) reads them
        self.lengths = [len(x) for x in ids]

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int):
        return self.ids[i], self.labels[i]

    def __getitems__(self, indices: Sequence[int]):
        padded, lengths = pad_batch([self.ids[i] for i in indices])
        index = torch.as_tensor(list(indices), dtype=torch.long)
        return padded, lengths, self.labels[index], index


def _identity(batch):
    return batch


class TextPreprocessor:
    """Text -> token ids with the run's settings; the same for training data and predictions."""

    def __init__(self, opts, vocab: Vocabulary | None = None):
        self.opts = opts
        self.vocab = vocab

    def tokens(self, text: str) -> list[str]:
        tokens = tokenize(text, self.opts.lowercase)
        if self.opts.drop_punctuation:
            tokens = [t for t in tokens if any(ch.isalnum() for ch in t)]
        return tokens

    def ids(self, tokens: Sequence[str]) -> tuple[list[int], bool]:
        """Ids (unknown words dropped or mapped to <unk>) cut to max_length; and whether it was cut."""
        ids, cut, _ = self.encode(tokens)
        return ids, cut

    def encode(self, tokens: Sequence[str]) -> tuple[list[int], bool, int]:
        """``ids()`` and how many tokens are not in the vocabulary, from one look-up per token (a prediction
        reports that count; <pad> and <unk> never come out of the tokenizer, so an unknown id is one)."""
        unk = self.vocab.unk_index
        ids = self.vocab.encode(tokens)
        unknown = ids.count(unk)
        if self.opts.oov == "drop" and unknown:
            ids = [i for i in ids if i != unk]
        limit = self.opts.max_length
        cut = bool(limit) and len(ids) > limit
        return truncate(ids, limit, self.opts.truncate), cut, unknown


def class_names_for(values: list[Any], label_names: str) -> list[str]:
    if label_names != "auto":
        names = [n.strip() for n in label_names.split(",") if n.strip()]
        if len(names) != len(values):
            raise ConfigError("options.label_names (--label-names)",
                              f"gives {len(names)} names for {len(values)} labels ({', '.join(map(str, values))})")
        return names
    if values == [0, 1]:
        return ["negative", "positive"]
    return [str(v) for v in values]


def canonical_label(value: Any, source: str, line: int) -> Any:
    """Integer-valued labels as int (1, 1.0 and "1" agree), others as stripped strings."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise DataError(source, "missing label", line=line)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int,)) or (hasattr(value, "is_integer") and not isinstance(value, str)):
        number = float(value)
        if not number.is_integer():
            raise DataError(source, f"expected a class label, got {value!r} (a continuous score?)", line=line)
        return int(number)
    text = str(value).strip()
    if not text:
        raise DataError(source, "missing label", line=line)
    if text.lstrip("-").isdigit():
        return int(text)
    return text


@dataclass
class SentimentState(DataState):
    """What training learnt from its data: the vocabulary, the classes and how often each came."""

    VERSION = 1
    vocab: list[str]  # the tokens by index, <pad> and <unk> first
    classes: list[str]  # the class names, in the order of label_values
    label_values: list[int | str]  # the sorted label values of the training data (canonical_label's)
    class_counts: list[int] = field(default_factory=list)  # per class, in the training split
    vector_dim: int | None = None  # the width of the --embeddings vectors (None: --embedding-dim)

    def __post_init__(self):
        try:  # derived, not a field (so not saved); a damaged saved vocabulary is refused here
            self.vocabulary = Vocabulary(self.vocab)
        except ValueError as exc:
            raise StateError(f"field 'vocab': {exc}") from None

    @classmethod
    def upgrade(cls, saved: dict[str, Any], version: int) -> dict[str, Any]:
        if version == 0:  # {"vocab": {"itos": [...]}, "classes", "label_values"[, "class_counts"]}
            vocab = saved.get("vocab")
            return {**saved, "vocab": vocab["itos"]} if isinstance(vocab, dict) and "itos" in vocab else saved
        return super().upgrade(saved, version)

    @property
    def majority(self) -> int:
        """The training split's most frequent class."""
        return max(range(len(self.class_counts)), key=self.class_counts.__getitem__)


def stratified_order(labels: list[Any], seed: int) -> list[int]:
    """A seeded order that interleaves the classes, so any prefix (--limit) keeps their proportions."""
    g = torch.Generator().manual_seed(seed)
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(str(label), []).append(i)
    keyed = []
    for members in by_label.values():
        perm = torch.randperm(len(members), generator=g).tolist()
        keyed += [((rank + 0.5) / len(members), members[j]) for rank, j in enumerate(perm)]
    return [i for _, i in sorted(keyed)]


class SentimentDataModule(TaskDataModule):
    """Reads ``options.data``; builds the vocabulary and classes on the training split only."""

    State = SentimentState

    def __init__(self, cfg: RunConfig, state: SentimentState | None = None, test_data: str | None = None):
        super().__init__(cfg, state, test_data)
        self.opts = cfg.options
        self.vectors: torch.Tensor | None = None
        self.vectors_found = 0
        self.truncated: dict[str, int] = {}

    def load(self) -> None:
        opts = self.opts
        sources = find_sources(opts.data)
        hub = isinstance(sources["train"], tuple)
        train = read_split(sources["train"], opts)
        if len(train) == 0:
            raise DataError(opts.data, "no training examples")
        splits: dict[str, Examples] = {}
        for split in ("val", "test"):
            if split in sources:
                try:
                    splits[split] = read_split(sources[split], opts)
                except DataError:
                    if not hub:  # a Hub dataset may simply lack the split
                        raise
        if opts.limit and len(train) > opts.limit:
            train = train.subset(stratified_order(train.labels, self.cfg.train.seed)[: opts.limit])
        # every training row is checked (labels, then words) before any is set aside for validation
        train.labels = [canonical_label(v, *w) for v, w in zip(train.labels, train.where)]
        train.tokens = self._tokens(train, TextPreprocessor(opts))
        if "val" not in splits:  # a seeded share of each class, so small sets keep their balance
            kept, (val,) = seeded_holdout(len(train), [opts.val_fraction], self.cfg.train.seed,
                                          strata=[str(label) for label in train.labels])
            if not val or not kept:
                raise DataError(opts.data, f"{len(train)} examples are too few to carve a validation split "
                                           f"of {opts.val_fraction}")
            train, splits["val"] = train.subset(kept), train.subset(val)
        values = sorted(set(train.labels), key=lambda v: (isinstance(v, str), v))
        if len(values) < 2:
            raise DataError(train.where[0][0], f"the training data has one class only ({values})")
        classes = class_names_for(values, opts.label_names)
        vocab = Vocabulary.build(train.tokens, min_freq=opts.min_freq, max_size=opts.max_vocab or None)
        if opts.embeddings:
            self.vectors, self.vectors_found = load_word_vectors(opts.embeddings, vocab, seed=self.cfg.train.seed)
            if self.vectors_found == 0:
                raise DataError(opts.embeddings, "none of the vocabulary's words has a vector in this file")
        counts = Counter(train.labels)
        self.state = SentimentState(vocab.itos, classes, values, [counts[v] for v in values],
                                    None if self.vectors is None else self.vectors.shape[1])
        self.train_set = self._encode(train, "train", train.tokens)
        self.val_set = self._encode(splits["val"], "validation")
        if "test" in splits:
            self.test_set = self._encode(splits["test"], "test")

    def load_test(self, data: str) -> None:
        spec = find_test_source(data)  # the test set alone: a folder needs no training file beside it
        test = read_split(spec, self.opts)
        if isinstance(spec, Path):  # --evaluate's report says which file of a folder it scored
            self.test_split = spec.name
        self.test_set = self._encode(test, "test")

    def _targets(self, examples: Examples) -> torch.Tensor:
        index = {v: i for i, v in enumerate(self.state.label_values)}
        known = ", ".join(map(str, self.state.label_values))
        targets = []
        for value, (source, line) in zip(examples.labels, examples.where):
            label = canonical_label(value, source, line)
            if label not in index:
                raise DataError(source, f"label {value!r} is not one of the training labels ({known})", line=line)
            targets.append(index[label])
        return torch.tensor(targets, dtype=torch.long)

    def _tokens(self, examples: Examples, pre: TextPreprocessor) -> list[list[str]]:
        out = []
        for text, (source, line) in zip(examples.texts, examples.where):
            tokens = pre.tokens(text)
            if not tokens:
                raise DataError(source, "empty text (no words after removing markup)", line=line)
            out.append(tokens)
        return out

    def _encode(self, examples: Examples, split: str, tokens: list[list[str]] | None = None) -> TextLabelDataset:
        targets = self._targets(examples)
        pre = TextPreprocessor(self.opts, self.state.vocabulary)
        tokens = tokens if tokens is not None else self._tokens(examples, pre)
        ids, cut = [], 0
        for toks in tokens:
            seq, was_cut = pre.ids(toks)
            cut += was_cut
            # a text of unknown words only keeps one <unk> so that it still has a length to pack
            ids.append(torch.tensor(seq or [Vocabulary.unk_index], dtype=torch.long))
        if cut:
            self.truncated[split] = cut
            # one line, in the style of the CLI's errors (a parent process reads stderr)
            print(f"warning: {split}: {cut} of {len(tokens)} texts are longer than --max-length "
                  f"{self.opts.max_length} tokens and were cut (keeping {self.opts.truncate.replace('_', '+')})",
                  file=sys.stderr)
        return TextLabelDataset(ids, targets, examples.texts)

    # --- loaders -------------------------------------------------------------------------------------
    def loader(self, dataset: TextLabelDataset, shuffle: bool = False, train=None) -> DataLoader:
        train = train or self.cfg.train
        # the batch sampler yields index lists; __getitems__ pads a whole batch at once
        if self.opts.bucket:
            return bucketed_loader(dataset, dataset.lengths, _identity, train, shuffle)
        plain = torch.utils.data.RandomSampler if shuffle else torch.utils.data.SequentialSampler
        order = distributed_sampler(dataset, shuffle, train.seed) or plain(dataset)
        sampler = torch.utils.data.BatchSampler(order, train.batch_size_for(shuffle), drop_last=False)
        return batched_loader(dataset, sampler, _identity, train)

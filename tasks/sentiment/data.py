"""The sentiment datamodule: splits, label encoding, the training vocabulary, bucketed batches.

Texts are tokenised and numericalised once in ``load()``; the dataset holds one id tensor per text and
batches are padded only to their longest member, with lengths for packing. The vocabulary and class
names live in ``state_dict()`` so a trained run reads new text exactly as it read its training data.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, Sequence

import torch
from torch.utils.data import DataLoader, Dataset

from suite.config import RunConfig
from suite.data.text import (Vocabulary, batched_loader, bucketed_loader, distributed_sampler, load_word_vectors,
                             pad_batch, tokenize, truncate)
from suite.errors import ConfigError, DataError
from suite.task import TaskDataModule

from .sources import Examples, find_sources, find_test_source, read_split


class TextLabelDataset(Dataset):
    """Id tensors and class indices; ``__getitems__`` collates a whole batch at once into
    ``(ids, lengths, labels, example indices)`` (the indices map bucketed batches back to rows)."""

    def __init__(self, ids: list[torch.Tensor], labels: torch.Tensor):
        self.ids = ids
        self.labels = labels
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
        ids = self.vocab.encode(tokens)
        if self.opts.oov == "drop":
            ids = [i for i in ids if i != self.vocab.unk_index]
        limit = self.opts.max_length
        cut = bool(limit) and len(ids) > limit
        return truncate(ids, limit, self.opts.truncate), cut


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


class SentimentDataModule(TaskDataModule):
    """Reads ``options.data``; builds the vocabulary and classes on the training split only."""

    def __init__(self, cfg: RunConfig, state: dict[str, Any] | None = None, evaluate_only: bool = False):
        super().__init__(cfg)
        self.opts = cfg.options
        self.vocab: Vocabulary | None = None
        self.classes: list[str] = []
        self.label_values: list[Any] = []
        self.vectors: torch.Tensor | None = None
        self.vectors_found = 0
        self.evaluate_only = evaluate_only
        self.truncated: dict[str, int] = {}
        self.class_counts: list[int] = []
        if state:
            self.load_state_dict(state)

    # --- the state a trained model needs -----------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"vocab": self.vocab.state_dict() if self.vocab else None, "classes": list(self.classes),
                "label_values": list(self.label_values), "class_counts": list(self.class_counts)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.vocab = Vocabulary.from_state(state["vocab"]) if state.get("vocab") else None
        self.classes = list(state["classes"])
        self.label_values = list(state["label_values"])
        self.class_counts = list(state.get("class_counts") or [])

    @property
    def majority(self) -> int:
        """The training split's most frequent class."""
        return max(range(len(self.class_counts)), key=self.class_counts.__getitem__)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def preprocessor(self) -> TextPreprocessor:
        return TextPreprocessor(self.opts, self.vocab)

    # --- reading -----------------------------------------------------------------------------------
    def load(self) -> None:
        if self.evaluate_only:  # the data is a test set: a folder needs no training file beside it
            spec = find_test_source(self.opts.data)
            test = read_split(spec, self.opts)
            if isinstance(spec, Path):  # --evaluate's report says which file of a folder it scored
                self.test_split = spec.name
            self.train_set = None
            self.val_set = self.test_set = self._encode(test, "test", self._targets(test))
            return
        sources = find_sources(self.opts.data)
        hub = isinstance(sources["train"], tuple)
        train = read_split(sources["train"], self.opts)
        if len(train) == 0:
            raise DataError(self.opts.data, "no training examples")
        splits: dict[str, Examples] = {}
        for split in ("val", "test"):
            if split in sources:
                try:
                    splits[split] = read_split(sources[split], self.opts)
                except DataError:
                    if not hub:  # a Hub dataset may simply lack the split
                        raise
        if self.opts.limit and len(train) > self.opts.limit:
            train = train.subset(self._stratified_order(train)[: self.opts.limit])
        # every training row is checked (labels, then words) before any is set aside for validation
        train.labels = [canonical_label(v, *w) for v, w in zip(train.labels, train.where)]
        pre = TextPreprocessor(self.opts)
        train.tokens = self._tokens(train, pre)
        if "val" not in splits:
            train, splits["val"] = self._carve(train, self.opts.val_fraction)
        self.label_values = sorted(set(train.labels), key=lambda v: (isinstance(v, str), v))
        if len(self.label_values) < 2:
            raise DataError(train.where[0][0], f"the training data has one class only ({self.label_values})")
        self.classes = class_names_for(self.label_values, self.opts.label_names)
        train_tokens = train.tokens
        max_size = self.opts.max_vocab or None
        self.vocab = Vocabulary.build(train_tokens, min_freq=self.opts.min_freq, max_size=max_size)
        if self.opts.embeddings:
            self.vectors, self.vectors_found = load_word_vectors(self.opts.embeddings, self.vocab,
                                                                 seed=self.cfg.train.seed)
            if self.vectors_found == 0:
                raise DataError(self.opts.embeddings, "none of the vocabulary's words has a vector in this file")
        self.train_set = self._encode(train, "train", self._targets(train), train_tokens)
        self.class_counts = torch.bincount(self.train_set.labels, minlength=len(self.classes)).tolist()
        self.val_set = self._encode(splits["val"], "validation", self._targets(splits["val"]))
        if "test" in splits:
            self.test_set = self._encode(splits["test"], "test", self._targets(splits["test"]))

    def _stratified_order(self, examples: Examples) -> list[int]:
        """A seeded order that interleaves the classes, so any prefix keeps their proportions."""
        g = torch.Generator().manual_seed(self.cfg.train.seed)
        by_label: dict[Any, list[int]] = {}
        for i, label in enumerate(examples.labels):
            by_label.setdefault(str(label), []).append(i)
        keyed = []
        for members in by_label.values():
            perm = torch.randperm(len(members), generator=g).tolist()
            keyed += [((rank + 0.5) / len(members), members[j]) for rank, j in enumerate(perm)]
        return [i for _, i in sorted(keyed)]

    def _carve(self, train: Examples, fraction: float) -> tuple[Examples, Examples]:
        """A seeded validation share of each class (stratified, so small sets keep their balance)."""
        g = torch.Generator().manual_seed(self.cfg.train.seed)
        by_label: dict[str, list[int]] = {}
        for i, label in enumerate(train.labels):
            by_label.setdefault(str(label), []).append(i)
        val: list[int] = []
        for members in by_label.values():
            perm = torch.randperm(len(members), generator=g).tolist()
            share = max(1, int(round(len(members) * fraction))) if len(members) > 1 else 0
            val += [members[j] for j in perm[:share]]
        if not val or len(val) >= len(train):
            raise DataError(self.opts.data, f"{len(train)} examples are too few to carve a validation split "
                                            f"of {fraction}")
        chosen = set(val)
        return train.subset([i for i in range(len(train)) if i not in chosen]), train.subset(sorted(val))

    def _targets(self, examples: Examples) -> torch.Tensor:
        index = {v: i for i, v in enumerate(self.label_values)}
        known = ", ".join(map(str, self.label_values))
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

    def _encode(self, examples: Examples, split: str, targets: torch.Tensor,
                tokens: list[list[str]] | None = None) -> TextLabelDataset:
        pre = self.preprocessor
        tokens = tokens if tokens is not None else self._tokens(examples, pre)
        ids, cut = [], 0
        for toks in tokens:
            seq, was_cut = pre.ids(toks)
            cut += was_cut
            # a text of unknown words only keeps one <unk> so that it still has a length to pack
            ids.append(torch.tensor(seq or [self.vocab.unk_index], dtype=torch.long))
        if cut:
            self.truncated[split] = cut
            # one line, in the style of the CLI's errors (a parent process reads stderr)
            print(f"warning: {split}: {cut} of {len(tokens)} texts are longer than --max-length "
                  f"{self.opts.max_length} tokens and were cut (keeping {self.opts.truncate.replace('_', '+')})",
                  file=sys.stderr)
        return TextLabelDataset(ids, targets)

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

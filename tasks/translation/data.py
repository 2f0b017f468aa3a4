"""Parallel data as tensors: the data state (segmenters trained on the training split), length limits,
and batches of similar length (the shared bucketed_loader and pad_batch)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import torch
from tokenizers import Tokenizer
from torch.utils.data import DataLoader, Dataset

from suite.data.splits import seeded_holdout
from suite.data.state import DataState, StateError
from suite.data.text import bucketed_loader, pad_batch
from suite.errors import DataError
from suite.task import TaskDataModule

from .corpus import Corpus, read_corpus
from .segmenters import BOS_ID, EOS_ID, PAD_ID, Segmenter


@dataclass
class PairSet(Dataset):
    """Encoded pairs plus the raw text (references are scored as written, not as re-tokenised)."""

    sources: list[torch.Tensor]
    targets: list[torch.Tensor]  # <s> ... </s>
    source_text: list[str]
    target_text: list[str]

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, i: int):
        return self.sources[i], self.targets[i], i

    def lengths(self) -> list[int]:
        return [max(len(s), len(t)) for s, t in zip(self.sources, self.targets)]


def collate(items):
    sources, targets, index = zip(*items)
    src, src_len = pad_batch(sources, PAD_ID)
    tgt, tgt_len = pad_batch(targets, PAD_ID)
    return src, src_len, tgt, tgt_len, torch.tensor(index, dtype=torch.long)


def encode_pairs(pairs: list[tuple[str, str]], src: Segmenter, tgt: Segmenter, max_length: int,
                 drop_long: bool) -> tuple[PairSet, int]:
    """A PairSet and how many pairs were over ``max_length`` (dropped when ``drop_long``, else truncated)."""
    src_ids = src.encode_batch([s for s, _ in pairs])
    tgt_ids = tgt.encode_batch([t for _, t in pairs])
    keep = PairSet([], [], [], [])
    long = 0
    for (s_text, t_text), s, t in zip(pairs, src_ids, tgt_ids):
        if len(s) > max_length or len(t) > max_length:
            long += 1
            if drop_long:
                continue
        keep.sources.append(torch.tensor(s[:max_length] or [PAD_ID], dtype=torch.long))
        keep.targets.append(torch.tensor([BOS_ID] + t[:max_length] + [EOS_ID], dtype=torch.long))
        keep.source_text.append(s_text)
        keep.target_text.append(t_text)
    return keep, long


@dataclass
class TranslationState(DataState):
    """The two tokenizers trained on the training split, as their JSON text (``Tokenizer.to_str()``, never
    a pickle), and their segmentation (bpe, unigram, word or char)."""

    VERSION = 1
    segmentation: str
    source_tokenizer: str
    target_tokenizer: str

    def __post_init__(self) -> None:
        # parsed once, here: a damaged tokenizer is refused with the rest of a damaged state, and training
        # encodes with exactly what its checkpoint restores
        segmenters = []
        for name in ("source_tokenizer", "target_tokenizer"):
            try:
                segmenters.append(Segmenter(Tokenizer.from_str(getattr(self, name)), self.segmentation))
            except Exception:  # tokenizers raises a bare Exception
                raise StateError(f"field {name!r}: not a tokenizer's JSON text") from None
        self.segmenters: tuple[Segmenter, Segmenter] = tuple(segmenters)

    @classmethod
    def upgrade(cls, saved: dict[str, Any], version: int) -> dict[str, Any]:
        if version != 0:
            return super().upgrade(saved, version)
        # version 0: {"source": {"mode", "tokenizer"}, "target": {...}, "info": {...}}; "info" held the
        # vocabulary sizes (the tokenizers' own) and figures of the run that are not needed to predict
        source, target = (side if isinstance(side, dict) else {} for side in (saved.get("source"), saved.get("target")))
        fields = {"segmentation": source.get("mode"), "source_tokenizer": source.get("tokenizer"),
                  "target_tokenizer": target.get("tokenizer")}
        return {name: value for name, value in fields.items() if value is not None}


class TranslationDataModule(TaskDataModule):
    State = TranslationState

    def load(self) -> None:
        opts = self.cfg.options
        corpus = read_corpus(opts.data, opts.source_lang, opts.target_lang, self._columns(), opts.test_split)
        if opts.max_pairs:
            corpus.train = corpus.train[:opts.max_pairs]
        self._hold_out(corpus)
        if not corpus.train:
            raise DataError(opts.data, "no training pairs left after holding out validation and test")
        if self.state is None:  # trained on the training split only
            source = Segmenter.train([s for s, _ in corpus.train], opts.tokenizer, opts.source_vocab)
            target = Segmenter.train([t for _, t in corpus.train], opts.tokenizer, opts.target_vocab)
            self.state = TranslationState(opts.tokenizer, source.tokenizer.to_str(), target.tokenizer.to_str())
        self.train_set, dropped = self._encode(corpus.train, opts.long_pairs == "drop")
        self.val_set, val_long = self._encode(corpus.val, drop=False)
        self.test_set, test_long = self._encode(corpus.test, drop=False) if corpus.test else (None, 0)
        if not len(self.train_set):
            raise DataError(opts.data, f"every training pair is longer than --max-length {opts.max_length}")
        self.long_pairs = {"train": dropped, "val": val_long, "test": test_long}
        if dropped or val_long or test_long:
            verb = "dropped" if opts.long_pairs == "drop" else "truncated"
            print(f"translation: pairs over --max-length {opts.max_length} tokens: {dropped} training pairs "
                  f"{verb}; {val_long} validation and {test_long} test pairs truncated", file=sys.stderr)

    def _hold_out(self, corpus: Corpus) -> None:
        """Validation and test splits carved from training (seeded) where the data has none."""
        opts, pairs = self.cfg.options, corpus.train
        kept, (val, test) = seeded_holdout(len(pairs), [opts.val_fraction if corpus.val is None else 0.0,
                                                        opts.test_fraction if corpus.test is None else 0.0],
                                           self.cfg.train.seed)
        if corpus.val is None:
            if not val:
                raise DataError(corpus.origin.get("train", "data"), "no validation split and --val-fraction "
                                                                     f"gives none of {len(pairs)} pairs")
            corpus.val = [pairs[i] for i in val]
            corpus.origin["val"] = f"{opts.val_fraction:g} of training (seeded)"
        if test:
            corpus.test = [pairs[i] for i in test]
            corpus.origin["test"] = f"{opts.test_fraction:g} of training (seeded)"
        corpus.train = [pairs[i] for i in kept]

    def load_test(self, data: str) -> None:
        opts = self.cfg.options
        columns = self._columns()
        if not {opts.source_lang, opts.target_lang} <= set(columns):
            # --pair-columns that do not name the model's languages were never read in training (it read a
            # folder or the Hub; the default en,fr stayed): a pairs file to evaluate holds the model's own
            # languages, source first, unless --pair-columns says otherwise
            columns = (opts.source_lang, opts.target_lang)
        # the test set alone: a folder's test split (else validation, else train), every pair of a pairs file
        corpus = read_corpus(data, opts.source_lang, opts.target_lang, columns, opts.test_split, evaluate=True)
        self.test_set, _ = self._encode(corpus.test, drop=False)
        self.test_split = corpus.origin.get("test", "data")

    def _columns(self) -> tuple[str, ...]:
        return tuple(c.strip() for c in self.cfg.options.pair_columns.split(",") if c.strip())

    def _encode(self, pairs, drop: bool) -> tuple[PairSet, int]:
        return encode_pairs(pairs, *self.state.segmenters, self.cfg.options.max_length, drop)

    # --- batches of similar length ---------------------------------------------------------------------
    def _loader(self, dataset: PairSet, shuffle: bool) -> DataLoader:
        return bucketed_loader(dataset, dataset.lengths(), collate, self.cfg.train, shuffle)

    def train_dataloader(self):
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self):
        return self._loader(self.val_set, shuffle=False)

    def test_dataloader(self):
        return self._loader(self.test_set, shuffle=False)

"""Parallel data as tensors: segmenters trained on the training split, length limits, and batches of
similar length (the shared bucketed_loader and pad_batch)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from suite.config import RunConfig
from suite.data.text import bucketed_loader, pad_batch
from suite.errors import DataError
from suite.task import TaskDataModule

from .corpus import Corpus, carve, read_corpus
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


class TranslationDataModule(TaskDataModule):
    def __init__(self, cfg: RunConfig, segmenters: tuple[Segmenter, Segmenter] | None = None,
                 evaluate_only: bool = False):
        super().__init__(cfg)
        self.source_seg, self.target_seg = segmenters or (None, None)
        self.evaluate_only = evaluate_only
        self.info: dict[str, Any] = {}

    # --- data state in the checkpoint: the tokenizers as JSON text -------------------------------------
    def state_dict(self) -> dict[str, Any]:
        if self.source_seg is None:
            return {}
        return {"source": self.source_seg.state(), "target": self.target_seg.state(), "info": self.info}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.source_seg = Segmenter.from_state(state["source"])
        self.target_seg = Segmenter.from_state(state["target"])
        self.info = dict(state.get("info", {}))

    # --- reading ---------------------------------------------------------------------------------------
    def load(self) -> None:
        opts = self.cfg.options
        columns = tuple(c.strip() for c in opts.pair_columns.split(",") if c.strip())
        if self.evaluate_only and not {opts.source_lang, opts.target_lang} <= set(columns):
            # --pair-columns that do not name the model's languages were never read in training (it read a
            # folder or the Hub; the default en,fr stayed): a pairs file to evaluate holds the model's own
            # languages, source first, unless --pair-columns says otherwise
            columns = (opts.source_lang, opts.target_lang)
        corpus = read_corpus(opts.data, opts.source_lang, opts.target_lang, columns, opts.test_split,
                             evaluate=self.evaluate_only)
        if self.evaluate_only:
            self._load_evaluation(corpus)
            return
        if opts.max_pairs:
            corpus.train = corpus.train[:opts.max_pairs]
        corpus = carve(corpus, opts.val_fraction, opts.test_fraction, self.cfg.train.seed)
        if not corpus.train:
            raise DataError(opts.data, "no training pairs left after holding out validation and test")
        if self.source_seg is None:  # trained on the training split only
            self.source_seg = Segmenter.train([s for s, _ in corpus.train], opts.tokenizer, opts.source_vocab)
            self.target_seg = Segmenter.train([t for _, t in corpus.train], opts.tokenizer, opts.target_vocab)
        self.train_set, dropped = self._encode(corpus.train, opts.long_pairs == "drop")
        self.val_set, val_long = self._encode(corpus.val, drop=False)
        self.test_set, test_long = self._encode(corpus.test, drop=False) if corpus.test else (None, 0)
        if not len(self.train_set):
            raise DataError(opts.data, f"every training pair is longer than --max-length {opts.max_length}")
        self.info = {"source_vocab": self.source_seg.size, "target_vocab": self.target_seg.size,
                     "splits": corpus.origin, "long_pairs": {"train": dropped, "val": val_long, "test": test_long}}
        if dropped or val_long or test_long:
            verb = "dropped" if opts.long_pairs == "drop" else "truncated"
            print(f"translation: pairs over --max-length {opts.max_length} tokens: {dropped} training pairs "
                  f"{verb}; {val_long} validation and {test_long} test pairs truncated", file=sys.stderr)

    def _load_evaluation(self, corpus: Corpus) -> None:
        # read_corpus(evaluate=True) chose the test set: a folder's test split (else validation, else
        # train), every pair of a pairs file
        self.test_set, _ = self._encode(corpus.test, drop=False)
        self.val_set = self.test_set
        self.test_split = corpus.origin.get("test", "data")

    def _encode(self, pairs, drop: bool) -> tuple[PairSet, int]:
        return encode_pairs(pairs, self.source_seg, self.target_seg, self.cfg.options.max_length, drop)

    # --- batches of similar length ---------------------------------------------------------------------
    def _loader(self, dataset: PairSet, shuffle: bool) -> DataLoader:
        return bucketed_loader(dataset, dataset.lengths(), collate, self.cfg.train, shuffle)

    def train_dataloader(self):
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self):
        return self._loader(self.val_set, shuffle=False)

    def test_dataloader(self):
        return self._loader(self.test_set, shuffle=False)

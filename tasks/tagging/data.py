"""The tagging datamodule: splits read once, tags in the chosen scheme, words and characters numericalised
once, batches bucketed by length.

Each batch carries the word ids, the characters of the batch's distinct word forms only (a form seen
twenty times in a batch is encoded once), and the sentence lengths that the backbone packs by.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch.utils.data import DataLoader, Dataset

from suite.config import RunConfig
from suite.data.paths import FILE, FOLDER, MISSING, path_kind
from suite.data.sources import looks_like_path
from suite.data.splits import seeded_holdout
from suite.data.state import DataState, StateError
from suite.data.text import (EpochBatchSampler, LengthBucketSampler, Vocabulary, batched_loader, bucketed_loader,
                             load_word_vectors, pad_batch, vector_file_words)
from suite.data.vectors import VectorSettings, cached_vectors
from suite.errors import ConfigError, DataError, UserError
from suite.task import TaskDataModule

from .conll import Sentence, find_splits, read_file, read_hub
from .schemes import PREFIXES, convert, entity_types, looks_like_entities, scheme_tags, split_tag


@dataclass
class TaggingState(DataState):
    """What a trained tagger learnt from its training data; it travels in checkpoints, so predictions and
    --evaluate never re-read the training data."""

    VERSION = 1
    tags: list[str]                 # the model's outputs, in order
    scheme: str                     # none, bio or bioes
    crf: bool
    words: list[str]                # the word vocabulary (its itos)
    chars: list[str]                # the character vocabulary (its itos)
    lowercase: bool
    max_word_chars: int
    word_dim: int
    baseline_words: dict[str, str]  # the baseline: each training word form's most frequent tag,
    baseline_default: str           # and the most frequent tag overall, for unknown words
    aux_tags: list[str] = field(default_factory=list)  # --aux-data's tags; [] without it
    trained_words: int | None = None  # --vector-words: words past this many have a fixed vector only
    vector_dim: int = 0               # --vector-words: the fixed vector channel's width

    @classmethod
    def upgrade(cls, saved: dict[str, Any], version: int) -> dict[str, Any]:
        if version != 0:
            return super().upgrade(saved, version)
        # version 0: {"info": {...}}, the vocabularies as {"itos": [...]}, the baseline as {"words", "default"}
        info = saved.get("info")
        if not isinstance(info, dict):
            raise StateError("field 'info' is missing")
        itos = {k: info[k].get("itos") for k in ("words", "chars") if isinstance(info.get(k), dict)}
        baseline = info["baseline"] if isinstance(info.get("baseline"), dict) else {}
        return {**info, **itos, **{f"baseline_{k}": v for k, v in baseline.items()}}


class TagBatch(NamedTuple):
    words: torch.Tensor         # (B, T) word ids, 0 at padding
    chars: torch.Tensor         # (U, C) character ids of the batch's distinct word forms
    char_lengths: torch.Tensor  # (U,)
    forms: torch.Tensor         # (B, T) index of each token's form in ``chars``
    tags: torch.Tensor          # (B, T) tag ids, 0 at padding
    lengths: torch.Tensor       # (B,) tokens per sentence, on the CPU
    task: int = 0               # 0: the main tags; 1: the auxiliary corpus' tags (--aux-data)


def clip_word(word: str, max_chars: int) -> str:
    """A long word (a URL, a hashtag run) keeps its first and last halves, where prefixes and suffixes are."""
    if len(word) <= max_chars:
        return word
    head = max_chars // 2
    return word[:head] + word[len(word) - (max_chars - head):]


class TaggedSentences(Dataset):
    """Numericalised sentences of one split, with the character table of the split's word forms."""

    def __init__(self, sentences: list[Sentence], words: Vocabulary, chars: Vocabulary, tag_index: dict[str, int],
                 lowercase: bool, max_word_chars: int, task: int = 0):
        self.sentences = sentences
        self.task = task
        forms: dict[str, int] = {}
        self.words, self.forms, self.tags = [], [], []
        for s in sentences:
            self.words.append(torch.tensor(words.encode([t.lower() for t in s.tokens] if lowercase else s.tokens)))
            self.forms.append(torch.tensor([forms.setdefault(t, len(forms)) for t in s.tokens]))
            self.tags.append(torch.tensor([tag_index[t] for t in s.tags]))
        clipped = [clip_word(f, max_word_chars) for f in forms]
        self.chars, self.char_lengths = pad_batch([torch.tensor(chars.encode(list(f))) for f in clipped])
        self.lengths = [len(s.tokens) for s in sentences]

    def __len__(self) -> int:
        return len(self.sentences)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.words[i], self.forms[i], self.tags[i]

    def collate(self, items: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> TagBatch:
        words, lengths = pad_batch([w for w, _, _ in items])
        tags, _ = pad_batch([t for _, _, t in items])
        unique, inverse = torch.unique(torch.cat([f for _, f, _ in items]), return_inverse=True)
        forms, _ = pad_batch(list(inverse.split(lengths.tolist())))
        char_lengths = self.char_lengths[unique]
        chars = self.chars[unique, : int(char_lengths.max())]
        return TagBatch(words, chars, char_lengths, forms, tags, lengths, self.task)


class MultiTaskTraining(Dataset):
    """The main training sentences followed by the auxiliary corpus' (indices offset by the main count);
    a batch holds one task's sentences only, so each batch is collated by its own split."""

    def __init__(self, main: TaggedSentences, aux: TaggedSentences):
        self.parts = (main, aux)

    def __len__(self) -> int:
        return len(self.parts[0]) + len(self.parts[1])

    def __getitem__(self, i: int) -> tuple[int, int]:
        main = len(self.parts[0])
        return (0, i) if i < main else (1, i - main)

    def collate(self, items: list[tuple[int, int]]) -> TagBatch:
        part = self.parts[items[0][0]]
        return part.collate([part[i] for _, i in items])


class MultiTaskSampler(EpochBatchSampler):
    """Each epoch: all main sentences, plus a fresh seeded sample of ``aux_per_epoch`` auxiliary ones, each
    task bucketed by length on its own and the batches of both shuffled together."""

    def __init__(self, main_lengths: list[int], aux_lengths: list[int], aux_per_epoch: int, batch_size: int,
                 seed: int):
        self.main = LengthBucketSampler(main_lengths, batch_size, shuffle=True, seed=seed)
        self.aux_lengths = torch.as_tensor(aux_lengths, dtype=torch.int64)
        self.aux_per_epoch = min(aux_per_epoch, len(aux_lengths))
        self.batch_size = batch_size
        self.seed = seed

    def batches(self) -> list[list[int]]:
        g = torch.Generator().manual_seed(self.seed + self.epoch + 2_000_003)
        chosen = torch.randperm(len(self.aux_lengths), generator=g)[: self.aux_per_epoch]
        aux = LengthBucketSampler(self.aux_lengths[chosen].tolist(), self.batch_size, shuffle=True,
                                  seed=self.seed + self.epoch)
        offset = len(self.main.lengths)
        picked = chosen.tolist()
        self.main.set_epoch(self.epoch)
        batches = self.main.batches() + [[offset + picked[i] for i in b] for b in aux.batches()]
        return [batches[i] for i in torch.randperm(len(batches), generator=g).tolist()]

    def total_batches(self) -> int:
        return self.main.total_batches() + math.ceil(self.aux_per_epoch / self.batch_size)


def tagged_sentences(sentences: list[Sentence], state: TaggingState) -> TaggedSentences:
    """Sentences read as the trained model's training sentences were."""
    return TaggedSentences(sentences, Vocabulary(state.words), Vocabulary(state.chars),
                           {t: i for i, t in enumerate(state.tags)}, state.lowercase, state.max_word_chars)


def encode_sentences(tokens_list: list[list[str]], state: TaggingState) -> TaggedSentences:
    """Unlabelled sentences (for prediction) in the trained model's vocabularies."""
    return tagged_sentences([Sentence(list(t), [state.tags[0]] * len(t), 0) for t in tokens_list], state)


class TaggingDataModule(TaskDataModule):
    State = TaggingState

    def __init__(self, cfg: RunConfig, state: TaggingState | None = None, test_data: str | None = None):
        super().__init__(cfg, state, test_data)
        self.pretrained: torch.Tensor | None = None
        self.word_counts: torch.Tensor | None = None  # training counts per word id (for word dropout)
        self.sources: dict[str, str] = {}
        self.aux_set: TaggedSentences | None = None  # --aux-data's training sentences
        self.vectors_seconds = 0.0  # spent learning --vectors-from's word vectors (0 when cached)

    def sizes(self) -> dict[str, int]:
        sizes = super().sizes()
        if self.aux_set is not None:
            sizes["aux_train"] = len(self.aux_set)
        return sizes

    # --- reading --------------------------------------------------------------------------------------
    def read_splits(self) -> dict[str, list[Sentence]]:
        opts = self.cfg.options
        splits: dict[str, list[Sentence]] = {}
        data = opts.data
        files: dict[str, str] = {}
        if data and not opts.train:  # --train names the splits itself; --data (maybe the default) is unused
            path = Path(data)
            kind = path_kind(path)  # a link loop or a broken link is an error of its own, not "not found"
            if kind == FOLDER:
                files = {k: str(v) for k, v in find_splits(path).items()}
                if "train" not in files:
                    raise DataError(data, "no training file found by name (a file with 'train' in its name); "
                                          "name it with --train")
            elif kind != MISSING:
                files = {"train": data}
            elif not looks_like_path(data):
                splits = read_hub(data, opts.token_column, opts.tag_column)
                self.sources = {k: f"{data}[{k}]" for k in splits}
            else:
                raise DataError(data, "file or folder not found (relative paths are also looked up under "
                                      "--data-root / $RNN_SUITE_DATA)")
        files.update({k: getattr(opts, k) for k in ("train", "val", "test") if getattr(opts, k)})
        for split, file in files.items():
            splits[split] = read_file(file, opts.format, opts.token_column, opts.tag_column)
            self.sources[split] = file
        return splits

    def load(self) -> None:
        opts = self.cfg.options
        splits = self.read_splits()
        train = splits["train"]
        seed = self.cfg.train.seed
        if "val" not in splits:
            if len(train) < 2:
                raise DataError(self.sources["train"], "needs at least 2 sentences to carve a validation split")
            kept, (held,) = seeded_holdout(len(train), [opts.val_fraction], seed)
            if not kept:
                raise ConfigError("options.val_fraction (--val-fraction)",
                                  f"would leave no training sentences (the training data has {len(train)})")
            train, splits["val"] = [train[i] for i in kept], [train[i] for i in held]
            splits["train"] = train
            self.sources["val"] = f"{self.sources['train']} (a {opts.val_fraction:.0%} random carve-out)"
        elif opts.val_to_train > 0:
            val = splits["val"]
            kept, (held,) = seeded_holdout(len(val), [opts.val_to_train], seed)
            splits["val"], moved = [val[i] for i in kept], [val[i] for i in held]
            if not splits["val"]:
                raise ConfigError("options.val_to_train (--val-to-train)",
                                  f"would leave no validation sentences (the validation split has {len(val)})")
            self.sources["val"] = f"{self.sources.get('val', 'val')} ({len(splits['val'])} of {len(val)} " \
                                  "sentences; the rest trained on, --val-to-train)"
            train = splits["train"] = train + moved
        scheme = self._scheme(train)
        self._truncate(train, "train", opts.max_length)
        train_types = entity_types(t for s in train for t in s.tags)
        if scheme == "none":
            counts = Counter(t for s in train for t in s.tags)
            tags = sorted(counts, key=lambda t: (-counts[t], t))
        else:
            tags = scheme_tags(train_types, scheme)
        unseen = [tag for split in ("val", "test") if split in splits
                  for tag in self._check_tags(split, splits[split], tags, scheme, fatal=False)]
        if unseen:  # kept as outputs the model never learns, so their tokens are scored as errors
            tags = tags + sorted(set(unseen)) if scheme == "none" else \
                scheme_tags(set(train_types) | set(split_tag(t)[1] for t in unseen), scheme)
        for sentences in splits.values():
            for s in sentences:  # also repairs ill-formed entity tags (an I- that starts an entity)
                s.tags = convert(s.tags, scheme)
        aux = self._read_aux() if opts.aux_data else []
        aux_counts = Counter(t for s in aux for t in s.tags)
        seen = train + aux  # the auxiliary corpus' words and characters are learnt too
        lower = opts.lowercase
        words = Vocabulary.build(([t.lower() for t in s.tokens] if lower else s.tokens for s in seen),
                                 min_freq=opts.min_freq, max_size=opts.max_vocab or None)
        chars = Vocabulary.build(list(t) for s in seen for t in s.tokens)
        counts = Counter(t.lower() if lower else t for s in seen for t in s.tokens)
        self.word_counts = torch.tensor([counts.get(w, 0) for w in words.itos], dtype=torch.float32)
        word_dim, channel = opts.word_dim, {}
        vectors = self._vectors_file()
        if vectors and opts.vector_words:
            # the extra words come after the training ones, whose ids the trainable embedding keeps
            trained = len(words)
            # lowercased lookups never reach a cased file's capitalised entries: leave those out
            extra = [w for w in vector_file_words(vectors, opts.vector_words)
                     if w and w not in words and not (lower and w != w.lower())]
            words = Vocabulary(words.itos + list(dict.fromkeys(extra)))  # a file may repeat a word
            self.pretrained, found = load_word_vectors(vectors, words, missing="zero")
            if found == 0:
                raise DataError(vectors, "none of the training words or of its first --vector-words words has "
                                         "a vector in this file")
            channel = {"trained_words": trained, "vector_dim": self.pretrained.shape[1]}
        elif vectors:
            self.pretrained, found = load_word_vectors(vectors, words, seed=self.cfg.train.seed)
            word_dim = self.pretrained.shape[1]
            if found == 0:
                raise DataError(vectors, "none of the training words has a vector in this file")
        baseline, default = most_frequent_tags(train)
        self.state = state = TaggingState(
            tags=tags, scheme=scheme, crf=opts.crf == "on" or (opts.crf == "auto" and scheme != "none"),
            words=words.itos, chars=chars.itos, lowercase=lower, max_word_chars=opts.max_word_chars,
            word_dim=word_dim, baseline_words=baseline, baseline_default=default,
            aux_tags=sorted(aux_counts, key=lambda t: (-aux_counts[t], t)), **channel)
        built = {split: tagged_sentences(sentences, state) for split, sentences in splits.items()}
        self.train_set, self.val_set, self.test_set = built["train"], built["val"], built.get("test")
        if aux:
            self.aux_set = TaggedSentences(aux, words, chars, {t: i for i, t in enumerate(state.aux_tags)},
                                           lower, opts.max_word_chars, task=1)

    def _vectors_file(self) -> str:
        """--embeddings, or the vectors learnt (once, then cached) from --vectors-from's text."""
        opts = self.cfg.options
        if not opts.vectors_from:
            return opts.embeddings
        # cased vectors for a cased vocabulary: a lowercased file would leave capitalised words without any
        path, summary = cached_vectors([opts.vectors_from], VectorSettings(lowercase=opts.lowercase),
                                       log=lambda line: print(line, file=sys.stderr, flush=True))
        self.sources["vectors"] = f"{path} (from {opts.vectors_from})"
        self.vectors_seconds = 0.0 if summary["cached"] else summary["seconds"]
        return str(path)

    def _read_aux(self) -> list[Sentence]:
        """The auxiliary corpus' training sentences: a file, a folder's training file, or a Hub dataset's
        train split; over-long sentences are cut to --max-length."""
        opts = self.cfg.options
        data, path = opts.aux_data, Path(opts.aux_data)
        kind = path_kind(path)
        if kind == FOLDER:
            found = find_splits(path)
            if "train" not in found:
                raise DataError(data, "--aux-data: no training file found by name (a file with 'train' in "
                                      "its name)")
            path, kind = found["train"], FILE
        if kind != MISSING:
            sentences = read_file(path, "auto", "auto", opts.aux_tag_column)
            source = str(path)
        elif not looks_like_path(data):
            try:
                sentences = read_hub(data, "auto", opts.aux_tag_column)["train"]
            except DataError as exc:  # say which option named it: --data may be fine
                raise UserError(f"--aux-data {exc}") from None
            source = f"{data}[train]"
        else:
            raise DataError(data, "--aux-data: file or folder not found (relative paths are also looked up "
                                  "under --data-root / $RNN_SUITE_DATA)")
        if not sentences:
            raise DataError(source, "--aux-data: no tagged sentences")
        self.sources["aux"] = source
        self._truncate(sentences, "aux", opts.max_length)
        return sentences

    def _scheme(self, train: list[Sentence]) -> str:
        opts = self.cfg.options
        entity_like = looks_like_entities(t for s in train for t in s.tags)
        if opts.scheme == "auto":
            return "bio" if entity_like else "none"
        if opts.scheme != "none" and not entity_like:
            example = next(t for s in train for t in s.tags if t != "O")
            raise ConfigError("options.scheme (--scheme)", f"{opts.scheme} needs entity tags like B-PER, I-PER "
                                                            f"and O; the training data has tags like {example!r}")
        return opts.scheme

    def _truncate(self, sentences: list[Sentence], split: str, max_length: int) -> None:
        """Training sentences (``split``: train or aux) cut to --max-length with a warning; before scheme
        conversion, so an entity cut short is re-closed (BIOES) by the conversion."""
        long = [s for s in sentences if len(s.tokens) > max_length]
        for s in long:
            s.tokens, s.tags = s.tokens[:max_length], s.tags[:max_length]
        if long:
            warnings.warn(f"{self.sources[split]}: {len(long)} training sentence(s) longer than {max_length} "
                          f"tokens were truncated (--max-length)", stacklevel=2)

    def _check_tags(self, split: str, sentences: list[Sentence], tags: list[str], scheme: str,
                    fatal: bool = True) -> list[str]:
        """Tags (or entity types) not among ``tags``, as written in the file: an error when ``fatal`` (a
        trained model cannot output them), else one warning per tag, and returned."""
        entity = scheme != "none"
        known = set(entity_types(tags)) if entity else set(tags)
        unseen: dict[str, tuple[int | None, int]] = {}  # tag -> (first line, tokens)
        for s in sentences:
            for tag in s.tags:
                prefix, kind = split_tag(tag)
                if tag in known if not entity else tag == "O" or (prefix in PREFIXES and kind in known):
                    continue
                where = f"{self.sources.get(split, split)}{f', line {s.line}' if s.line else ''}"
                what = f"entity type {kind!r}" if entity else "tag"
                if entity and prefix not in PREFIXES:
                    raise DataError(where, f"tag {tag!r}: expected O or B-/I-/E-/S- and an entity type")
                if fatal:
                    shown = sorted(known)
                    raise DataError(where, f"tag {tag!r} (in the sentence starting here): this {what} does not "
                                           f"occur in the training data the model learnt from; known: "
                                           f"{', '.join(shown[:20])}{' ...' if len(shown) > 20 else ''}")
                first, count = unseen.get(tag, (s.line, 0))
                unseen[tag] = (first, count + 1)
        for tag, (first, count) in unseen.items():
            warnings.warn(f"{self.sources.get(split, split)}{f', line {first}' if first else ''}: tag {tag!r} "
                          f"({count} token(s) in {split}) does not occur in the training data; the model "
                          "cannot learn it, so these tokens are scored as errors", stacklevel=2)
        return list(unseen)

    def load_test(self, data: str) -> None:
        opts, state = self.cfg.options, self.state
        path = Path(data)
        kind = path_kind(path)
        if kind == FOLDER:  # the folder's test file, else its dev file: a test set needs no training file
            found = find_splits(path)
            split = next((s for s in ("test", "val") if s in found), None)
            if split is None:
                raise DataError(data, "no test or dev file found by name (a file with 'test' or 'dev' "
                                      "in its name); give the file itself to --evaluate")
            path, kind = found[split], FILE
            self.test_split = path.name  # --evaluate's report says which file of the folder it scored
        if kind == MISSING and not looks_like_path(data):
            hub = read_hub(data, opts.token_column, opts.tag_column)
            sentences = hub.get("test") or hub["train"]
            self.sources["test"] = data
        else:
            sentences = read_file(path, opts.format, opts.token_column, opts.tag_column)
            self.sources["test"] = str(path)
        self._check_tags("test", sentences, state.tags, state.scheme)
        for s in sentences:
            s.tags = convert(s.tags, state.scheme)
        self.test_set = tagged_sentences(sentences, state)

    # --- loaders --------------------------------------------------------------------------------------
    def _loader(self, dataset: TaggedSentences, shuffle: bool) -> DataLoader:
        return bucketed_loader(dataset, dataset.lengths, dataset.collate, self.cfg.train, shuffle)

    def train_dataloader(self):
        if self.aux_set is None:
            return self._loader(self.train_set, shuffle=True)
        train, mixed = self.cfg.train, MultiTaskTraining(self.train_set, self.aux_set)
        sampler = MultiTaskSampler(self.train_set.lengths, self.aux_set.lengths,
                                   round(self.cfg.options.aux_share * len(self.train_set)), train.batch_size,
                                   train.seed)
        return batched_loader(mixed, sampler, mixed.collate, train)

    def val_dataloader(self):
        return self._loader(self.val_set, shuffle=False)

    def test_dataloader(self):
        return self._loader(self.test_set, shuffle=False)


def most_frequent_tags(sentences: list[Sentence]) -> tuple[dict[str, str], str]:
    """The baseline: each training word form's most frequent tag (ties: alphabetical), and the most
    frequent tag overall for unknown words."""
    per_word: dict[str, Counter] = {}
    overall: Counter = Counter()
    for s in sentences:
        for token, tag in zip(s.tokens, s.tags):
            per_word.setdefault(token, Counter())[tag] += 1
            overall[tag] += 1
    best = {w: min(c, key=lambda t: (-c[t], t)) for w, c in per_word.items()}
    return best, min(overall, key=lambda t: (-overall[t], t))

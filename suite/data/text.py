"""The shared text pipeline: normalisation, tokenisation, vocabularies, length-bucketed batches and
pretrained word vectors.

Every text task uses these pieces the same way: tokens are counted on the training split only, the
vocabulary travels in the checkpoint as a plain list (``state_dict``), examples of similar length are
batched together so that little padding is computed, and padded positions are handed to the recurrent
backbone as ``lengths`` so they never reach its state.
"""

from __future__ import annotations

import gzip
import html
import math
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Sampler

from ..errors import DataError
from .paths import require_file

PAD, UNK = "<pad>", "<unk>"

_BREAK = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^<>]{0,200}>")
_SPACE = re.compile(r"\s+")
# Numbers (1,000 and 3.5 stay whole), words with internal apostrophes or hyphens (don't, well-known,
# SST's n't), then any other non-space character on its own (each punctuation mark is a token).
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+(?:['\u2019\-][^\W_]+)*|\S")


def normalise(text: str, lowercase: bool = False) -> str:
    """HTML line breaks to spaces, other tags stripped, entities decoded, NFC, whitespace collapsed."""
    text = _BREAK.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = unicodedata.normalize("NFC", html.unescape(text))
    text = _SPACE.sub(" ", text).strip()
    return text.lower() if lowercase else text


def tokenize(text: str, lowercase: bool = False) -> list[str]:
    """Word-level tokens of ``normalise(text)``."""
    # normalise() without collapsing whitespace: no token holds whitespace, so the tokens are the same, and the
    # collapse was a third of tokenising an IMDB review (0.03 of 0.09 ms; a batch job tokenises every input)
    text = _TAG.sub(" ", _BREAK.sub(" ", text))
    text = unicodedata.normalize("NFC", html.unescape(text))
    return _TOKEN.findall(text.lower() if lowercase else text)


class Vocabulary:
    """Token <-> index, with ``<pad>`` at 0 and ``<unk>`` at 1."""

    pad_index = 0
    unk_index = 1

    def __init__(self, itos: Sequence[str]):
        itos = list(itos)
        if itos[:2] != [PAD, UNK]:
            raise ValueError(f"a vocabulary starts with {PAD!r}, {UNK!r}; got {itos[:2]!r}")
        self.itos = itos
        self.stoi = {token: i for i, token in enumerate(itos)}
        if len(self.stoi) != len(itos):
            raise ValueError("a vocabulary's tokens must be unique")

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None,
              extra: Sequence[str] = ()) -> "Vocabulary":
        """Most frequent first, ties alphabetical; ``max_size`` counts the specials and ``extra``."""
        counts: Counter[str] = Counter()
        for tokens in token_lists:
            counts.update(tokens)
        specials = [PAD, UNK] + [t for t in dict.fromkeys(extra) if t not in (PAD, UNK)]
        ranked = sorted((t for t, c in counts.items() if c >= min_freq and t not in specials),
                        key=lambda t: (-counts[t], t))
        if max_size is not None:
            ranked = ranked[:max(0, max_size - len(specials))]
        return cls(specials + ranked)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def index(self, token: str) -> int:
        return self.stoi.get(token, self.unk_index)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        get, unk = self.stoi.get, self.unk_index
        return [get(t, unk) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[int(i)] for i in ids]

    def state_dict(self) -> dict:
        return {"itos": list(self.itos)}

    @classmethod
    def from_state(cls, state: dict) -> "Vocabulary":
        return cls(state["itos"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.itos == other.itos

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} tokens)"


def truncate(ids: Sequence[int], max_length: int, keep: str = "head") -> list[int]:
    """At most ``max_length`` ids: the first (``head``), the last (``tail``, Keras' pad_sequences
    default), or the first and last halves (``head_tail``: a review's opening and verdict)."""
    ids = list(ids)
    if max_length <= 0 or len(ids) <= max_length:
        return ids
    if keep == "head":
        return ids[:max_length]
    if keep == "tail":
        return ids[-max_length:]
    if keep == "head_tail":
        head = max_length // 2
        return ids[:head] + ids[len(ids) - (max_length - head):]
    raise ValueError(f"keep must be head, tail or head_tail, got {keep!r}")


def distributed_world() -> tuple[int, int]:
    """(rank, world size) of this process's DDP group; (0, 1) outside one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def distributed_sampler(dataset, shuffle: bool, seed: int):
    """This rank's share of ``dataset`` for a plain DataLoader under DDP (None outside it). The suite
    shards its loaders itself (see EpochBatchSampler), so Lightning's automatic wrapping is off."""
    from torch.utils.data import DistributedSampler

    rank, world = distributed_world()
    if world == 1:
        return None
    return DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=shuffle, seed=seed)


class EpochBatchSampler(Sampler[list[int]]):
    """A batch sampler whose batches depend on the epoch: subclasses implement ``batches()`` (all of this
    epoch's batches) and ``total_batches()``; each pass advances the epoch unless ``set_epoch`` sets it.

    Under DDP each rank takes every world-size-th batch. Every rank builds the same batch list (same
    seed, same epoch), so the shards are disjoint; the list is padded with its first batches so every
    rank runs the same number of steps, as DDP needs. Lightning cannot re-create a custom batch sampler
    around its own DistributedSampler, so the suite shards here and turns Lightning's off."""

    epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def sampler(self) -> "EpochBatchSampler":
        # Lightning calls set_epoch on a DataLoader's sampler and on its batch_sampler.sampler only, not
        # on the batch sampler itself: this makes it reach us (and set the right epoch after a resume).
        return self

    def batches(self) -> list[list[int]]:
        raise NotImplementedError

    def total_batches(self) -> int:
        raise NotImplementedError

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.batches()
        self.epoch += 1  # a plain loop that never calls set_epoch still gets a new order each pass
        rank, world = distributed_world()
        if world > 1 and batches:
            padded = batches + batches[: len(self) * world - len(batches)]
            batches = padded[rank::world]
        return iter(batches)

    def __len__(self) -> int:
        rank, world = distributed_world()
        return math.ceil(self.total_batches() / world)


class LengthBucketSampler(EpochBatchSampler):
    """A batch sampler that puts examples of similar length together.

    Shuffled: each epoch the examples are permuted (seeded by ``seed + epoch``), cut into pools of
    ``batch_size * bucket_size_multiplier``, each pool sorted by length and cut into batches, and the
    batches' order shuffled; each pass advances the epoch unless ``set_epoch`` sets it. Not shuffled:
    all examples sorted by length (longest first), so evaluation pads least; the order is deterministic.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool, seed: int = 0,
                 bucket_size_multiplier: int = 50, drop_last: bool = False):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.lengths = torch.as_tensor(list(lengths), dtype=torch.int64)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.pool = max(1, bucket_size_multiplier) * batch_size
        self.drop_last = drop_last

    def _order(self) -> torch.Tensor:
        if not self.shuffle:
            # stable sort: equal lengths keep their original order
            return torch.sort(self.lengths, descending=True, stable=True).indices
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        perm = torch.randperm(len(self.lengths), generator=g)
        pools = []
        for start in range(0, len(perm), self.pool):
            chunk = perm[start:start + self.pool]
            pools.append(chunk[torch.sort(self.lengths[chunk], descending=True, stable=True).indices])
        return torch.cat(pools) if pools else perm

    def batches(self) -> list[list[int]]:
        """This epoch's batches, without advancing the epoch."""
        order = self._order().tolist()
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch + 1_000_003)
            batches = [batches[i] for i in torch.randperm(len(batches), generator=g).tolist()]
        return batches

    def total_batches(self) -> int:
        n = len(self.lengths)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)


def batched_loader(dataset, batch_sampler, collate, train) -> "torch.utils.data.DataLoader":
    """A DataLoader over a batch sampler (a LengthBucketSampler, say) with the run's workers, and pinned
    memory when batches go to a GPU: the one spelling the text tasks share."""
    from torch.utils.data import DataLoader

    return DataLoader(dataset, batch_sampler=batch_sampler, collate_fn=collate, num_workers=train.num_workers,
                      persistent_workers=train.num_workers > 0, pin_memory=torch.cuda.is_available())


def bucketed_loader(dataset, lengths, collate, train, shuffle: bool) -> "torch.utils.data.DataLoader":
    """Batches of similar length (training: shuffled by the run's seed and epoch; evaluation: longest
    first, with --eval-batch-size), sharded under DDP."""
    sampler = LengthBucketSampler(lengths, train.batch_size_for(shuffle), shuffle=shuffle, seed=train.seed)
    return batched_loader(dataset, sampler, collate, train)


def pad_batch(sequences: Sequence[torch.Tensor], pad_value: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, T_max)`` padded ids and the ``(B,)`` int64 lengths on the CPU (what packing needs)."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.int64)
    padded = pad_sequence([torch.as_tensor(s, dtype=torch.long) for s in sequences], batch_first=True,
                          padding_value=pad_value)
    return padded, lengths


def _open_text(path: Path):
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt", encoding="utf-8") if gzipped else open(path, encoding="utf-8")


def vector_file_words(path: str | Path, limit: int) -> list[str]:
    """The first ``limit`` words of a word2vec/GloVe text file: by the formats' convention, the most
    frequent ones."""
    path = require_file(path, "a word-vector file", missing="word-vector file not found")
    words: list[str] = []
    try:
        with _open_text(path) as handle:
            for line_no, line in enumerate(handle, start=1):
                word, _, rest = line.partition(" ")
                if (line_no == 1 and rest.strip().isdigit()) or not rest.strip():
                    continue  # the header, or a blank line
                words.append(word)
                if len(words) == limit:
                    break
    except (UnicodeDecodeError, OSError, EOFError):
        return words  # load_word_vectors reads the same file next and names the problem
    return words


def load_word_vectors(path: str | Path, vocab: Vocabulary, dim: int | None = None,
                      seed: int = 0, missing: str = "random") -> tuple[torch.Tensor, int]:
    """A ``len(vocab) x dim`` matrix from a word2vec/GloVe text file (gzip too) and the number of
    vocabulary words found.

    An optional ``count dim`` header line is detected. A vocabulary word is looked up as it is, then
    lowercased (an exact entry wins). Rows of words not in the file are small random normal values
    with the found vectors' spread (``missing="zero"``: zeros); the PAD row is zero. Only the
    vocabulary's rows are kept, so a large file costs one pass and little memory.
    """
    path = require_file(path, "a word-vector file", missing="word-vector file not found")
    specials = (vocab.pad_index, vocab.unk_index)
    wanted = {form for i, token in enumerate(vocab.itos) if i not in specials for form in (token, token.lower())}
    found: dict[str, torch.Tensor] = {}
    width = dim
    line_no = 0
    try:
        with _open_text(path) as handle:
            for line_no, line in enumerate(handle, start=1):
                parts = line.rstrip("\n\r").rstrip(" ").split(" ")
                if line_no == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                    header_dim = int(parts[1])
                    if width is not None and width != header_dim:
                        raise DataError(str(path), f"vectors have {header_dim} dimensions, expected {width}",
                                        line=1)
                    width = header_dim
                    continue
                if len(parts) == 1 and not parts[0]:
                    continue  # a blank line
                if width is None:
                    width = len(parts) - 1
                    if width < 1:
                        raise DataError(str(path), "expected a word followed by its vector's numbers",
                                        line=line_no)
                if len(parts) != width + 1:
                    raise DataError(str(path), f"expected a word and {width} numbers, got {len(parts) - 1} "
                                               "values", line=line_no)
                word = parts[0]
                if word in wanted and word not in found:
                    try:
                        found[word] = torch.tensor([float(v) for v in parts[1:]], dtype=torch.float32)
                    except ValueError:
                        raise DataError(str(path), "expected numbers after the word", line=line_no) from None
    except UnicodeDecodeError:
        raise DataError(str(path), "not UTF-8 text (expected a word2vec/GloVe text file)",
                        line=line_no + 1) from None
    except (OSError, EOFError) as exc:
        raise DataError(str(path), f"cannot read ({exc})") from None
    if width is None:
        raise DataError(str(path), "no vectors in the file")
    spread = float(torch.stack(list(found.values())).std()) if len(found) > 1 else 0.1
    g = torch.Generator().manual_seed(seed)
    matrix = torch.zeros(len(vocab), width) if missing == "zero" else \
        torch.randn(len(vocab), width, generator=g) * (spread or 0.1)
    matrix[vocab.pad_index] = 0.0
    hits = 0
    for i, token in enumerate(vocab.itos):
        vector = found.get(token)
        if vector is None:
            vector = found.get(token.lower())
        if vector is not None and i not in specials:
            matrix[i] = vector
            hits += 1
    return matrix, hits

"""Subword pieces back into words, for a translation's heat-map axes.

The pieces' own convention says where a word starts or ends: SentencePiece/metaspace "▁" (the translation
task's tokenizers, every mode) and byte-level "Ġ" start a word, WordPiece "##" continues one, classic BPE
"</w>" ends one. A word's text is what the matching ``tokenizers`` decoder makes of its pieces, so it reads
as the translation prints it. Special tokens (``<unk>``, ``[UNK]``) stay words of their own.

Merging a matrix (rows: output pieces, columns: source pieces):

- attention: the columns of a source word are *summed* (each row is a distribution over the source, and a
  word gets the share its pieces got, so a row still sums to 1 on the 0-1 scale), the rows of an output
  word *averaged* (each of its pieces looked at the source once; their mean is again a distribution);
- attributions: both *summed* (Integrated Gradients is additive: a word's attribution is its pieces' sum,
  and an output word's log-probability is the sum of its pieces').
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np
from tokenizers import decoders

SPECIAL = re.compile(r"<[^<>\s]+>|\[[A-Z_]+\]")

ATTENTION_RULE = ("words: a source word's attention is the sum over its pieces (a row still sums to 1), an "
                  "output word's row the mean of its pieces' rows")
ATTRIBUTION_RULE = "words: attributions summed over a word's pieces, source and output (they are additive)"


def _convention(pieces: Sequence[str]):
    """(starts a word?, ends a word?, decoder) for the marker these pieces carry, or None for whole words."""
    if any(p.startswith("\u2581") for p in pieces):
        return (lambda p: p.startswith("\u2581")), (lambda p: False), decoders.Metaspace()
    if any(p.startswith(("\u0120", "\u010a")) for p in pieces):  # byte-level space and newline
        return (lambda p: p.startswith(("\u0120", "\u010a"))), (lambda p: False), decoders.ByteLevel()
    if any(p.startswith("##") and len(p) > 2 for p in pieces):
        return (lambda p: not p.startswith("##")), (lambda p: False), decoders.WordPiece()
    if any(p.endswith("</w>") and p != "</w>" for p in pieces):
        return (lambda p: False), (lambda p: p.endswith("</w>")), decoders.BPEDecoder(suffix="</w>")
    return None


def words(pieces: Sequence[str]) -> tuple[list[str], list[list[int]]]:
    """The words the pieces make and, for each, the indices of its pieces (in order, covering all)."""
    pieces = [str(p) for p in pieces]
    convention = _convention(pieces)
    if convention is None:
        return list(pieces), [[i] for i in range(len(pieces))]
    starts, ends, decoder = convention
    groups: list[list[int]] = []
    open_word = False  # whether the last group may take the next piece
    for i, piece in enumerate(pieces):
        special = SPECIAL.fullmatch(piece) is not None
        if not open_word or special or starts(piece):
            groups.append([i])
        else:
            groups[-1].append(i)
        open_word = not special and not ends(piece)
    labels = []
    for group in groups:
        text = decoder.decode([pieces[i] for i in group]).strip()
        labels.append(text or "".join(pieces[i] for i in group))  # a lone marker piece still shows as itself
    return labels, groups


def merge(values: np.ndarray, row_groups: list[list[int]], col_groups: list[list[int]],
          rows: str = "mean") -> np.ndarray:
    """``values`` (rows, columns) with each group of columns summed and each group of rows summed or averaged."""
    values = np.asarray(values, dtype=float)
    cols = np.stack([values[:, g].sum(axis=1) for g in col_groups], axis=1) if col_groups else values[:, :0]
    reduce = np.mean if rows == "mean" else np.sum
    return np.stack([reduce(cols[g], axis=0) for g in row_groups]) if row_groups else cols[:0]


def changes_anything(pieces: Sequence[str]) -> bool:
    labels, groups = words(pieces)
    return len(groups) != len(pieces) or labels != list(pieces)

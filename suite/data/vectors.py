"""Word vectors learnt here, from local unlabelled text.

For data too small to learn what words mean (a few thousand tagged tweets), on machines with neither
pretrained vectors nor the internet to fetch them. The vectors factorise the positive pointwise mutual
information of word co-occurrences with a truncated SVD (Levy, Goldberg & Dagan 2015, "Improving
distributional similarity with lessons learned from word embeddings"): a closed form, the same
vectors for the same seed, and a few minutes on a CPU for ten million words, where skip-gram training
would take an hour. The result is a word2vec text file that ``--embeddings`` reads like any other,
cached by the corpus files and the settings.

    python -m suite.data.vectors ../shared/data/sentiment/imdb --out imdb-vectors.txt
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time
from array import array
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from ..errors import DataError, UserError, exit_on_user_error
from .cache import cache_dir, files_key
from .paths import FILE, FOLDER, files_under, path_kind
from .sources import (DOC_SUFFIXES, IGNORED_NAMES, TEXT_NAMES, check_scalar, pick_column, read_table, row_lines,
                      table_extension)
from .text import tokenize

FORMAT_VERSION = 2  # bump when the vectors a setting gives change


@dataclass(frozen=True)
class VectorSettings:
    dim: int = 100
    window: int = 2           # words either side; near words say more about a word's kind than far ones
    min_count: int = 5        # rarer words get no vector: too few contexts to place them
    max_words: int = 100_000  # the most frequent words kept
    lowercase: bool = True
    text_column: str = "auto"
    seed: int = 0

    def check(self) -> None:
        for name, (least, most) in BOUNDS.items():
            value = getattr(self, name)
            if not least <= value <= most:
                raise DataError("word vectors", f"{name} must be from {least:,} to {most:,}, got {value}")


#: (least, most) of each integer setting. Every window distance is one more pass over the corpus (a
#: window of 10**8 ran for minutes; 10**20 crashed building the separators), and word2vec's windows are
#: 2 to 10; an SVD of more than 1000 dimensions takes longer than the corpus is worth. The others only
#: keep a number from overflowing numpy's 64-bit integers (or torch's seed).
BOUNDS = {"dim": (1, 1000), "window": (1, 20), "min_count": (1, 10**9), "max_words": (2, 10**9),
          "seed": (0, 2**32 - 1)}


def corpus_files(source: str | Path) -> list[Path]:
    """A file, or every file under a folder (README/LICENSE/PROVENANCE and hidden files aside)."""
    path = Path(source).expanduser()
    kind = path_kind(path)  # a link loop or a broken link is said as such, not "not found"
    if kind == FILE:
        return [path]
    if kind != FOLDER:
        raise DataError(str(source), "file or folder not found (expected text or table files to learn word "
                                     "vectors from)")
    # files_under, not rglob: a folder that cannot be listed is an error, not silently fewer files
    files = files_under(path, keep=lambda p: p.suffix.lower() not in DOC_SUFFIXES
                        and not any(IGNORED_NAMES.match(part) for part in p.relative_to(path).parts))
    if not files:
        raise DataError(str(source), "no files in this folder to learn word vectors from")
    return files


def documents(path: Path, text_column: str = "auto") -> Iterator[str]:
    """A table file's text column (CSV/TSV/JSON lines/Parquet), or each non-blank line of a text file."""
    if table_extension(path) is not None:
        frame = read_table(str(path))
        column = pick_column(frame, text_column, TEXT_NAMES, "text", "--text-column", str(path))
        for text, line in zip(frame[column].tolist(), row_lines(frame, str(path))):
            check_scalar(text, str(path), line, column, "a string")
            if isinstance(text, str):  # empty cells (and stray numbers) are no text to learn from
                yield text
        return
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    line_no = 0
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                if line.strip():
                    yield line
    except UnicodeDecodeError:
        raise DataError(str(path), "not UTF-8 text (expected plain text, one document per line, or a table "
                                   "file)", line=line_no + 1) from None
    except (OSError, EOFError) as exc:
        raise DataError(str(path), f"cannot read ({exc})") from None


def learn_vectors(token_lists: Iterable[list[str]], settings: VectorSettings = VectorSettings()
                  ) -> tuple[list[str], torch.Tensor, int]:
    """The kept words (most frequent first), their unit-length vectors, and the tokens read."""
    settings.check()
    index: dict[str, int] = {}
    ids = array("q")  # 8 bytes a token, where a list of ints takes about 36
    for tokens in token_lists:
        ids.extend(index.setdefault(t, len(index)) for t in tokens)
        ids.extend([-1] * settings.window)  # windows never span two documents
    flat = np.frombuffer(ids, dtype=np.int64)
    real = flat >= 0
    counts = np.bincount(flat[real], minlength=len(index))
    words = list(index)
    order = sorted((i for i in range(len(words)) if counts[i] >= settings.min_count),
                   key=lambda i: (-counts[i], words[i]))[: settings.max_words]
    if len(order) <= settings.dim:
        raise ValueError(f"only {len(order)} distinct words occur {settings.min_count}+ times in "
                         f"{int(real.sum())} tokens; {settings.dim}-dimensional vectors need more text")
    remap = np.full(len(index) + 1, -1, dtype=np.int64)  # the last entry maps the -1 separators
    remap[order] = np.arange(len(order))
    flat = remap[flat]
    size = len(order)
    cooc = torch.sparse_coo_tensor(torch.empty(2, 0, dtype=torch.long), torch.empty(0), (size, size),
                                   check_invariants=False)
    for distance in range(1, settings.window + 1):
        left, right = flat[:-distance], flat[distance:]
        both = (left >= 0) & (right >= 0)
        pairs = torch.from_numpy(np.stack([left[both], right[both]]))
        # nearer neighbours count more, as in word2vec's sampled window and GloVe's weighting
        cooc = (cooc + torch.sparse_coo_tensor(pairs, torch.full((pairs.shape[1],), 1.0 / distance),
                                               (size, size), check_invariants=False)).coalesce()
    cooc = (cooc + cooc.t()).coalesce()  # symmetric: a word's left and right neighbours alike
    at, value = cooc.indices(), cooc.values()
    row = torch.zeros(size).index_add_(0, at[0], value)
    # contexts' counts raised to 0.75, which keeps rare contexts from dominating PMI (Levy et al.)
    context = torch.zeros(size).index_add_(0, at[1], value).pow(0.75)
    pmi = (value * context.sum() / (row[at[0]] * context[at[1]])).log()
    positive = pmi > 0
    ppmi = torch.sparse_coo_tensor(at[:, positive], pmi[positive], (size, size), check_invariants=False).coalesce()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        u, s, _ = torch.svd_lowrank(ppmi, q=settings.dim + 10, niter=4)
    # U times the square root of the singular values: Levy et al.'s eigenvalue weighting of 0.5
    vectors = u[:, : settings.dim] * s[: settings.dim].sqrt()
    vectors = vectors / vectors.norm(dim=1, keepdim=True).clamp_min(1e-8)
    return [words[i] for i in order], vectors, int(real.sum())


def write_vectors(path: Path, words: list[str], vectors: torch.Tensor) -> None:
    """word2vec text format with its ``count dim`` header; written whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(f"{len(words)} {vectors.shape[1]}\n")
        for word, row in zip(words, vectors.tolist()):
            out.write(word + " " + " ".join(f"{x:.5f}" for x in row) + "\n")
    os.replace(tmp, path)


def build_vectors(sources: list[str], out: Path, settings: VectorSettings = VectorSettings(),
                  log=print) -> dict:
    """Learn vectors from every file of ``sources`` and write them to ``out``; a summary."""
    return _build(sources, [f for source in sources for f in corpus_files(source)], out, settings, log)


def _build(sources: list[str], files: list[Path], out: Path, settings: VectorSettings, log) -> dict:
    start = time.perf_counter()

    def tokenised() -> Iterator[list[str]]:
        for path in files:
            for text in documents(path, settings.text_column):
                tokens = tokenize(text, lowercase=settings.lowercase)  # never a token with a space
                if tokens:
                    yield tokens

    try:
        words, vectors, tokens = learn_vectors(tokenised(), settings)
    except ValueError as exc:
        raise DataError(", ".join(sources), str(exc)) from None
    write_vectors(out, words, vectors)
    summary = {"path": str(out), "words": len(words), "dim": vectors.shape[1], "tokens": tokens,
               "files": len(files), "seconds": round(time.perf_counter() - start, 1)}
    log(f"word vectors: {summary['words']} words x {summary['dim']} from {tokens:,} tokens in "
        f"{len(files)} file(s), {summary['seconds']} s -> {out}")
    return summary


def cached_vectors(sources: list[str], settings: VectorSettings = VectorSettings(), log=print) -> tuple[Path, dict]:
    """The vectors file for these sources and settings, learnt once and then read from the cache."""
    files = [f for source in sources for f in corpus_files(source)]
    key = files_key(files, format=FORMAT_VERSION, **asdict(settings))
    path = cache_dir("vectors") / f"{key}.txt"
    if path.is_file():
        return path, {"path": str(path), "cached": True}
    log(f"word vectors: learning them from {', '.join(sources)} (cached afterwards in {path.parent})")
    return path, {**_build(sources, files, path, settings, log), "cached": False}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line through exit_on_user_error, not argparse's usage block
        raise UserError(message)


def _bounded(name: str):
    """An argparse type: an integer within ``BOUNDS[name]``."""
    least, most = BOUNDS[name]

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not least <= value <= most:
            raise argparse.ArgumentTypeError(f"must be from {least:,} to {most:,}, got {text}")
        return value
    return parse


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m suite.data.vectors",
                                     description="Learn word vectors (PPMI + truncated SVD) from local text "
                                                 "and write them in the word2vec text format.")
    parser.add_argument("sources", nargs="+", help="text files (one document per line, .gz too), table files "
                                                   "(CSV/TSV/JSON lines/Parquet) or folders of them")
    parser.add_argument("--out", required=True, help="the vectors file to write")
    defaults = VectorSettings()
    parser.add_argument("--dim", type=_bounded("dim"), default=defaults.dim,
                        help="vector size, 1 to 1000 (default %(default)s)")
    parser.add_argument("--window", type=_bounded("window"), default=defaults.window,
                        help="context words on each side, 1 to 20 (default %(default)s)")
    parser.add_argument("--min-count", type=_bounded("min_count"), default=defaults.min_count,
                        help="occurrences a word needs for a vector (default %(default)s)")
    parser.add_argument("--max-words", type=_bounded("max_words"), default=defaults.max_words,
                        help="most frequent words kept (default %(default)s)")
    parser.add_argument("--cased", action="store_true", help="keep case (default: lowercase every word)")
    parser.add_argument("--text-column", default="auto", help="tables' text column (default: detected by name)")
    parser.add_argument("--seed", type=_bounded("seed"), default=0, help="seed of the randomised SVD (default 0)")
    args = parser.parse_args(argv)
    settings = VectorSettings(dim=args.dim, window=args.window, min_count=args.min_count,
                              max_words=args.max_words, lowercase=not args.cased, text_column=args.text_column,
                              seed=args.seed)
    build_vectors(args.sources, Path(args.out), settings)
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_user_error(main))

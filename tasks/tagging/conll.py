"""Reading tagged sentences: CoNLL-U, CoNLL/BIO column files, folders of splits, Hugging Face datasets.

Every reader returns a list of :class:`Sentence` (tokens, tags, and the line of its first token, so
later checks can name the line). Bad input raises DataError naming the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from suite.data.inputs import decode_utf8
from suite.data.paths import FILE, list_folder, path_kind, read_file_bytes
from suite.errors import DataError

CONLLU_COLUMNS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
DOCSTART = "-DOCSTART-"
#: extensions that are never tagged data, so a folder's README or licence is not mistaken for a split
NOT_DATA = {".md", ".rst", ".pdf", ".html", ".json", ".yaml", ".yml", ".py", ".sh", ".zip", ".gz", ".tar"}
SPLIT_PATTERNS = {
    "train": re.compile(r"train", re.I),
    "val": re.compile(r"(dev|valid(ation)?|val)(?![a-z])", re.I),
    "test": re.compile(r"test", re.I),
}


@dataclass
class Sentence:
    tokens: list[str]
    tags: list[str]
    line: int  # 1-based line of the first token (0 when not from a text file)


def read_text(path: Path) -> list[str]:
    """The file's lines, decoded as UTF-8 (a BOM is allowed); errors name the file and line."""
    raw = read_file_bytes(path, "a CoNLL-U or CoNLL file")  # a link loop or an unreadable file said as such
    if not raw.strip():
        raise DataError(str(path), "file is empty")
    return decode_utf8(raw, path, "convert it to UTF-8").splitlines()


def sniff_format(path: Path, lines: list[str]) -> str:
    if path.name.lower().endswith(".conllu"):
        return "conllu"
    for line in lines:
        if line.strip() and not line.startswith("#"):
            cols = line.rstrip("\n").split("\t")
            return "conllu" if len(cols) == 10 and re.match(r"^\d+([-.]\d+)?$", cols[0]) else "conll"
    return "conll"


def read_conllu(path: Path, tag_column: str = "upos", lines: list[str] | None = None) -> list[Sentence]:
    """Syntactic words of a CoNLL-U file with their UPOS or XPOS tags.

    Multiword-token ranges (``3-4 didn't``) are surface forms whose words follow on their own lines,
    and empty nodes (``8.1``) are not words of the sentence, so both are skipped.
    """
    tag_column = "upos" if tag_column == "auto" else tag_column.lower()
    if tag_column not in ("upos", "xpos"):
        raise DataError(str(path), f"--tag-column for CoNLL-U must be upos or xpos, got {tag_column!r}")
    col = CONLLU_COLUMNS.index(tag_column)
    lines = read_text(path) if lines is None else lines
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    first = 0
    expected_id = 1
    for number, line in enumerate(lines, 1):
        if not line.strip():
            if tokens:
                sentences.append(Sentence(tokens, tags, first))
                tokens, tags = [], []
            expected_id = 1
            continue
        if line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            raise DataError(str(path), f"expected 10 tab-separated CoNLL-U columns, got {len(cols)}", line=number)
        word_id = cols[0]
        if re.fullmatch(r"\d+-\d+", word_id) or re.fullmatch(r"\d+\.\d+", word_id):
            continue
        if not word_id.isdigit():
            raise DataError(str(path), f"expected an integer word id (or a range like 1-2, or an empty node "
                                       f"like 1.1) in column 1, got {word_id!r}", line=number)
        if int(word_id) != expected_id:
            raise DataError(str(path), f"word id {word_id} out of order (expected {expected_id}); is a blank "
                                       f"line missing between sentences?", line=number)
        expected_id += 1
        tag = cols[col]
        if not tag or tag == "_":
            raise DataError(str(path), f"word {cols[1]!r} has no {tag_column.upper()} tag (column {col + 1})",
                            line=number)
        if not tokens:
            first = number
        tokens.append(cols[1])
        tags.append(tag)
    if tokens:
        sentences.append(Sentence(tokens, tags, first))
    return sentences


def read_conll(path: Path, token_column: str = "auto", tag_column: str = "auto",
               lines: list[str] | None = None) -> list[Sentence]:
    """A column file: one token per line, columns separated by tabs or spaces, blank lines between
    sentences, ``-DOCSTART-`` lines between documents. Tokens in column 1 and tags in the last column
    unless told otherwise; every token line must have the same number of columns."""
    lines = read_text(path) if lines is None else lines
    tok = _column_number(token_column, 1, "--token-column")
    tag = _column_number(tag_column, 0, "--tag-column")
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    first = 0
    width = width_line = None
    for number, line in enumerate(lines, 1):
        cols = line.split("\t") if "\t" in line.strip() else line.split()
        cols = [c.strip() for c in cols]
        if not line.strip() or cols[0] == DOCSTART:
            if tokens:
                sentences.append(Sentence(tokens, tags, first))
                tokens, tags = [], []
            continue
        if width is None:
            width, width_line = len(cols), number
            if width < 2:
                raise DataError(str(path), "expected a token and a tag column (space or tab separated), got one "
                                           "column", line=number)
            if max(tok, tag) > width:
                raise DataError(str(path), f"column {max(tok, tag)} was asked for, but lines have {width} columns",
                                line=number)
        elif len(cols) != width:
            raise DataError(str(path), f"expected {width} columns like line {width_line}, got {len(cols)}",
                            line=number)
        token, label = cols[tok - 1], cols[tag - 1 if tag else -1]
        if not token or not label:
            raise DataError(str(path), "empty token or tag", line=number)
        if not tokens:
            first = number
        tokens.append(token)
        tags.append(label)
    if tokens:
        sentences.append(Sentence(tokens, tags, first))
    return sentences


def _column_number(value: str, default: int, flag: str) -> int:
    if value == "auto":
        return default
    if not value.isdigit() or int(value) < 1:
        raise DataError(flag, f"a CoNLL column file needs a column number (1 = first), got {value!r}")
    return int(value)


def read_file(path: str | Path, fmt: str = "auto", token_column: str = "auto",
              tag_column: str = "auto") -> list[Sentence]:
    path = Path(path)
    lines = read_text(path)
    kind = sniff_format(path, lines) if fmt == "auto" else fmt
    if kind == "conllu":
        sentences = read_conllu(path, tag_column, lines)
    else:
        sentences = read_conll(path, token_column, tag_column, lines)
    if not sentences:
        raise DataError(str(path), "no sentences (only comments or blank lines)")
    return sentences


def find_splits(folder: Path) -> dict[str, Path]:
    """train/val/test files of a folder, recognised by name (en_ewt-ud-train.conllu, emerging.dev.conll)."""
    found: dict[str, list[Path]] = {split: [] for split in SPLIT_PATTERNS}
    for path in list_folder(folder):  # an unreadable folder is an error, not a traceback
        if path.name.startswith(".") or _not_data(path) or path_kind(path) != FILE:
            continue
        for split, pattern in SPLIT_PATTERNS.items():
            if pattern.search(path.name):
                found[split].append(path)
                break
    chosen: dict[str, Path] = {}
    for split, paths in found.items():
        if len(paths) > 1:
            flag = {"val": "--val"}.get(split, f"--{split}")
            raise DataError(str(folder), f"several files look like the {split} split ({', '.join(p.name for p in paths)}); "
                                         f"name one with {flag}")
        if paths:
            chosen[split] = paths[0]
    return chosen


def _not_data(path: Path) -> bool:
    name = path.name.lower()
    return path.suffix.lower() in NOT_DATA or name.startswith(("readme", "license", "licence", "provenance"))


HUB_TOKEN_COLUMNS = ("tokens", "words", "token", "form")
HUB_TAG_COLUMNS = ("ner_tags", "pos_tags", "upos", "tags", "labels", "xpos")
HUB_SPLITS = {"train": ("train",), "val": ("validation", "dev", "valid", "val"), "test": ("test",)}


def sentences_from_dataset(table, source: str, token_column: str = "auto", tag_column: str = "auto"
                           ) -> list[Sentence]:
    """A Hugging Face ``datasets.Dataset`` with a list-of-tokens column and a list-of-tags column
    (tag ids with ClassLabel names, or strings)."""
    columns = list(table.column_names)
    tok = _hub_column(columns, token_column, HUB_TOKEN_COLUMNS, "token", source, "--token-column")
    tag = _hub_column(columns, tag_column, HUB_TAG_COLUMNS, "tag", source, "--tag-column")
    feature = table.features[tag]
    inner = getattr(feature, "feature", None)
    names = getattr(inner, "names", None)
    sentences = []
    for i, (tokens, tags) in enumerate(zip(table[tok], table[tag])):
        if not isinstance(tokens, list) or not isinstance(tags, list):
            raise DataError(source, f"row {i + 1}: columns {tok!r} and {tag!r} must hold lists")
        if len(tokens) != len(tags):
            raise DataError(source, f"row {i + 1}: {len(tokens)} tokens but {len(tags)} tags")
        if not tokens:
            continue
        labels = [names[t] if names is not None else str(t) for t in tags]
        sentences.append(Sentence([str(t) for t in tokens], labels, 0))
    if not sentences:
        raise DataError(source, "no non-empty sentences")
    return sentences


def _hub_column(columns: list[str], asked: str, common: tuple[str, ...], what: str, source: str, flag: str) -> str:
    if asked != "auto" and asked not in ("upos", "xpos") or asked in columns:
        if asked not in columns:
            raise DataError(source, f"no {what} column {asked!r} ({flag}); the columns are: {', '.join(columns)}")
        return asked
    for name in common:
        if name in columns:
            return name
    raise DataError(source, f"no {what} column found (looked for {', '.join(common)}); name it with {flag}; "
                            f"the columns are: {', '.join(columns)}")


def read_hub(name: str, token_column: str, tag_column: str) -> dict[str, list[Sentence]]:
    """A Hub dataset's splits (offline: from the local cache)."""
    from suite.data.sources import _quiet_datasets, hub_offline_mode, hub_reachable, not_found

    if not hub_reachable():
        raise not_found(name)
    datasets = _quiet_datasets()
    try:
        loaded = datasets.load_dataset(name)
    except Exception as exc:
        if hub_offline_mode() or "offline" in str(exc).lower():  # the remedy is the path, not the Hub
            raise not_found(name) from None
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise not_found(name, f"and not loadable from the Hugging Face Hub ({first})") from None
    splits: dict[str, list[Sentence]] = {}
    for split, names in HUB_SPLITS.items():
        for hub_name in names:
            if hub_name in loaded:
                splits[split] = sentences_from_dataset(loaded[hub_name], f"{name}[{hub_name}]", token_column,
                                                       tag_column)
                break
    if "train" not in splits:
        raise DataError(name, f"no train split (it has: {', '.join(loaded)})")
    return splits

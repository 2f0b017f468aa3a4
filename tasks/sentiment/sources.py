"""Reading labelled texts: table files, folders of them, one-file-per-class folders, Hub datasets.

Every reader returns ``Examples``: texts, raw labels, and where each came from (file and line), so a
bad row is reported by its file and line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path


from suite.data.paths import FILE, FOLDER, list_folder, path_kind, read_file_bytes
from suite.data.sources import (DOC_SUFFIXES, IGNORED_NAMES, TEXT_NAMES, check_scalar, looks_like_path, pick_column,
                                read_table, row_lines, table_extension)
from suite.errors import DataError

LABEL_NAMES = ("label", "labels", "sentiment", "polarity", "class", "category", "target", "y", "gold_label",
               "rating", "stars")
SPLITS = ("train", "val", "test")
_SPLIT_WORDS = {"train": ("train", "training"), "val": ("dev", "valid", "val", "validation"),
                "test": ("test", "testing")}


@dataclass
class Examples:
    """Texts with their raw labels; ``where[i]`` is ``(file, line)`` of example ``i``."""

    texts: list[str] = field(default_factory=list)
    labels: list[object] = field(default_factory=list)
    where: list[tuple[str, int]] = field(default_factory=list)
    tokens: list[list[str]] | None = None  # once tokenised

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices) -> "Examples":
        return Examples([self.texts[i] for i in indices], [self.labels[i] for i in indices],
                        [self.where[i] for i in indices],
                        None if self.tokens is None else [self.tokens[i] for i in indices])


def split_of(name: str) -> str | None:
    """``train``/``val``/``test`` from a file name's words (en-train.csv, dev.tsv, emerging.test.jsonl)."""
    words = set(re.split(r"[^a-z]+", name.lower()))
    for split, names in _SPLIT_WORDS.items():
        if words & set(names):
            return split
    return None


def find_sources(data: str) -> dict[str, object]:
    """What to read for each split: a table file, a list of class files, or a Hub name.

    A lone table file (or a folder's tables without split names) is training data; a folder of
    non-table files is one file per class.
    """
    path = Path(data).expanduser()
    kind = path_kind(path)  # a link loop, a broken link or an unsearchable folder: said as such
    if kind == FILE:
        if table_extension(path) is None:
            raise DataError(data, "unsupported file type; expected a CSV/TSV/JSON-lines/Parquet table "
                                  "(or a folder of one text file per class)")
        return {"train": path}
    if kind == FOLDER:
        # a broken link among the files is a class file or split the user meant: path_kind says so
        files = [p for p in list_folder(path) if not IGNORED_NAMES.match(p.name) and path_kind(p) == FILE]
        tables = [p for p in files if table_extension(p) is not None]
        if tables:
            found: dict[str, object] = {}
            unnamed = []
            for table in tables:
                split = split_of(table.name)
                if split is None:
                    unnamed.append(table)
                elif split in found:
                    raise DataError(str(table), f"a second {split} file beside {found[split]}; keep one per split "
                                                "or give the file itself as --data")
                else:
                    found[split] = table
            if "train" not in found:
                if len(unnamed) != 1:
                    names = ", ".join(p.name for p in tables)
                    raise DataError(data, f"no training file: expected a name with 'train' among {names}")
                found["train"] = unnamed[0]
            return found
        classes = [p for p in files if p.suffix.lower() not in DOC_SUFFIXES]
        if len(classes) < 2:
            raise DataError(data, "expected table files (train/dev/test by name) or one text file per class "
                                  "(at least two)")
        return {"train": classes}
    if looks_like_path(data):
        raise DataError(data, "file or folder not found")
    return {"train": ("hub", data, "train"), "val": ("hub", data, "validation"), "test": ("hub", data, "test")}


def find_test_source(data: str) -> object:
    """What --evaluate scores: the test set alone. A folder's test table, else its validation table, else
    its training table or its one table (no training file is needed beside a test file); a table file,
    one-file-per-class files and a Hub dataset's test split as :func:`find_sources` finds them."""
    path = Path(data).expanduser()
    if path_kind(path) == FOLDER:
        files = [p for p in list_folder(path) if not IGNORED_NAMES.match(p.name) and path_kind(p) == FILE]
        by_split: dict[str | None, list[Path]] = {}
        for table in (p for p in files if table_extension(p) is not None):
            by_split.setdefault(split_of(table.name), []).append(table)
        for split in ("test", "val", "train", None):
            chosen = by_split.get(split, [])
            if len(chosen) > 1:
                what = f"{split} files" if split else "tables without a split in their names"
                raise DataError(data, f"several {what} ({', '.join(p.name for p in chosen)}); give the file "
                                      "itself to --evaluate")
            if chosen:
                return chosen[0]
    sources = find_sources(data)
    return sources.get("test") or sources["train"]


def class_name(path: Path, siblings: list[Path]) -> str:
    """rt-polarity.pos -> pos (the files share a stem); pos.txt -> pos (they share a suffix)."""
    stems = {p.stem for p in siblings}
    if len(stems) == 1:
        return path.suffix.lstrip(".") or path.name
    return path.stem if path.suffix else path.name


def read_class_files(files: list[Path], encoding: str) -> Examples:
    out = Examples()
    names = [class_name(p, files) for p in files]
    if len(set(names)) != len(names):
        raise DataError(str(files[0].parent), f"class files give repeated class names {names}")
    for path, label in zip(files, names):
        raw = read_file_bytes(path, "a class file (one text per line)")
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            line = raw[:exc.start].count(b"\n") + 1
            raise DataError(str(path), f"not valid {encoding} text (byte 0x{raw[exc.start]:02x}); give the file's "
                                       "encoding with --encoding (e.g. latin-1)", line=line) from None
        except LookupError:
            raise DataError(str(path), f"unknown text encoding {encoding!r} (--encoding)") from None
        for number, line_text in enumerate(text.splitlines(), start=1):
            if line_text.strip():  # blank lines separate nothing in these files
                out.texts.append(line_text)
                out.labels.append(label)
                out.where.append((str(path), number))
    return out


def read_table_examples(source: str, text_column: str, label_column: str, hub_split: str = "train",
                        need_labels: bool = True) -> Examples:
    frame = read_table(source, hub_split=hub_split)
    label_col = pick_column(frame, label_column, LABEL_NAMES, "label", "--label-column", source) \
        if need_labels or label_column != "auto" else None
    if not need_labels and label_col is None:
        try:
            label_col = pick_column(frame, "auto", LABEL_NAMES, "label", "--label-column", source)
        except DataError:
            label_col = None
    text_col = pick_column(frame, text_column, TEXT_NAMES, "text", "--text-column", source, exclude=label_col)
    out = Examples()
    texts = frame[text_col].tolist()
    labels = frame[label_col].tolist() if label_col else [None] * len(texts)
    for text, label, line in zip(texts, labels, row_lines(frame, source)):
        check_scalar(text, source, line, text_col, "a string")
        if label_col:
            check_scalar(label, source, line, label_col, "one class label (a string or a number)")
        if not isinstance(text, str):
            if text is None or (isinstance(text, float) and math.isnan(text)):
                raise DataError(source, f"empty text in column {text_col!r}", line=line)
            text = str(text)
        out.texts.append(text)
        out.labels.append(label)
        out.where.append((source, line))
    return out


def read_split(spec: object, opts, need_labels: bool = True) -> Examples:
    if isinstance(spec, list):
        return read_class_files(spec, opts.encoding)
    if isinstance(spec, tuple) and spec[0] == "hub":
        return read_table_examples(spec[1], opts.text_column, opts.label_column, hub_split=spec[2],
                                   need_labels=need_labels)
    return read_table_examples(str(spec), opts.text_column, opts.label_column, need_labels=need_labels)

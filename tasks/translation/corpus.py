"""Reading parallel sentences: a folder of <split>.<lang> files, a tab-separated pairs file, or a Hub
dataset. Every problem is reported as one DataError naming the file and line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from suite.errors import DataError

VAL_PREFIXES = ("val", "valid", "validation", "dev")


@dataclass
class Corpus:
    """Sentence pairs per split; ``origin`` says where each split came from (for results and errors)."""

    train: list[tuple[str, str]]
    val: list[tuple[str, str]] | None = None
    test: list[tuple[str, str]] | None = None
    origin: dict[str, str] = field(default_factory=dict)


def read_lines(path: Path) -> list[str]:
    """The file's lines, UTF-8 only; an empty line or a bad byte is an error naming the line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(str(path), f"cannot read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(str(path), f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); expected UTF-8 sentences, "
                                   "one per line", line=line) from None
    text = text.removeprefix("\ufeff")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line, it does not start an empty one
    if not lines:
        raise DataError(str(path), "file is empty; expected one sentence per line")
    cleaned = []
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r").strip()
        if not line:
            raise DataError(str(path), "empty line; expected one sentence per line", line=number)
        cleaned.append(line)
    return cleaned


def read_parallel(source: Path, target: Path) -> list[tuple[str, str]]:
    for path in (source, target):
        if not path.is_file():
            raise DataError(str(path), "language file not found (expected one sentence per line, aligned "
                                       f"with {source.name if path == target else target.name})")
    src, tgt = read_lines(source), read_lines(target)
    if len(src) != len(tgt):
        shorter, longer = (source, target) if len(src) < len(tgt) else (target, source)
        raise DataError(str(shorter), f"has {min(len(src), len(tgt))} lines but {longer.name} has "
                                      f"{max(len(src), len(tgt))}; the files must be line-aligned",
                        line=min(len(src), len(tgt)) + 1)
    return list(zip(src, tgt))


def _test_prefix(folder: Path, langs: tuple[str, str], wanted: str) -> str | None:
    if wanted != "auto":
        return wanted
    prefixes = sorted({p.name[: -len(langs[0]) - 1] for p in folder.glob(f"test*.{langs[0]}")})
    if "test" in prefixes:
        return "test"
    if len(prefixes) > 1:
        raise DataError(str(folder), f"several test splits ({', '.join(prefixes)}); pick one with --test-split")
    return prefixes[0] if prefixes else None


def read_folder(folder: Path, src: str, tgt: str, test_split: str = "auto") -> Corpus:
    train_files = [folder / f"train.{src}", folder / f"train.{tgt}"]
    missing = [p for p in train_files if not p.is_file()]
    if missing:
        found = sorted({p.suffix.lstrip(".") for p in folder.glob("train.*")})
        raise DataError(str(missing[0]), "language file not found; this folder's training languages: "
                                         f"{', '.join(found) or 'none (no train.<lang> files)'}")
    corpus = Corpus(read_parallel(*train_files), origin={"train": f"train.{src}/.{tgt}"})
    for prefix in VAL_PREFIXES:
        if (folder / f"{prefix}.{src}").exists() or (folder / f"{prefix}.{tgt}").exists():
            corpus.val = read_parallel(folder / f"{prefix}.{src}", folder / f"{prefix}.{tgt}")
            corpus.origin["val"] = f"{prefix}.{src}/.{tgt}"
            break
    prefix = _test_prefix(folder, (src, tgt), test_split)
    if prefix is not None:
        if test_split != "auto" and not (folder / f"{prefix}.{src}").exists():
            raise DataError(str(folder / f"{prefix}.{src}"), "test split file not found (--test-split)")
        corpus.test = read_parallel(folder / f"{prefix}.{src}", folder / f"{prefix}.{tgt}")
        corpus.origin["test"] = f"{prefix}.{src}/.{tgt}"
    return corpus


def read_folder_test(folder: Path, src: str, tgt: str, test_split: str = "auto") -> Corpus:
    """What --evaluate scores in a folder: its test split, else its validation split, else its training
    split, as ``Corpus.test``. No split is required beside the one read: a folder of test.de/test.en
    alone is a test set."""
    prefix = _test_prefix(folder, (src, tgt), test_split)
    if prefix is not None and test_split != "auto" and not (folder / f"{prefix}.{src}").exists():
        raise DataError(str(folder / f"{prefix}.{src}"), "test split file not found (--test-split)")
    candidates = ([prefix] if prefix else []) + list(VAL_PREFIXES) + ["train"]
    for name in candidates:
        if (folder / f"{name}.{src}").exists() or (folder / f"{name}.{tgt}").exists():
            return Corpus([], test=read_parallel(folder / f"{name}.{src}", folder / f"{name}.{tgt}"),
                          origin={"test": f"{name}.{src}/.{tgt}"})
    found = sorted({p.name for p in folder.iterdir() if p.is_file()})[:6]
    raise DataError(str(folder / f"test.{src}"), f"no test.{src}/test.{tgt} (nor a validation or training "
                                                 f"split) in this folder for the model's languages {src}-{tgt}; "
                                                 f"it holds: {', '.join(found) or 'no files'}")


def read_pairs_file(path: Path, src: str, tgt: str, columns: tuple[str, str]) -> Corpus:
    """``first<TAB>second[<TAB>more...]`` lines (the Tatoeba/Anki layout); ``columns`` names the two."""
    for lang in (src, tgt):
        if lang not in columns:
            raise DataError(str(path), f"has columns {columns[0]},{columns[1]} (--pair-columns); no language "
                                       f"{lang!r}")
    si, ti = columns.index(src), columns.index(tgt)
    pairs = []
    for number, line in enumerate(read_lines(path), start=1):
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
            raise DataError(str(path), f"expected {columns[0]}<TAB>{columns[1]}[<TAB>...], got {line[:60]!r}",
                            line=number)
        pairs.append((parts[si].strip(), parts[ti].strip()))
    return Corpus(pairs, origin={"train": path.name})


HUB_SPLITS = (("train", ("train",)), ("val", ("validation", "valid", "dev")), ("test", ("test",)))


def read_hub(name: str, src: str, tgt: str, evaluate: bool = False) -> Corpus:
    """A Hub dataset with a ``translation`` column of {lang: text} or one column per language.

    ``evaluate``: only the first split found of test, validation, train, as ``Corpus.test`` (a test set
    needs no training split beside it)."""
    from suite.data.sources import check_scalar, read_table
    from suite.data.tables import kind_of

    corpus = Corpus([], origin={})
    missing: DataError | None = None
    for split, hub_splits in (HUB_SPLITS[::-1] if evaluate else HUB_SPLITS):
        for hub_split in hub_splits:
            try:
                frame = read_table(name, hub_split=hub_split)
            except DataError as exc:
                if split == "train" and hub_split == "train" and not evaluate:
                    raise
                missing = exc
                continue
            if "translation" in frame.columns:
                rows = []
                for i, row in enumerate(frame["translation"], start=1):
                    if not isinstance(row, dict):
                        raise DataError(f"{name} [{hub_split}]", f"column 'translation': expected a JSON object of "
                                                                 f"{{language: text}}, got {kind_of(row)}", line=i)
                    rows.append((row.get(src), row.get(tgt)))
            elif src in frame.columns and tgt in frame.columns:
                rows = list(zip(frame[src], frame[tgt]))
            else:
                raise DataError(name, f"no 'translation' column and no {src!r}/{tgt!r} columns; columns: "
                                      f"{', '.join(map(str, frame.columns))}")
            for i, (s, t) in enumerate(rows, start=1):
                check_scalar(s, f"{name} [{hub_split}]", i, src, "a string")
                check_scalar(t, f"{name} [{hub_split}]", i, tgt, "a string")
                if not isinstance(s, str) or not isinstance(t, str) or not s.strip() or not t.strip():
                    raise DataError(f"{name} [{hub_split}]", f"missing or empty {src}/{tgt} text", line=i)
            pairs = [(s.strip(), t.strip()) for s, t in rows]
            if evaluate:
                return Corpus([], test=pairs, origin={"test": f"{name}[{hub_split}]"})
            setattr(corpus, split, pairs)
            corpus.origin[split] = f"{name}[{hub_split}]"
            break
    if evaluate:  # no split at all: say why the last one could not be read
        raise missing or DataError(name, "no test, validation or train split")
    return corpus


def read_corpus(data: str, src: str, tgt: str, columns: tuple[str, str], test_split: str = "auto",
                evaluate: bool = False) -> Corpus:
    """The splits of ``data``; ``evaluate``: only the test set (``Corpus.test``), as --evaluate reads it:
    a folder's test split (else validation, else train), every pair of a pairs file, a Hub test split."""
    path = Path(data).expanduser()
    if path.is_dir():
        return read_folder_test(path, src, tgt, test_split) if evaluate else read_folder(path, src, tgt, test_split)
    if path.is_file():
        corpus = read_pairs_file(path, src, tgt, columns)
        return Corpus([], test=corpus.train, origin={"test": path.name}) if evaluate else corpus
    from suite.data.sources import looks_like_path

    if looks_like_path(data) or "/" in data and Path(data.split("/")[0]).exists():
        raise DataError(data, "not found (expected a folder of <split>.<lang> files or a pairs file)")
    return read_hub(data, src, tgt, evaluate)


"""Reading local table files with pandas and pyarrow: CSV, TSV, JSON (one object per line, or a list),
Parquet; ``.gz`` for the text formats.

Nothing here imports ``datasets``: a local file is read where it lies, without a network request or a
cache left behind, whatever the environment says. Errors name the file and, where known, the line.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from pathlib import Path

import pandas as pd

from ..errors import DataError

#: file-name ending -> format
FORMATS: dict[str, str] = {
    ".csv": "csv", ".csv.gz": "csv", ".tsv": "tsv", ".tsv.gz": "tsv",
    ".json": "json", ".jsonl": "json", ".json.gz": "json", ".jsonl.gz": "json",
    ".parquet": "parquet",
}
_LABELS = {"csv": "CSV", "tsv": "TSV", "json": "JSON", "parquet": "Parquet"}
_SPACE = re.compile(r"\s*")


def table_format(path: Path, formats: dict[str, str] = FORMATS) -> str | None:
    """The format ``formats`` gives the longest file-name ending of ``path`` (``.csv.gz`` before ``.gz``)."""
    name = path.name.lower()
    for ending in sorted(formats, key=len, reverse=True):
        if name.endswith(ending):
            return formats[ending]
    return None


def read_local_table(path: Path) -> pd.DataFrame:
    """The file as a DataFrame with a RangeIndex. For JSON whose rows are not on lines 1, 2, ... (a
    list of objects, blank lines), ``frame.attrs["lines"]`` holds each row's line."""
    fmt = table_format(path)
    if fmt == "parquet":
        frame = _read_parquet(path)
    elif fmt == "json":
        frame = _read_json(path, _decode(path, _read_bytes(path)))
    else:
        frame = _read_csv(path, _read_bytes(path), "\t" if fmt == "tsv" else ",")
    if len(frame) == 0:
        raise DataError(str(path), f"cannot read as {_LABELS[fmt]}: no data rows"
                                   f"{' (only a header?)' if fmt in ('csv', 'tsv') else ''}")
    return frame


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
        if path.name.lower().endswith(".gz"):
            raw = gzip.decompress(raw)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(str(path), f"not a valid gzip file ({exc})") from None
    except OSError as exc:
        raise DataError(str(path), f"cannot read ({exc.strerror or exc})") from None
    if not raw.strip():
        raise DataError(str(path), "file is empty")
    return raw


def _decode(path: Path, raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(str(path), f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the table as UTF-8",
                        line=raw.count(b"\n", 0, exc.start) + 1) from None
    return text.removeprefix("\ufeff")


def _read_csv(path: Path, raw: bytes, sep: str) -> pd.DataFrame:
    # bytes, not decoded text: pandas parses them many times faster. low_memory=False: one dtype per
    # column, decided on the whole file rather than per chunk
    try:
        return pd.read_csv(io.BytesIO(raw), sep=sep, encoding="utf-8", low_memory=False)
    except UnicodeDecodeError:
        _decode(path, raw)  # raises, naming the line
        raise DataError(str(path), "not UTF-8 text; save the table as UTF-8") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = re.search(r"\bline (\d+)", message)
        label = "TSV" if sep == "\t" else "CSV"
        raise DataError(str(path), f"cannot read as {label}: {message}",
                        line=int(where.group(1)) if where else None) from None


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(path).to_pandas()
    except (pyarrow.ArrowException, OSError, ValueError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(str(path), f"cannot read as Parquet: {message}") from None
    if not isinstance(frame.index, pd.RangeIndex):  # a saved pandas index: a named one is a column too
        frame = frame.reset_index(drop=all(name is None for name in frame.index.names))
    return frame.reset_index(drop=True)


def kind_of(value: object) -> str:
    """How a JSON value is named in messages."""
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else "a string" if isinstance(value, str) else f"a {type(value).__name__}"


def _read_json(path: Path, text: str) -> pd.DataFrame:
    if text.lstrip().startswith("["):
        items, lines = _json_list(path, text)
    else:
        items, lines = _json_lines(path, text)
    if items and all(isinstance(item, str) for item in items):
        items = [{"text": item} for item in items]  # a list of strings is a text column, as in ``datasets``
    for item, line in zip(items, lines):
        if not isinstance(item, dict):
            raise DataError(str(path), f"expected a JSON object (one row), got {kind_of(item)}", line=line)
    if len(items) == 1 and items[0] and all(isinstance(v, (dict, list)) for v in items[0].values()):
        raise DataError(str(path), "one JSON object of columns; expected one object per row: JSON lines, or a "
                                   "list of objects (pandas: to_json(orient='records'))")
    frame = pd.DataFrame(items)
    if lines != list(range(1, len(lines) + 1)):
        frame.attrs["lines"] = tuple(lines)  # only then: pandas copies attrs with every derived frame
    return frame


def _json_lines(path: Path, text: str) -> tuple[list, list[int]]:
    items, lines = [], []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if not items:  # perhaps one object over several lines
                whole = _whole_object(text)
                if whole is not None:
                    return [whole], [1]
            raise DataError(str(path), f"not valid JSON ({exc.msg}, column {exc.colno}); expected one JSON object "
                                       "per line, or a list of objects", line=number) from None
        lines.append(number)
    return items, lines


def _whole_object(text: str) -> dict | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _json_list(path: Path, text: str) -> tuple[list, list[int]]:
    """The items of a top-level JSON list, with the line each starts on."""
    decoder = json.JSONDecoder()
    items, lines = [], []
    pos = _SPACE.match(text, text.index("[") + 1).end()
    line, counted = 1, 0
    if text.startswith("]", pos):
        pos += 1
    else:
        while True:
            try:
                value, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                raise DataError(str(path), f"not valid JSON ({exc.msg}, column {exc.colno})", line=exc.lineno) from None
            line, counted = line + text.count("\n", counted, pos), pos
            items.append(value)
            lines.append(line)
            pos = _SPACE.match(text, end).end()
            if text.startswith(",", pos):
                pos = _SPACE.match(text, pos + 1).end()
            elif text.startswith("]", pos):
                pos += 1
                break
            else:
                raise DataError(str(path), "not valid JSON (expected ',' or ']' after a list item)",
                                line=text.count("\n", 0, pos) + 1)
    if text[pos:].strip():
        raise DataError(str(path), "not valid JSON (text after the end of the list)",
                        line=text.count("\n", 0, _SPACE.match(text, pos).end()) + 1)
    return items, lines

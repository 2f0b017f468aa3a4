"""The inputs of a batch prediction (``--predict FILE --batch``), read one record at a time.

A file of many inputs: one per line (``.txt``; ``.jsonl``, a JSON string or an object per line), or the
rows of a table (``.csv``, ``.tsv``, ``.parquet``, a ``.json`` list), the input in one column. Every
record keeps the line (or row) it came from. A line that cannot be read (not UTF-8, not JSON, a row
with the wrong number of fields, an empty cell) is a record with an ``error``, never a failure of the
whole file, so the caller decides whether it is skipped or stops the run; only what leaves the rest
unreadable (no such column, a damaged Parquet file) fails at once, before a model is loaded.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .data.paths import require_file, why_unreadable
from .data.sources import TEXT_NAMES
from .data.tables import kind_of, table_format
from .errors import DataError, UserError

#: file-name ending -> how its records are read
FORMATS = {".txt": "lines", ".txt.gz": "lines", ".jsonl": "jsonl", ".jsonl.gz": "jsonl", ".ndjson": "jsonl",
           ".json": "json", ".json.gz": "json", ".csv": "csv", ".csv.gz": "csv", ".tsv": "tsv",
           ".tsv.gz": "tsv", ".parquet": "parquet"}
READS = ".txt, .jsonl, .json, .csv, .tsv (each also .gz) or .parquet"
#: the field a JSON-lines object or a table holds its input in, when --input-column does not say
DEFAULT_COLUMN = "input"
_BAD_BYTE = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of a byte that is not UTF-8


@dataclass
class Item:
    """One record of the file: its line (a row number for Parquet and JSON lists), and either the
    input text or why it could not be read."""

    line: int
    input: str | None
    id: Any = None
    error: str | None = None
    position: int = 0  # how far into the file it ends, in the units of ``BatchSource.total``

    @property
    def shown_input(self) -> str | None:
        """The input as it can be written out (a byte that is not UTF-8 as U+FFFD)."""
        if self.input is None:
            return None
        return self.input.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def batch_format(path: Path) -> str | None:
    return table_format(path, FORMATS)


class BatchSource:
    """The records of one input file. ``open`` checks everything that can be checked up front (the
    file, its format, the input and id columns) so a misuse fails before a model is loaded."""

    def __init__(self, path: Path, name: str, fmt: str, *, input_column: str | None, id_column: str | None,
                 preferred: tuple[str, ...], structured: bool):
        self.path, self.name, self.format = path, name, fmt
        self.input_column, self.id_column = input_column, id_column
        self.preferred = preferred
        self.structured = structured  # JSON objects and lists are inputs too (a music request, a series)
        self.unit = "row" if fmt == "parquet" else "line"
        self.total: int | None = None
        self.blank_lines = 0
        self._header: list[str] | None = None
        self._column: str | None = None
        self._json_list: list[tuple[Any, int]] | None = None

    @classmethod
    def open(cls, path: str | Path, *, name: str | None = None, input_column: str | None = None,
             id_column: str | None = None, preferred: tuple[str, ...] = (), structured: bool = False) -> BatchSource:
        """``preferred``: column names to try before the usual text columns (the run's own text column);
        ``structured``: whether a JSON object or list may be an input (as its JSON text)."""
        path = Path(path)
        name = name or str(path)
        require_file(path, f"a file of inputs ({READS})",
                     missing="file not found (--batch reads a file of inputs; without it --predict answers one input)")
        fmt = batch_format(path)
        if fmt is None:
            raise UserError(f"{name}: --batch reads {READS} (one input per line, or a table's rows); "
                            f"not a '{''.join(path.suffixes[-2:]) or 'suffix-less'}' file")
        if fmt == "lines" and (input_column or id_column):
            flag = "--input-column" if input_column else "--id-column"
            raise UserError(f"{name}: {flag} needs a table or JSON lines; a .txt file holds one input per line")
        source = cls(path, name, fmt, input_column=input_column, id_column=id_column, preferred=preferred,
                     structured=structured)
        source._prepare()
        return source

    # --- up-front checks ------------------------------------------------------------------------------
    def _prepare(self) -> None:
        if self.format == "parquet":
            self._prepare_parquet()
            return
        if self.format == "json" and self._starts_with_bracket():
            self._prepare_json_list()
            return
        if self.format == "json":
            self.format = "jsonl"  # JSON lines under a .json name, as the table readers take it
        self.total = self._count_lines()
        if self.format in ("csv", "tsv"):
            with self._text() as handle:
                reader = csv.reader(handle, delimiter="\t" if self.format == "tsv" else ",")
                try:
                    header = next((row for row in reader if row), None)
                except csv.Error as exc:
                    raise DataError(self.name, f"cannot read as {self.format.upper()}: {exc}",
                                    line=reader.line_num) from None
            if header is None:
                raise DataError(self.name, "no header row: the file is empty")
            self._header = header
            self._column = self._pick(header)
            if self.id_column is not None and self.id_column not in header:
                raise DataError(self.name, f"no id column {self.id_column!r} (--id-column); columns: "
                                           f"{', '.join(header)}")

    def _pick(self, columns: list[str]) -> str:
        """The input column: the one named, else ``input``, the run's text column, a usual text column's
        name, or the only column."""
        if self.input_column is not None:
            if self.input_column not in columns:
                raise DataError(self.name, f"no column {self.input_column!r} (--input-column); columns: "
                                           f"{', '.join(columns)}")
            return self.input_column
        lower = {c.lower(): c for c in columns}
        for candidate in (DEFAULT_COLUMN, *self.preferred, *TEXT_NAMES):
            if candidate.lower() in lower:
                return lower[candidate.lower()]
        if len(columns) == 1:
            return columns[0]
        raise DataError(self.name, f"which column holds the inputs? give --input-column NAME; columns: "
                                   f"{', '.join(columns)}")

    def _starts_with_bracket(self) -> bool:
        with self._text() as handle:
            head = handle.read(4096)
        return head.lstrip().startswith("[")

    def _prepare_json_list(self) -> None:
        from .data.tables import _json_list

        try:
            raw = self._open_binary().read()
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(self.name, _why(exc)) from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DataError(self.name, f"not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                            line=raw.count(b"\n", 0, exc.start) + 1) from None
        items, lines = _json_list(self.name, text)  # a JSON list is whole or unreadable: no line to skip
        self._json_list = list(zip(items, lines))
        self.total = len(items)
        self.unit = "row"
        objects = [item for item in items if isinstance(item, dict)]
        if self.id_column is not None and not objects:
            raise DataError(self.name, "--id-column needs JSON objects; the list holds none")

    def _prepare_parquet(self) -> None:
        import pyarrow
        import pyarrow.parquet as pq

        try:
            self._parquet = pq.ParquetFile(self.path)
        except (pyarrow.ArrowException, OSError, ValueError) as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(self.name, f"cannot read as Parquet: {message}") from None
        columns = list(self._parquet.schema_arrow.names)
        self._column = self._pick(columns)
        if self.id_column is not None and self.id_column not in columns:
            raise DataError(self.name, f"no id column {self.id_column!r} (--id-column); columns: {', '.join(columns)}")
        self.total = self._parquet.metadata.num_rows

    # --- reading --------------------------------------------------------------------------------------
    def _open_binary(self):
        return gzip.open(self.path, "rb") if self.path.name.lower().endswith(".gz") else open(self.path, "rb")

    def _text(self) -> io.TextIOWrapper:
        # surrogateescape: a byte that is not UTF-8 spoils its own line only, found and reported there
        try:
            return io.TextIOWrapper(self._open_binary(), encoding="utf-8-sig", errors="surrogateescape", newline="")
        except OSError as exc:
            raise DataError(self.name, why_unreadable(exc)) from None

    def _count_lines(self) -> int:
        count, last = 0, b"\n"
        try:
            with self._open_binary() as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    count += block.count(b"\n")
                    last = block[-1:]
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(self.name, _why(exc)) from None
        return count + (last != b"\n")

    def __iter__(self) -> Iterator[Item]:
        try:
            if self.format == "parquet":
                yield from self._parquet_items()
            elif self._json_list is not None:
                for row, (value, line) in enumerate(self._json_list, 1):
                    yield self._item_from_json(value, line, row)
            elif self.format == "lines":
                yield from self._line_items()
            elif self.format == "jsonl":
                yield from self._jsonl_items()
            else:
                yield from self._table_items()
        except (OSError, EOFError, zlib.error) as exc:  # a file that breaks off (a truncated .gz) mid-way
            raise DataError(self.name, _why(exc)) from None

    def _lines(self) -> Iterator[tuple[int, str]]:
        with self._text() as handle:
            for number, line in enumerate(handle, 1):
                line = line.rstrip("\r\n")
                if line.strip():
                    yield number, line
                else:
                    self.blank_lines += 1

    def _line_items(self) -> Iterator[Item]:
        for number, line in self._lines():
            yield _checked(Item(number, line, position=number))

    def _jsonl_items(self) -> Iterator[Item]:
        for number, line in self._lines():
            if _BAD_BYTE.search(line):
                yield _checked(Item(number, line, position=number))
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Item(number, line, error=f"not valid JSON ({exc.msg}, column {exc.colno}); expected a "
                                               f"JSON string or an object with an {self._field_name()!r} field",
                           position=number)
                continue
            yield self._item_from_json(value, number, number)

    def _field_name(self) -> str:
        return self.input_column or DEFAULT_COLUMN

    def _item_from_json(self, value: Any, line: int, position: int) -> Item:
        shown = json.dumps(value, ensure_ascii=False)
        if isinstance(value, dict):
            key = self.input_column or next((k for k in (DEFAULT_COLUMN, *self.preferred, *TEXT_NAMES) if k in value),
                                            None)
            if key is None and len(value) == 1 and self.id_column is None:
                key = next(iter(value))
            ident = value.get(self.id_column) if self.id_column is not None else None
            if key is None or key not in value:
                fields = ", ".join(map(str, value)) or "none"
                return Item(line, shown, ident, f"no {self._field_name()!r} field in the object (fields: {fields}); "
                                                f"--input-column names another", position)
            value = value[key]
            where = f"field {key!r}: "
        else:
            ident, where = None, ""
        text, error = self._as_input(value)
        return _checked(Item(line, text if error is None else shown, ident,
                             None if error is None else where + error, position))

    def _as_input(self, value: Any) -> tuple[str | None, str | None]:
        """A JSON or table value as the text ``--predict`` would get, or why it cannot be one."""
        if isinstance(value, str):
            return value, None
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None, "no input (empty)"
        if isinstance(value, bool):
            return None, "expected the input as text, got true/false"
        if isinstance(value, (int, float)):
            return repr(value) if isinstance(value, float) else str(value), None
        if hasattr(value, "tolist"):  # a Parquet list cell
            value = value.tolist()
        if self.structured and isinstance(value, list) and value and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return ", ".join(map(str, value)), None  # inline values, as --predict "1, 2, 3" takes them
        if self.structured and isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False), None
        return None, f"expected the input as text, got {kind_of(value)}"

    def _table_items(self) -> Iterator[Item]:
        header, column = self._header, self._column
        at, ident_at = header.index(column), header.index(self.id_column) if self.id_column is not None else None
        with self._text() as handle:
            reader = csv.reader(handle, delimiter="\t" if self.format == "tsv" else ",")
            seen_header, previous = False, 0
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:  # the rest cannot be told apart into rows: a whole-file error
                    raise DataError(self.name, f"cannot read as {self.format.upper()}: {exc}",
                                    line=reader.line_num) from None
                first, previous = previous + 1, reader.line_num
                if not row:
                    self.blank_lines += 1
                    continue
                if not seen_header:
                    seen_header = True
                    continue
                raw = ",".join(row) if self.format == "csv" else "\t".join(row)
                if len(row) != len(header):
                    yield Item(first, raw, error=f"{len(row)} fields; the header has {len(header)}",
                               position=previous)
                    continue
                ident = row[ident_at] if ident_at is not None else None
                value = row[at]
                if not value.strip():
                    yield Item(first, value, ident, f"column {column!r} is empty", previous)
                    continue
                yield _checked(Item(first, value, ident, position=previous))

    def _parquet_items(self) -> Iterator[Item]:
        import pyarrow

        wanted = [self._column] + ([self.id_column] if self.id_column not in (None, self._column) else [])
        row = 0
        try:
            for batch in self._parquet.iter_batches(columns=wanted, batch_size=4096):
                values = batch.column(self._column).to_pylist()
                idents = batch.column(self.id_column).to_pylist() if self.id_column is not None else [None] * len(values)
                for value, ident in zip(values, idents):
                    row += 1
                    text, error = self._as_input(value)
                    if error is None and not text.strip():
                        error = "empty"
                    yield _checked(Item(row, text if error is None else None, ident,
                                        None if error is None else f"column {self._column!r}: {error}", row))
        except (pyarrow.ArrowException, ValueError) as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(self.name, f"cannot read as Parquet after row {row}: {message}") from None


def _checked(item: Item) -> Item:
    """The item, or an error where its text holds a byte that is not UTF-8."""
    if item.error is None and item.input is not None:
        bad = _BAD_BYTE.search(item.input)
        if bad:
            item.error = f"not UTF-8 text (byte 0x{ord(bad.group()) - 0xDC00:02x})"
        elif not item.input.strip():
            item.error = "the input is empty"
    return item


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, gzip.BadGzipFile):
        return why_unreadable(exc)
    return f"not a valid gzip file, or cut short ({exc})"

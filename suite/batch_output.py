"""Where a batch prediction's answers go: JSON lines or CSV, one record per input, written as they come.

A file is written as ``OUT.partial`` beside its target and renamed to ``OUT`` only when the work ends
(done, or stopped by ``--on-error fail`` after the good lines), so ``OUT`` is never a file cut off
mid-way: a crash, a kill or Ctrl-C leaves the previous ``OUT`` as it was and the answers so far in
``OUT.partial``, each of its lines whole. Without a file, JSON lines go to standard output.

CSV is flat: ``line``, ``id`` (with ``--id-column``), ``input``, the prediction's fields (a dict's entries as
``field.key`` columns, a list of numbers or words joined by spaces, anything deeper as JSON) and ``error``.
What only a plot needs (attention weights and their token axes, a forecast's history) and a text that
repeats the input are left out of CSV; JSON lines keep the whole answer.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from .atomic import NO_SPACE, _sync_folder, dumps_strict
from .errors import UserError

FORMATS = {".jsonl": "jsonl", ".csv": "csv"}
RECORD_COLUMNS = ("line", "id", "input", "error")
#: per output kind, the answer's fields CSV leaves out (JSON lines keep them)
CSV_OMITS = {"label": ("text",), "tags": ("text",), "text": ("attention", "source_tokens", "target_tokens"),
             "series": ("history", "history_time")}


def output_format(path: Path) -> str | None:
    return FORMATS.get(path.suffix.lower())


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def record(line: int, text: str | None, *, ident: Any = None, with_id: bool = False, prediction: Any = None,
           error: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"line": line}
    if with_id:
        out["id"] = ident
    out["input"] = text
    if error is None:
        out["prediction"] = prediction
    else:
        out["error"] = error
    return out


class Sink:
    """Records in, lines out. ``finish`` puts the file in place; ``abandon`` leaves what is written in
    ``OUT.partial`` and says where."""

    def __init__(self, path: Path | None, stream: TextIO | None = None):
        self.path = path
        self.written = 0
        if path is None:
            self.handle = stream or sys.stdout
            self.partial = None
        else:
            self.partial = partial_path(path)
            try:
                self.handle = open(self.partial, "w", encoding="utf-8", newline="")
            except OSError as exc:
                raise UserError(f"{self.partial}: cannot write --output ({exc.strerror or exc})") from None

    def write(self, rec: dict[str, Any]) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        self._guard(self.handle.flush)

    def finish(self) -> None:
        self._close()
        if self.partial is not None:
            self._guard(lambda: os.replace(self.partial, self.path))
            _sync_folder(self.path.parent)

    def abandon(self) -> Path | None:
        """After an interruption or a bug: keep the whole lines written so far, and say where they are."""
        try:
            self._close()
        except (OSError, UserError):
            pass
        return self.partial if self.partial is not None and self.partial.exists() else None

    def _close(self) -> None:
        if self.partial is None:
            self.flush()
            return
        if not self.handle.closed:
            def close():
                self.handle.flush()
                os.fsync(self.handle.fileno())
                self.handle.close()
            self._guard(close)

    def _guard(self, action) -> Any:
        try:
            return action()
        except BrokenPipeError:
            if self.partial is not None:
                raise UserError(f"{self.partial}: cannot write (broken pipe)") from None
            _quiet_stdout()
            raise ReaderGone(f"standard output was closed by its reader (after {self.written:,} answer"
                             f"{'s' * (self.written != 1)})") from None
        except OSError as exc:
            where = self.partial or "standard output"
            if exc.errno in NO_SPACE:
                raise UserError(f"no space left on device while writing {where}; the answers so far are in it, "
                                f"each line whole") from None
            raise UserError(f"{where}: cannot write ({exc.strerror or exc})") from None


class ReaderGone(UserError):
    """``... --batch | head``: the reader has what it wanted; the exit code a shell expects after SIGPIPE."""

    exit_code = 141


def _quiet_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real descriptor behind sys.stdout (a test's capture)
        pass


class JsonLinesSink(Sink):
    def write(self, rec: dict[str, Any]) -> None:
        self._guard(lambda: self.handle.write(dumps_strict(rec, ensure_ascii=False) + "\n"))
        self.written += 1


class CsvSink(Sink):
    """The header comes from the first answer's fields, so records before it wait (errors only)."""

    def __init__(self, path: Path, output_kind: str, warn: TextIO | None = None):
        super().__init__(path)
        self.omit = CSV_OMITS.get(output_kind, ())
        self.writer = csv.writer(self.handle)
        self.columns: list[str] | None = None
        self.waiting: list[dict[str, Any]] = []
        self.dropped: set[str] = set()
        self.warn = warn

    def write(self, rec: dict[str, Any]) -> None:
        if self.columns is None:
            if "prediction" not in rec:
                self.waiting.append(rec)
                return
            base = [k for k in rec if k not in ("prediction", "error")]
            self.columns = base + list(csv_fields(rec["prediction"], self.omit)) + ["error"]
            self._guard(lambda: self.writer.writerow(self.columns))
            for held in self.waiting:
                self._row(held)
            self.waiting = []
        self._row(rec)

    def _row(self, rec: dict[str, Any]) -> None:
        cells = {k: _cell(v) for k, v in rec.items() if k not in ("prediction", "error")}
        if "prediction" in rec:
            fields = csv_fields(rec["prediction"], self.omit)
            new = [k for k in fields if k not in self.columns and k not in self.dropped]
            if new and self.warn is not None:
                print(f"warning: line {rec['line']}: the answer has field(s) {', '.join(new)} that the first answer "
                      f"had not; CSV has no column for them (JSON lines keep every field)", file=self.warn)
            self.dropped.update(new)
            cells.update(fields)
        cells["error"] = rec.get("error") or ""
        self._guard(lambda: self.writer.writerow([cells.get(c, "") for c in self.columns]))
        self.written += 1

    def finish(self) -> None:
        self._header_for_errors_only()
        super().finish()

    def abandon(self) -> Path | None:
        try:
            self._header_for_errors_only()
        except UserError:
            pass
        return super().abandon()

    def _header_for_errors_only(self) -> None:
        """No answer came: the records waiting are errors, written under the columns they have."""
        if self.columns is not None or not self.waiting:
            return
        self.columns = [k for k in self.waiting[0] if k != "error"] + ["error"]
        self._guard(lambda: self.writer.writerow(self.columns))
        for held in self.waiting:
            self._row(held)
        self.waiting = []


def csv_fields(prediction: Any, omit: tuple[str, ...] = ()) -> dict[str, Any]:
    """An answer's CSV cells; a field named like one of the record's own columns is kept apart."""
    return {f"prediction.{k}" if k in RECORD_COLUMNS else k: v for k, v in flatten(prediction, omit).items()}


def flatten(prediction: Any, omit: tuple[str, ...] = ()) -> dict[str, Any]:
    """An answer as flat CSV cells."""
    if not isinstance(prediction, dict):
        return {"prediction": _cell(prediction)}
    cells: dict[str, Any] = {}
    for key, value in prediction.items():
        if key in omit:
            continue
        if isinstance(value, dict) and value:
            for sub, inner in value.items():
                cells[f"{key}.{sub}"] = _cell(inner)
        else:
            cells[str(key)] = _cell(value)
    return cells


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (bool, int, float, str)):
        return value if not isinstance(value, float) or value == value and abs(value) != float("inf") else ""
    if isinstance(value, (list, tuple)) and all(_plain(v) for v in value):
        return " ".join(str(v) for v in value)
    return dumps_strict(value, ensure_ascii=False)


def _plain(value: Any) -> bool:
    """A list item that reads unambiguously when joined by spaces."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and value != "" and not any(ch.isspace() for ch in value)


def open_sink(path: Path | None, fmt: str, output_kind: str, warn: TextIO | None = None) -> Sink:
    if fmt == "csv":
        return CsvSink(path, output_kind, warn)
    return JsonLinesSink(path)

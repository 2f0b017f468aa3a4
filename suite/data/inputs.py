"""What ``--predict INPUT`` means for the text tasks: one text, or a file of texts, one per line."""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError, UserError
from .paths import read_file_bytes


def decode_utf8(data: bytes, path: str | Path, advice: str) -> str:
    """``data`` as UTF-8 text (a byte-order mark allowed); otherwise a DataError naming the line and byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(str(path), f"not UTF-8 text (byte 0x{data[exc.start]:02x}); {advice}", line=line) from None


def text_or_lines(raw: str, what: str = "text") -> tuple[Path | None, list[tuple[int, str]]]:
    """``(the file, [(line number, text), ...])`` for a file of texts (blank lines skipped), or
    ``(None, [(0, raw)])`` for a text given directly. ``what`` names one item in messages."""
    path = Path(raw).expanduser()
    try:  # a long text or one with line breaks is never a file name (and must not raise as one)
        is_file = len(raw) < 4096 and "\n" not in raw and path.is_file()
    except OSError:
        is_file = False
    if not is_file:
        if not raw.strip():
            raise UserError(f"--predict: the {what} is empty")
        return None, [(0, raw)]
    # a link loop or an unreadable file said as such
    text = decode_utf8(read_file_bytes(path, "a text file"), path, f"expected one {what} per line")
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise DataError(str(path), f"no {what}s in it (expected one {what} per line)")
    return path, lines

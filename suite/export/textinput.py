"""Reading text input in an exported predictor as the suite reads it (suite/data/text.py, suite/data/inputs.py).

Copied beside predict.py as ``textinput.py`` by the text tasks' exports; it imports only the standard library
and the shared runtime beside it (``_runtime.py``, for its one error class).
The patterns themselves come from the export's JSON (``tokenizer`` in preprocessing.json, written from the
suite's own compiled patterns by :func:`suite.export.files.tokenizer_settings`), so the two cannot drift.
"""

from __future__ import annotations

import html
import re
import unicodedata
from pathlib import Path

from _runtime import InputError


class Tokenizer:
    """normalise() and tokenize() of suite.data.text, from the patterns an export saved."""

    def __init__(self, settings: dict):
        def compiled(name: str) -> re.Pattern:
            return re.compile(settings[name]["pattern"], settings[name]["flags"])

        self.breaks, self.tags = compiled("break"), compiled("tag")
        self.space, self.token = compiled("space"), compiled("token")

    def normalise(self, text: str, lowercase: bool = False) -> str:
        text = self.breaks.sub(" ", text)
        text = self.tags.sub(" ", text)
        text = unicodedata.normalize("NFC", html.unescape(text))
        text = self.space.sub(" ", text).strip()
        return text.lower() if lowercase else text

    def tokenize(self, text: str, lowercase: bool = False) -> list[str]:
        return self.token.findall(self.normalise(text, lowercase))


def text_or_lines(raw: str, what: str = "text") -> tuple[Path | None, list[tuple[int, str]]]:
    """``(the file, [(line number, text), ...])`` for a file of texts (blank lines skipped), or
    ``(None, [(0, raw)])`` for a text given directly, as ``--predict`` decides."""
    path = Path(raw).expanduser()
    try:  # a long text or one with line breaks is never a file name
        is_file = len(raw) < 4096 and "\n" not in raw and path.is_file()
    except OSError:
        is_file = False
    if not is_file:
        if not raw.strip():
            raise InputError(f"--predict: the {what} is empty")
        return None, [(0, raw)]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}, line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); expected one "
                         f"{what} per line") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise InputError(f"{path}: no {what}s in it (expected one {what} per line)")
    return path, lines

"""``diagnostics.jsonl``, the run's training diagnostics beside metrics.csv: one JSON object per line.

Lines, each with ``kind``:

* ``start``: a fit began or resumed (``step``, ``epoch``, ``every``, ``grad_clip``, ``version``);
* ``record``: one sampled step (``step``, ``epoch``, ``loss``: the pass's, in evaluation mode on that step's
  batch before it trained, ``grad_norm``, ``interval``, ``groups``,
  ``update_ratio``, ``layers``: per layer and direction the curve ``||dL/dh_t||`` and its gates;
  ``final``: true for the pass after the last step);
* ``epoch``: one training epoch (``epoch``, ``step``, ``train_loss``, ``val``, ``grad_norm``, ``clipped``,
  ``steps``, ``nonfinite_grads``, ``nonfinite_losses``);
* ``verdicts``: what the run's history says (``verdicts``: a list of ``{code, epoch, message}``);
* ``note``: something the diagnostics could not do, said once (``message``).

Appended line by line, as metrics.csv: a killed process leaves at most its last line cut short, and that
line is skipped when read. A resumed run drops the lines of steps after the checkpoint it resumed from.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from ..atomic import dumps_strict
from ..errors import UserError
from ..saferead import kind_of, read_bytes

FILE_NAME = "diagnostics.jsonl"
VERSION = 1
#: a diagnostics file holds a few hundred lines of a few kilobytes; anything far larger is not the run's
MAX_BYTES = 256_000_000


def read_diagnostics(path: str | Path) -> list[dict[str, Any]]:
    """The file's lines as objects (a cut-short line skipped), or a one-line UserError naming the file."""
    data = read_bytes(path, "diagnostics file", MAX_BYTES)
    lines = []
    for number, raw in enumerate(data.split(b"\n")[:-1], 1):  # the last piece never ended a line
        try:
            line = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise UserError(f"{path}, line {number}: not a text file (binary data)") from None
        except (json.JSONDecodeError, RecursionError):
            continue
        if not isinstance(line, dict) or not isinstance(line.get("kind"), str):
            raise UserError(f"{path}, line {number}: expected a JSON object with a 'kind', not {kind_of(line)}")
        lines.append(line)
    return lines


class DiagnosticsWriter:
    """Appends lines; a full disk stops the diagnostics' writing (said once), never the training."""

    def __init__(self, path: Path):
        self.path = path
        self._file: TextIO | None = None
        self.failed = False
        try:
            self._file = open(path, "a", encoding="utf-8", buffering=1)
        except OSError as exc:
            self._warn(exc)

    def write(self, line: dict[str, Any]) -> None:
        if self._file is None:
            return
        try:
            self._file.write(dumps_strict(line) + "\n")
        except OSError as exc:
            self._warn(exc)
            self.close()

    def _warn(self, exc: OSError) -> None:
        self.failed = True
        print(f"warning: {self.path}: training diagnostics are no longer recorded ({exc.strerror or exc})",
              file=sys.stderr)

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None

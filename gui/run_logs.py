"""Each run's own log: the lines the window heard from it, kept in memory for the Log tab and, once the run's
folder is known, in ``<run>/window.log`` beside its other files (the engine writes no log of its own there;
its events.jsonl holds events, not the human output). Pure Python, no Qt."""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

LOG_NAME = "window.log"
#: lines kept in memory per run; the file keeps them all
KEEP_LINES = 5000
#: of a saved log, the end is read when a run is opened: a very long one is not read whole into the view
READ_BYTES = 2_000_000


class RunLog:
    def __init__(self, label: str, first: str | None = None):
        self.label = label
        self.state = "running"
        self.lines: deque[str] = deque(maxlen=KEEP_LINES)
        self.run_dir: Path | None = None
        self.saved: Path | None = None      # the window.log being written
        self.save_error: str | None = None  # why it could not be written, said once in the log
        self._handle = None
        if first is not None:
            self.add(first)

    def add(self, line: str) -> None:
        self.lines.append(line)
        if self._handle is not None:
            try:
                self._handle.write(line + "\n")
                self._handle.flush()  # a window that crashes keeps the run's log up to its last line
            except OSError as exc:
                self._stop_saving(f"{self.saved}: {exc.strerror or exc}")

    def attach(self, run_dir: str | Path) -> str | None:
        """Start saving into ``run_dir/window.log``: the lines heard so far, then each new one. A resumed run
        appends to the log it already has, after a line saying so. Returns why it cannot be saved, if so."""
        if self._handle is not None or self.save_error is not None or not run_dir:
            return None
        folder = Path(run_dir)
        if not folder.is_dir():  # the window never creates a run's folder: the run does
            self.save_error = f"{folder}: not a folder, the log is not saved there"
            return self.save_error
        path = folder / LOG_NAME
        try:
            again = path.exists() and path.stat().st_size > 0
            self._handle = open(path, "a", encoding="utf-8")
            if again:
                self._handle.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')}: run again from the window ---\n")
            self._handle.write("".join(line + "\n" for line in self.lines))
            self._handle.flush()
        except OSError as exc:
            self._stop_saving(f"{path}: {exc.strerror or exc}")
            return self.save_error
        self.run_dir, self.saved = folder, path
        return None

    def _stop_saving(self, why: str) -> None:
        self.save_error = f"the log is not saved: {why}"
        self.close()

    def close(self) -> None:
        if self._handle is not None:
            try:
                self._handle.close()
            except OSError:
                pass
            self._handle = None

    def text(self) -> str:
        return "\n".join(self.lines)

    def full_text(self) -> str:
        """All of it: the saved file where there is one (memory keeps the last KEEP_LINES lines)."""
        if self.saved is not None and len(self.lines) == KEEP_LINES:
            try:
                return self.saved.read_text(encoding="utf-8", errors="replace").rstrip("\n")
            except OSError:
                pass
        return self.text()


def saved_log(run_dir: str | Path) -> str | None:
    """A run's window.log (its end, if it is very long), or None if it has none."""
    path = Path(run_dir) / LOG_NAME
    try:
        if not path.is_file():
            return None
        size = path.stat().st_size
        with open(path, "rb") as handle:
            if size > READ_BYTES:
                handle.seek(size - READ_BYTES)
            data = handle.read(READ_BYTES)
    except OSError:
        return None
    text = data.decode("utf-8", "replace")
    if size > READ_BYTES:  # from the first whole line
        text = f"[the first {size - READ_BYTES:,} bytes of {path} are not shown]\n" + text.split("\n", 1)[-1]
    return text.rstrip("\n")

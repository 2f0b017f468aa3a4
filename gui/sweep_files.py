"""Following a running sweep's files from the window: trials.csv and summary.csv (each replaced whole by the
sweep after every change, see suite/atomic.py) and each trial's metrics.csv (appended line by line).

A file is read again only when its size or time changed; one that is missing, being replaced or cut short
keeps what was read last. A trial's metrics.csv is read from where the last read ended, so a long run's
file is not read whole every second. No Qt here.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

#: a table's rows are only taken whole: a file with a row shorter than its header is being written
_MAX_BYTES = 64 * 1024 * 1024


def number(text: str) -> float | None:
    """A CSV cell as a finite number (None for "", "nan" or anything else)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


class CsvTable:
    """A CSV file read whole, again only when it changed. ``read()`` says whether there is something new."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.header: list[str] = []
        self.rows: list[dict[str, str]] = []
        self._stamp: tuple[int, int] | None = None

    def read(self) -> bool:
        try:
            stat = os.stat(self.path)
        except OSError:
            return False
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp or stat.st_size > _MAX_BYTES:
            return False
        try:
            with open(self.path, "rb") as handle:  # the file may be replaced meanwhile: this one stays whole
                data = handle.read()
            reader = csv.reader(io.StringIO(data.decode("utf-8")))
            header = next(reader, None)
            body = [row for row in reader if row]
        except (OSError, UnicodeDecodeError, csv.Error):
            return False
        if not header or any(len(row) != len(header) for row in body):
            return False  # cut short: wait for the whole file
        self._stamp = stamp
        self.header, self.rows = header, [dict(zip(header, row)) for row in body]
        return True


class CurveTail:
    """One trial's validation metric per epoch, from its metrics.csv (time, step, epoch, name, value)."""

    def __init__(self, path: Path, name: str):
        self.path = Path(path)
        self.name = name  # val/mse
        self.values: dict[int, float] = {}
        self._offset = 0
        self._columns: list[str] | None = None

    def read(self) -> bool:
        """Read what was appended since the last call; True if a value came."""
        try:
            size = os.path.getsize(self.path)
        except OSError:
            return False
        if size < self._offset:  # replaced (a trial run again in the same folder): from the start
            self._offset, self._columns, self.values = 0, None, {}
        if size == self._offset:
            return False
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read(min(size - self._offset, 8 * 1024 * 1024))
        except OSError:
            return False
        end = data.rfind(b"\n") + 1  # an unfinished last line waits for its end
        if end == 0:
            return False
        self._offset += end
        changed = False
        for line in data[:end].decode("utf-8", "replace").splitlines():
            try:
                row = next(csv.reader([line]))
            except (csv.Error, StopIteration):
                continue
            if self._columns is None:
                self._columns = row
                continue
            if len(row) != len(self._columns):
                continue
            record = dict(zip(self._columns, row))
            if record.get("name") != self.name:
                continue
            epoch, value = number(record.get("epoch", "")), number(record.get("value", ""))
            if epoch is not None and value is not None:
                self.values[int(epoch)] = value
                changed = True
        return changed

    def curve(self) -> tuple[list[int], list[float]]:
        """(epochs from 1, values)."""
        epochs = sorted(self.values)
        return [e + 1 for e in epochs], [self.values[e] for e in epochs]

"""The run's event stream itself: JSON lines in events.jsonl and metrics.csv, optionally mirrored to
standard output (see :mod:`suite.events` for the events and the Lightning callbacks that emit them).

Kept free of torch and Lightning: the command line opens a stream before it knows whether it will
train, and ``--help`` or ``--list-tasks`` must not wait seconds for Lightning to import.
"""

from __future__ import annotations

import csv
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from .atomic import dumps_strict, json_safe
from .errors import UserError


class EventStream:
    """Writes events to any of: a file, standard output. Only rank zero should own one."""

    def __init__(self, to_stdout: bool = False):
        self.to_stdout = to_stdout
        self._file: TextIO | None = None
        self._metrics: TextIO | None = None
        self._metrics_writer = None
        self._lock = threading.Lock()
        self.run_dir: Path | None = None  # the run this stream writes for, once attached

    def attach(self, run_dir: Path) -> None:
        """Start writing into the run directory (appending, so a resumed run keeps its history)."""
        self.run_dir = run_dir
        metrics_path = run_dir / "metrics.csv"
        new = not metrics_path.exists() or metrics_path.stat().st_size == 0
        try:
            self._file = open(run_dir / "events.jsonl", "a", encoding="utf-8", buffering=1)
            self._metrics = open(metrics_path, "a", encoding="utf-8", newline="", buffering=1)
        except OSError as exc:
            self.close()
            raise UserError(f"{run_dir}: cannot write the run's events ({exc.strerror or exc})") from None
        self._metrics_writer = csv.writer(self._metrics)
        if new:
            self._metrics_writer.writerow(["time", "step", "epoch", "name", "value"])

    def emit(self, event: str, **fields: Any) -> None:
        record = json_safe({"event": event, "time": round(time.time(), 3), **fields})
        line = dumps_strict(record)
        with self._lock:
            if self.to_stdout:
                self._to_stdout(line)
            try:
                if self._file:
                    self._file.write(line + "\n")
                if event == "metric" and self._metrics_writer:
                    self._metrics_writer.writerow([record["time"], record.get("step"), record.get("epoch"),
                                                   record["name"], record["value"]])
            except OSError as exc:
                # A full disk must not end training here: the checkpoint writer says so in one line, and
                # keeps the previous checkpoint. Stop recording rather than fail on every event.
                print(f"warning: events are no longer recorded in the run folder ({exc.strerror or exc})",
                      file=sys.stderr)
                self.close()

    def _to_stdout(self, line: str) -> None:
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except (BrokenPipeError, ValueError, OSError):
            # The reader went away (``| head``, a closed parent): the run goes on, its events still go
            # to events.jsonl. Point stdout at /dev/null so the interpreter's exit flush cannot fail too.
            self.to_stdout = False
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                os.close(devnull)
            except (OSError, ValueError):
                pass

    def close(self) -> None:
        for handle in (self._file, self._metrics):
            if handle:
                try:
                    handle.close()
                except OSError:  # the last buffered line could not be written (a full disk)
                    pass
        self._file = self._metrics = self._metrics_writer = None

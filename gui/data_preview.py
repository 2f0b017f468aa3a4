"""The data preview under the form's Data group: the first rows or sentences of the chosen data, the
columns or tags found and which ones the run would use, and the split sizes, before a run starts.

It is answered by ``python -m suite.preview --serve``, a worker process started on the first request
(``suite/preview.py``): the task's own readers and column detection answer, so what it shows is what the run
would read, and reading a large file (or importing torch and Lightning, seconds of a held interpreter lock
in a thread) never stalls the window. The worker imports once, so later previews take a moment. A request
goes when the data settings rest; one asked while another is read waits for it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from html import escape

from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
                               QToolButton, QVBoxLayout, QWidget)

import suite
from suite.preview import ANSWER, Preview

from .elided import ElidedLabel

DEBOUNCE_MS = 600  # typing a path: one preview when the field rests, not one per key
TIMEOUT_MS = 90_000
ERROR_COLOUR = "#d9534f"
ROWS = 5
ENGINE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(suite.__file__)))


def summary_lines(preview: Preview) -> list[str]:
    """What the table does not show, a line each: the columns used, the labels or tags, the splits."""
    lines = [escape(note) for note in preview.notes]
    used = {escape(str(k)): escape(str(v)) for k, v in preview.used.items()}
    if preview.columns:
        lines.append("columns: " + ", ".join(f"<b>{c}</b> ({used[c]})" if c in used else c
                                             for c in map(escape, map(str, preview.columns))))
    elif used:
        lines.append("uses: " + ", ".join(f"<b>{name}</b> ({role})" for name, role in used.items()))
    if preview.found:
        total = sum(preview.found.values()) or 1
        items = sorted(preview.found.items(), key=lambda kv: -kv[1])
        shown = ", ".join(f"{k} {v / total:.0%}" for k, v in items[:12])
        more = " …" if len(items) > 12 else ""
        lines.append(escape(f"{preview.found_name or 'values'} ({len(items)}): {shown}{more}"))
    parts = []
    for split in preview.splits:
        size = "size when a run reads it" if split.size is None else f"{split.size:,} {split.unit}"
        extra = "; ".join(x for x in (split.span, split.origin) if x)
        parts.append(f"{split.name} {size}" + (f" ({extra})" if extra else ""))
    if parts:
        lines.append(escape("splits: " + " · ".join(parts)))
    return lines


class DataPreview(QWidget):
    """Shows ``python -m suite.preview`` for the form's data settings; ``request(args, cwd)`` asks for one."""

    shown_preview = Signal()  # a preview or an error is on screen (tests wait for it)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("data_preview")
        self.status = ElidedLabel("", self)
        self.status.setObjectName("preview_status")
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.error.hide()
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget(self)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        # a line of text a row: five rows of the default height took a third of a 700 px window
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumWidth(0)
        self.table.hide()
        self.again = QToolButton(self)
        self.again.setText("Read again")
        self.again.setToolTip("read the data again (after the file changed on disk)")
        self.again.clicked.connect(self.read_again)
        self.again.hide()
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.status, 1)
        head.addWidget(self.again)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addLayout(head)
        layout.addWidget(self.error)
        layout.addWidget(self.table)
        layout.addWidget(self.summary)
        self.preview: Preview | None = None
        self.args: list[str] | None = None  # what is shown, or being read
        self._wanted: tuple[list[str], str] | None = None  # asked for, not yet sent
        self._last: tuple[list[str], str] | None = None  # the latest asked for
        self._worker: QProcess | None = None
        self._worker_cwd: str | None = None
        self._buffer = b""
        self._errors: list[str] = []  # the worker's last standard-error lines, for a crash's message
        self._sent = 0  # the id of the request in flight (0: none)
        #: set by the window: whether a training run is on. The worker's start (it imports torch) then
        #: waits: on two cores it cost a just-started run a fifth of its throughput (bench/gui_latency.py)
        self.training: Callable[[], bool] = lambda: False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._send)
        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.setInterval(TIMEOUT_MS)
        self._deadline.timeout.connect(self._too_long)

    # --- asking ---------------------------------------------------------------------------------------
    def request(self, args: list[str], cwd: str) -> None:
        """Preview the data these settings name (``--task T --preset P --data X ...``), once they rest."""
        if (self._wanted or (self.args, None))[0] == args:
            return
        if self.args is not None and args[:2] != self.args[:2]:  # another task: its old rows would mislead
            self.preview = None
            self.table.hide()
            self.summary.setText("")
            self.error.hide()
        self._wanted = self._last = (list(args), cwd)
        self.status.setText("reading the data for a preview…")
        self.status.show()
        self._timer.start()

    def read_again(self) -> None:
        """The last settings read anew: the file may have changed since (or now, while a run trains)."""
        if self._last is not None and not self._sent:
            self._wanted = self._last
            self._send(now=True)

    def run_ended(self) -> None:
        """A training run ended: a preview that waited for it is read."""
        if self._wanted is not None and not self._timer.isActive():
            self._send()

    def hold(self, message: str) -> None:
        """No preview while the data settings are wrong: ``message`` says why (the form's own error)."""
        self._timer.stop()
        self._wanted, self.args = None, None
        if self._sent:  # its answer is no longer wanted; a worker busy with a large file is let go
            self._end_worker()
        self._show_error(message)

    def busy(self) -> bool:
        return self._timer.isActive() or bool(self._sent) or self._wanted is not None

    def _send(self, now: bool = False) -> None:
        if self._wanted is None:
            return
        if self._sent:  # one request at a time: the newest waits for the one being read
            return
        if self._worker is None and not now and self.training():
            self.status.setText("the preview waits for the training run to end (Read again: read it now)")
            self.status.show()
            self.again.show()
            return
        args, cwd = self._wanted
        self._wanted = None
        if self._worker is not None and self._worker_cwd != cwd:
            self._end_worker()
        if self._worker is None:
            self._start_worker(cwd)
        self.args = args
        self._sent += 1
        self.status.setText("reading the data for a preview…")
        self.status.show()
        line = json.dumps({"id": self._sent, "args": ["--rows", str(ROWS), *args]}) + "\n"
        self._worker.write(line.encode("utf-8"))
        self._deadline.start()

    def _start_worker(self, cwd: str) -> None:
        worker = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        # a preview reads what is on this machine, never the network (the worker says so again)
        env.insert("HF_HUB_OFFLINE", "1")
        env.insert("HF_DATASETS_OFFLINE", "1")
        env.insert("PYTHONUNBUFFERED", "1")
        # the engine this window runs, wherever the worker starts (an uninstalled checkout, a test's folder)
        paths = [ENGINE_ROOT, *[p for p in env.value("PYTHONPATH", "").split(os.pathsep) if p]]
        env.insert("PYTHONPATH", os.pathsep.join(dict.fromkeys(paths)))
        worker.setProcessEnvironment(env)
        worker.setWorkingDirectory(cwd)
        worker.readyReadStandardOutput.connect(lambda: self._read(worker))
        worker.readyReadStandardError.connect(lambda: self._read_errors(worker))
        worker.finished.connect(lambda *_: self._ended(worker))
        worker.errorOccurred.connect(lambda error: self._failed(worker, error))
        self._worker, self._worker_cwd, self._buffer, self._errors = worker, cwd, b"", []
        worker.start(sys.executable, ["-m", "suite.preview", "--serve"])

    def _end_worker(self) -> None:
        worker, self._worker, self._sent = self._worker, None, 0
        self._deadline.stop()
        if worker is None:
            return
        for signal in (worker.readyReadStandardOutput, worker.readyReadStandardError, worker.finished,
                       worker.errorOccurred):
            signal.disconnect()
        if worker.state() != QProcess.ProcessState.NotRunning:
            worker.kill()
            worker.waitForFinished(1000)
        worker.deleteLater()

    def shutdown(self) -> None:
        self._timer.stop()
        self._wanted = None
        self._end_worker()

    # --- answers --------------------------------------------------------------------------------------
    def _read(self, worker: QProcess) -> None:
        if worker is not self._worker:
            return
        self._buffer += bytes(worker.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            if not line.startswith(ANSWER):
                continue  # a reader's own print: not an answer
            try:
                answer = json.loads(line[len(ANSWER):])
            except json.JSONDecodeError:
                continue
            if answer.get("id") == self._sent:
                self._answered(answer)

    def _read_errors(self, worker: QProcess) -> None:
        text = bytes(worker.readAllStandardError()).decode("utf-8", "replace")
        self._errors = (self._errors + [line for line in text.splitlines() if line.strip()])[-5:]

    def _answered(self, answer: dict) -> None:
        self._sent = 0
        self._deadline.stop()
        if "error" in answer:
            self._show_error(answer["error"])
        else:
            try:
                preview = Preview.from_dict({k: v for k, v in answer.items() if k != "id"})
            except TypeError as exc:
                self._show_error(f"the preview failed: an answer this window cannot read ({exc})")
            else:
                self.display(preview)
        if self._wanted is not None:  # asked again while that one was read
            self._timer.start()

    def _ended(self, worker: QProcess) -> None:
        if worker is not self._worker:
            return
        in_flight = bool(self._sent)
        self._end_worker()
        if in_flight:  # a crash: its last line says the most
            self._show_error("the preview failed: " + (self._errors[-1] if self._errors else
                                                       f"exit code {worker.exitCode()}"))
        if self._wanted is not None:
            self._timer.start()

    def _failed(self, worker: QProcess, error) -> None:
        if worker is self._worker and error == QProcess.ProcessError.FailedToStart:
            message = worker.errorString()
            self._end_worker()
            self._show_error(f"the preview could not start {sys.executable}: {message}")

    def _too_long(self) -> None:
        self._end_worker()
        self._show_error(f"the preview stopped after {TIMEOUT_MS // 1000} s; the data is read when a run starts")
        if self._wanted is not None:
            self._timer.start()

    def _show_error(self, message: str) -> None:
        self.preview = None
        self.status.setText("")
        self.status.hide()
        self.again.setVisible(self.args is not None)
        self.error.setText(message)
        self.error.show()
        self.table.hide()
        self.summary.setText("")
        self.shown_preview.emit()

    def display(self, preview: Preview) -> None:
        self.preview = preview
        self.error.hide()
        self.status.setText(f"preview: {preview.source}")
        self.status.show()
        self.again.show()
        self.table.setVisible(bool(preview.rows))
        if preview.rows:
            columns = max(len(preview.header), *(len(r) for r in preview.rows))
            self.table.clear()
            self.table.setColumnCount(columns)
            self.table.setRowCount(len(preview.rows))
            labels = [str(h) for h in preview.header]
            self.table.setHorizontalHeaderLabels(labels + [""] * (columns - len(labels)))
            for r, row in enumerate(preview.rows):
                for c, value in enumerate(row):
                    item = QTableWidgetItem(str(value))
                    item.setToolTip(str(value))
                    self.table.setItem(r, c, item)
            for c in range(columns):
                header = preview.header[c] if c < len(preview.header) else ""
                if header in preview.used:  # the columns the run would use, as in the summary
                    font = self.table.horizontalHeaderItem(c).font()
                    font.setBold(True)
                    self.table.horizontalHeaderItem(c).setFont(font)
            self.table.resizeColumnsToContents()
            for c in range(columns):
                self.table.setColumnWidth(c, min(self.table.columnWidth(c), 220))
            height = self.table.horizontalHeader().sizeHint().height() + sum(
                self.table.rowHeight(r) for r in range(len(preview.rows)))
            self.table.setFixedHeight(height + 2 * self.table.frameWidth() +
                                      self.table.horizontalScrollBar().sizeHint().height())
        self.summary.setText("<br>".join(summary_lines(preview)))
        self.shown_preview.emit()

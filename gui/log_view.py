"""The Training tab's Log: one log per run started in this window (chosen in a list above it), the log of a
run opened from the Runs tab, and Save log…."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout,
                               QWidget)

from .elided import ElidedLabel
from .names import own_name
from .run_logs import RunLog, saved_log

PLACEHOLDER = ("A run's output appears here: the command it runs, what it reads, its metrics table at the end, "
               "and any error. Each run keeps its own log (the list above), saved in its folder as window.log.")


class LogPane(QWidget):
    said = Signal(str)  # a line for the status bar: where a log was saved, or why not

    def __init__(self, workdir_getter, parent: QWidget | None = None):
        super().__init__(parent)
        self.workdir_getter = workdir_getter
        self.logs: list[RunLog] = []   # the runs started in this window, oldest first
        self.opened: RunLog | None = None  # a run opened from the Runs tab
        self.view = QPlainTextEdit(self)
        self.view.setReadOnly(True)
        self.view.setMaximumBlockCount(2000)
        # the metrics table a run prints at its end is laid out in columns of spaces
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.setPlaceholderText(PLACEHOLDER)
        self.chooser = QComboBox(self)
        self.chooser.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.chooser.setMinimumContentsLength(24)
        self.chooser.setToolTip("whose log is shown: the runs started in this window, and the run last opened")
        self.chooser.currentIndexChanged.connect(self._chosen)
        self.where = ElidedLabel("", self)  # the file the shown log is saved in
        self.save_button = QPushButton("Save log…", self)
        self.save_button.setToolTip("write the shown log to a file")
        self.save_button.clicked.connect(self.save_as)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(QLabel("Log of", self))
        head.addWidget(self.chooser)
        head.addWidget(self.where, 1)
        head.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.view, 1)
        self._refresh_chooser()

    # --- the logs ---------------------------------------------------------------------------------------
    def start(self, label: str, first_line: str) -> RunLog:
        """A new run's log, shown at once."""
        log = RunLog(label, first_line)
        self.logs.append(log)
        self._refresh_chooser(select=log)
        return log

    def add(self, log: RunLog | None, line: str) -> None:
        if log is None:
            self.view.appendPlainText(line)
            return
        log.add(line)
        if self.shown() is log:
            self.view.appendPlainText(line)

    def attach(self, log: RunLog | None, run_dir: str | None) -> None:
        if log is None or not run_dir:
            return
        why = log.attach(run_dir)
        if why:
            self.add(log, f"warning: {why}")
        if self.shown() is log:
            self._say_where(log)

    def ended(self, log: RunLog | None, state: str) -> None:
        if log is None:
            return
        log.state = state
        log.close()
        self._refresh_chooser(select=self.shown())

    def show_opened(self, run_dir: str, fallback: list[str]) -> None:
        """A run opened from the Runs tab: its saved window.log, else what its files say (``fallback``)."""
        text = saved_log(run_dir)
        log = RunLog(f"opened: {own_name(Path(run_dir).name)}")
        log.state = "opened"
        for line in (text.split("\n") if text is not None else fallback):
            log.lines.append(line)
        if text is not None:
            log.saved = Path(run_dir) / "window.log"
        self.opened = log
        self._refresh_chooser(select=log)

    def shown(self) -> RunLog | None:
        index = self.chooser.currentIndex()
        entries = self._entries()
        return entries[index] if 0 <= index < len(entries) else None

    def show_log(self, log: RunLog) -> None:
        self._refresh_chooser(select=log)

    # --- the widgets ------------------------------------------------------------------------------------
    def _entries(self) -> list[RunLog]:
        return [*reversed(self.logs), *([self.opened] if self.opened is not None else [])]

    def _refresh_chooser(self, select: RunLog | None = None) -> None:
        entries = self._entries()
        self.chooser.blockSignals(True)
        self.chooser.clear()
        for i, log in enumerate(entries):
            number = len(self.logs) - i
            text = log.label if log is self.opened else f"{number}. {log.label} ({log.state})"
            self.chooser.addItem(text)
            self.chooser.setItemData(i, str(log.saved or log.run_dir or "not saved yet"),
                                     Qt.ItemDataRole.ToolTipRole)
        index = entries.index(select) if select in entries else (0 if entries else -1)
        self.chooser.setCurrentIndex(index)
        self.chooser.blockSignals(False)
        self.chooser.setEnabled(bool(entries))
        self.save_button.setEnabled(bool(entries))
        self._chosen(index)

    def _chosen(self, index: int) -> None:
        log = self.shown()
        if log is None:
            self.view.clear()
            self.where.setText("")
            return
        self.view.setPlainText(log.text())
        self.view.verticalScrollBar().setValue(self.view.verticalScrollBar().maximum())
        self._say_where(log)

    def _say_where(self, log: RunLog) -> None:
        if log.saved is not None:
            self.where.setText(f"saved in {log.saved}")
        elif log.save_error:
            self.where.setText(log.save_error)
        else:
            self.where.setText("saved in the run's folder once it has one" if log.state == "running" else "")

    def save_as(self) -> None:
        log = self.shown()
        if log is None:
            return
        folder = Path(self.workdir_getter())
        name = (log.run_dir.name if log.run_dir else log.label.removeprefix("opened: ")).replace("/", "_")
        path, _ = QFileDialog.getSaveFileName(self, "Save log", str(folder / f"{name or 'run'}.log"),
                                              "Logs (*.log *.txt);;All files (*)")
        if not path:
            return
        try:
            Path(path).write_text(log.full_text() + "\n", encoding="utf-8")
        except OSError as exc:
            self.said.emit(f"cannot save the log: {path}: {exc.strerror or exc}")
            return
        self.said.emit(f"log saved: {path}")

"""Run history: every run under the runs folder, compared side by side, reopened, resumed or deleted."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QMessageBox, QPushButton,
                               QSplitter, QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from suite.errors import UserError
from suite.runfiles import reason
from suite.runs import Run, RunSummary, list_runs

from .curves import CurvesWidget
from .names import flat_config, own_name, short_names

DIFF_MIN_WIDTH = 220  # the settings' names and at least one run's values
DIFF_MAX_COLUMN = 240
SECTION_ORDER = ("task", "preset", "backbone", "train", "options")
METRIC_COLUMN = 4  # COLUMNS from here on hold scores
COLUMNS = ("task", "started", "settings", "status", "test metric", "baseline (test)")


def settings_summary(cfg: dict) -> str:
    if not cfg:  # a damaged run's unreadable config
        return ""
    b, t = cfg.get("backbone") or {}, cfg.get("train") or {}
    parts = [f"{b.get('cell')} {b.get('hidden')}x{b.get('layers')}" + (" bi" if b.get("bidirectional") else ""),
             f"{t.get('optimizer')} lr {t.get('lr')}", f"{t.get('max_epochs')} ep"]
    if cfg.get("preset"):
        parts.insert(0, cfg["preset"])
    return ", ".join(parts)


def test_metric(run: RunSummary) -> tuple[str, str]:
    results = run.results or {}
    monitor = results.get("monitor")
    test = (results.get("metrics") or {}).get("test", {})
    base = ((results.get("baseline") or {}).get("test") or {})
    if not monitor or monitor not in test:
        return "", ""
    return f"{monitor} {_score(test[monitor])}", (_score(base[monitor]) if monitor in base else "")


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"  # null: the score was not finite


def read_metric_rows(run_dir: Path) -> list[dict]:
    """The run's metrics.csv rows; a damaged file is a UserError naming it."""
    return Run(run_dir).metric_rows()


def status_text(run: RunSummary) -> str:
    return f"damaged: {run.damaged}" if run.damaged else run.status


class RunsPanel(QWidget):
    open_run = Signal(str)
    resume_run = Signal(str)
    try_run = Signal(str)
    export_run = Signal(str)

    def __init__(self, root_getter, parent: QWidget | None = None):
        super().__init__(parent)
        self.root_getter = root_getter
        self.runs: list[RunSummary] = []
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self.compare)
        self.table.doubleClicked.connect(lambda *_: self._emit(self.open_run))

        buttons = QHBoxLayout()
        for text, slot in (("Refresh", self.refresh), ("Open", lambda: self._emit(self.open_run)),
                           ("Resume", lambda: self._emit(self.resume_run, damaged_ok=True)),
                           ("Try it", lambda: self._emit(self.try_run)),
                           ("Export…", lambda: self._emit(self.export_run)), ("Delete", self.delete_selected)):
            button = QPushButton(text, self)
            button.clicked.connect(slot)
            buttons.addWidget(button)
            if text == "Export…":
                self.export_button = button
                button.setToolTip("write the run's network as ONNX or TorchScript, with a standalone predict.py "
                                  "(--export)")
        buttons.addStretch(1)
        # why a selected run cannot be compared or used (a damaged one); empty otherwise
        self.notice = QLabel(self)
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #d9534f")
        self.notice.hide()

        self.curves = CurvesWidget(self)
        self.curves.set_hint("Select runs in the list above to overlay their curves: Ctrl+click or Shift+click "
                             "for several.")
        self.diff = QTableWidget(0, 0, self)
        self.diff.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.diff.setMinimumWidth(DIFF_MIN_WIDTH)
        self.diff.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.diff.horizontalHeader().setMaximumSectionSize(DIFF_MAX_COLUMN)  # a long path is elided
        self.diff.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.diff_hint = QLabel("The selected runs' settings appear here side by side, the ones that differ "
                                "first.", self)
        self.diff_hint.setWordWrap(True)
        self.diff_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.diff_hint.setStyleSheet("color: gray; padding: 12px;")
        self.diff_pages = QStackedWidget(self)
        self.diff_pages.addWidget(self.diff_hint)
        self.diff_pages.addWidget(self.diff)
        self.lower = lower = QSplitter(Qt.Orientation.Horizontal, self)
        lower.addWidget(self.curves)
        lower.addWidget(self.diff_pages)
        # neither side collapses when dragged past its least width: a collapsed plot looked like a lost one
        lower.setChildrenCollapsible(False)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 2)
        lower.setSizes([600, 400])
        split = QSplitter(Qt.Orientation.Vertical, self)
        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(buttons)
        top_layout.addWidget(self.notice)
        top_layout.addWidget(self.table)
        # no runs at all: where they come from
        self.empty_label = QLabel(self)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: gray;")
        top_layout.addWidget(self.empty_label)
        split.addWidget(top)
        split.addWidget(lower)
        split.setChildrenCollapsible(False)
        split.setStretchFactor(1, 1)  # the list is short; the overlay and the diff need the height
        split.setSizes([220, 600])
        layout = QVBoxLayout(self)
        layout.addWidget(split)

    def refresh(self) -> None:
        """List the runs again; the runs selected stay selected (by folder, not by row: a new run comes
        first and moves the rest down), and the overlay and diff follow what is selected now."""
        kept = {run.path for run in self.selected()}
        self.runs = list_runs(self.root_getter())
        blocker = QSignalBlocker(self.table)  # one compare() at the end, not one per row
        self.table.clearSelection()
        self.table.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            metric, base = test_metric(run)
            cells = (run.task, time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started)),
                     settings_summary(run.config), status_text(run), metric, base)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(str(run.path))
                if col >= METRIC_COLUMN:  # digits under digits
                    item.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
                self.table.setItem(row, col, item)
            self._style_status(row, run)
        selection = self.table.selectionModel()
        for row, run in enumerate(self.runs):
            if run.path in kept:
                selection.select(self.table.model().index(row, 0),
                                 QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
        blocker.unblock()
        self.table.resizeColumnsToContents()
        self.empty_label.setText(f"No runs yet under {self.root_getter()}: a run started with Run (Ctrl+R), or "
                                 "with python main.py --task NAME in this folder, is listed here." if not self.runs
                                 else "")
        self.empty_label.setVisible(not self.runs)
        self._show_notice([])
        if kept or self.curves.runs():
            self.compare()

    def _style_status(self, row: int, run: RunSummary) -> None:
        item = self.table.item(row, 3)
        item.setText(status_text(run))
        if run.status in ("failed", "incomplete", "damaged"):
            item.setForeground(QColor("#d9534f"))
        if run.damaged:
            item.setToolTip(f"{run.path}\ndamaged: {run.damaged}")

    def _mark_damaged(self, run: RunSummary, exc: UserError) -> None:
        """Damage found only when the whole file was read (listing checks the start of long files)."""
        run.status, run.damaged = "damaged", reason(exc, run.path)
        for row, listed in enumerate(self.runs):
            if listed is run:
                self._style_status(row, run)

    def _show_notice(self, damaged: list[RunSummary]) -> None:
        self.notice.setText("\n".join(f"{run.path.name}: damaged: {run.damaged}" for run in damaged))
        self.notice.setVisible(bool(damaged))

    def tell(self, text: str) -> None:
        """A one-line answer to what the user just did here (Open, Export), where they did it."""
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def selected(self) -> list[RunSummary]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.runs[r] for r in rows if r < len(self.runs)]

    def _emit(self, signal, damaged_ok: bool = False) -> None:
        chosen = self.selected()
        if not chosen:
            return
        if chosen[0].damaged and not damaged_ok:
            # nothing to open or try; Resume goes to the command line, which names what it cannot use
            self._show_notice([chosen[0]])
            return
        signal.emit(str(chosen[0].path))

    def compare(self) -> None:
        """Overlay the selected runs' curves and show their settings side by side, differences first."""
        chosen = self.selected()
        self.curves.clear()
        for run in chosen:
            if run.damaged:
                continue
            try:
                rows = read_metric_rows(run.path)
            except UserError as exc:
                self._mark_damaged(run, exc)
                continue
            self.curves.load_rows(run.path.name, rows)
            if run.results and run.results.get("monitor"):
                self.curves.set_monitor(run.results["monitor"])
        self._show_notice([run for run in chosen if run.damaged])
        chosen = [run for run in chosen if not run.damaged]  # the settings diff: the runs it can read
        names = short_names({run.path.name: run.config for run in chosen},
                            {run.path.name: own_name(run.path.name) for run in chosen})
        self.curves.set_labels(names)
        configs = [flat_config(run.config) for run in chosen]
        # the task and preset first, then the sections in the order the form shows them
        keys = sorted(set().union(*configs) if configs else [],
                      key=lambda k: (SECTION_ORDER.index(k.split(".")[0]) if k.split(".")[0] in SECTION_ORDER
                                     else len(SECTION_ORDER), k))
        differing = [k for k in keys if len({c.get(k) for c in configs}) > 1]
        ordered = differing + [k for k in keys if k not in differing]
        self.diff.clear()
        self.diff.setColumnCount(len(chosen))
        self.diff.setRowCount(len(ordered))
        self.diff_pages.setCurrentWidget(self.diff if chosen else self.diff_hint)
        for col, run in enumerate(chosen):
            head = QTableWidgetItem(names[run.path.name])
            head.setToolTip(str(run.path))
            self.diff.setHorizontalHeaderItem(col, head)
        for row, key in enumerate(ordered):
            # a setting's name alone: the registry keeps names unique across sections, and the section
            # prefix made this column wider than the values beside it
            head = QTableWidgetItem(key.split(".", 1)[-1])
            head.setToolTip(key)
            self.diff.setVerticalHeaderItem(row, head)
            for col, cfg in enumerate(configs):
                item = QTableWidgetItem(cfg.get(key, ""))
                item.setToolTip(cfg.get(key, ""))
                if key in differing:
                    item.setBackground(QColor(255, 214, 102, 90))
                self.diff.setItem(row, col, item)

    def delete_selected(self) -> None:
        chosen = self.selected()
        if not chosen:
            return
        names = "\n".join(str(run.path) for run in chosen)
        answer = QMessageBox.question(self, "Delete runs", f"Delete these runs and their checkpoints?\n{names}")
        if answer == QMessageBox.StandardButton.Yes:
            kept = {run.path: Run(run.path).delete() for run in chosen}
            kept = {path: files for path, files in kept.items() if files}
            self.refresh()
            if kept:  # a --run-dir that held the user's own files: those stay, and the user is told
                listing = "\n".join(f"{path}: {', '.join(f.name for f in files)}" for path, files in kept.items())
                QMessageBox.information(self, "Delete runs", f"Kept files the runs did not write:\n{listing}")

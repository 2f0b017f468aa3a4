"""Run history: every run under the runs folder, compared side by side, reopened, resumed or deleted."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QEvent, QItemSelection, QItemSelectionModel, QSignalBlocker, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QFont, QFontDatabase
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHeaderView, QLabel, QLineEdit,
                               QMessageBox, QPushButton, QSplitter, QStackedWidget, QTableWidget, QTableWidgetItem,
                               QTabWidget, QVBoxLayout, QWidget)

from suite.errors import UserError
from suite.run_notes import update_notes
from suite.runfiles import reason
from suite.runs import Run, RunSummary, list_runs

from .curves import CurvesWidget
from .flow import FlowLayout, group
from .names import flat_config, own_name, short_names
from .notes_box import NotesBox
from .runs_filter import STATUSES, data_label, data_value, display_name, matches, monitor_scores, sort_runs
from .scalar_compare import ScalarCompare

DIFF_MIN_WIDTH = 220  # the settings' names and at least one run's values
DIFF_MAX_COLUMN = 240
SECTION_ORDER = ("task", "preset", "backbone", "train", "options")
COLUMNS = ("name", "task", "started", "data", "settings", "status", "tags", "test metric", "baseline (test)")
NAME_COLUMN, STARTED_COLUMN, DATA_COLUMN, STATUS_COLUMN, TAGS_COLUMN = 0, 2, 3, 5, 6
METRIC_COLUMN = 7  # COLUMNS from here on hold scores
ALL_TASKS, ANY_STATUS, ANY_TAG = "all tasks", "any status", "any tag"
DAMAGED_RED = "#d9534f"
SETTINGS_WIDTH = 200  # px; the whole summary is the cell's tooltip


def sort_key(column: int):
    """How a column orders runs: names and text alphabetically, the start by time, scores by their
    metric's name and then numerically (a run without one: None, listed last)."""
    if column == NAME_COLUMN:
        return lambda run: display_name(run).casefold()
    if column == STARTED_COLUMN:
        return lambda run: run.started
    if column == DATA_COLUMN:
        return lambda run: data_label(data_value(run)).casefold() or None
    if column == TAGS_COLUMN:
        return lambda run: ", ".join(run.notes.tags).casefold() or None
    if column >= METRIC_COLUMN:
        def score(run):
            monitor, test, base = monitor_scores(run)
            value = test if column == METRIC_COLUMN else base
            return None if value is None else (monitor, value)
        return score
    text = {1: lambda run: run.task, 4: lambda run: settings_summary(run.config), 5: status_text}[column]
    return lambda run: text(run).casefold()


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
        #: every run listed, in the table's order (row i is runs[i]; rows a filter hides stay in place)
        self.runs: list[RunSummary] = []
        self._sort: tuple[int, bool] | None = None  # (column, descending) once a header was clicked
        self._filling = False
        self._comparing = False
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # only the name is edited, and only on purpose: double-click on it, F2, or Rename
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)  # every column as wide as its contents: the scores stay in view
        self.table.setWordWrap(False)  # a long name is cut with "…", not wrapped into a half-hidden second line
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(STARTED_COLUMN, Qt.SortOrder.DescendingOrder)  # list_runs: newest first
        header.sectionClicked.connect(self.sort_by)
        self.table.itemSelectionChanged.connect(self.compare)
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.itemChanged.connect(self._name_edited)
        self.table.installEventFilter(self)  # F2 renames the run, whichever of its cells is current

        buttons = FlowLayout()  # wraps when narrow: in one row, eight buttons set the window's least width
        for text, slot in (("Refresh", self.refresh), ("Open", lambda: self._emit(self.open_run)),
                           ("Resume", lambda: self._emit(self.resume_run, damaged_ok=True)),
                           ("Try it", lambda: self._emit(self.try_run)),
                           ("Export…", lambda: self._emit(self.export_run)), ("Open folder", self.open_folder),
                           ("Rename", self.rename), ("Delete", self.delete_selected)):
            button = QPushButton(text, self)
            button.clicked.connect(slot)
            buttons.addWidget(button)
            if text == "Export…":
                self.export_button = button
                button.setToolTip("write the run's network as ONNX or TorchScript, with a standalone predict.py "
                                  "(--export)")
            elif text == "Open folder":
                button.setToolTip("the selected run's folder in the file manager")
            elif text == "Rename":
                button.setToolTip("name the selected run (F2, or double-click its name)")

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search names, settings, data, tags, notes")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(300)
        self.task_filter, self.status_filter, self.tag_filter = QComboBox(self), QComboBox(self), QComboBox(self)
        for combo, everything in ((self.task_filter, ALL_TASKS), (self.status_filter, ANY_STATUS),
                                  (self.tag_filter, ANY_TAG)):
            combo.addItem(everything)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.currentTextChanged.connect(self.apply_filter)
        self.status_filter.addItems(STATUSES)
        self.search.textChanged.connect(self.apply_filter)
        self.count_label = QLabel(self)
        self.count_label.setStyleSheet("color: gray;")
        filters = FlowLayout()
        filters.addWidget(self.search)
        filters.addWidget(group(self.task_filter, self.status_filter, self.tag_filter, parent=self))
        filters.addWidget(self.count_label)

        # why a selected run cannot be compared or used (a damaged one); empty otherwise
        self.notice = QLabel(self)
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(f"color: {DAMAGED_RED}")
        self.notice.hide()

        self.notes_box = NotesBox(self)
        self.notes_box.saved.connect(self._notes_saved)
        self.curves = CurvesWidget(self)
        self.curves.set_any_metric(True)  # compare any logged metric, not only the monitor
        self.curves.set_hint("Select runs in the list above to overlay their curves: Ctrl+click or Shift+click "
                             "for several.")
        self.scalars = ScalarCompare(self)
        self.compare_tabs = QTabWidget(self)
        self.compare_tabs.addTab(self.curves, "Curves")
        self.compare_tabs.addTab(self.scalars, "Scores")
        self.compare_tabs.setTabToolTip(1, "the selected runs' scores as bars, or their differing settings as "
                                           "parallel coordinates coloured by the score")
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
        # the settings side by side, or the one selected run's notes: the list keeps the window's width
        self.side_tabs = QTabWidget(self)
        self.side_tabs.addTab(self.diff_pages, "Settings")
        self.side_tabs.addTab(self.notes_box, "Notes")
        self.side_tabs.setTabToolTip(1, "the selected run's name, tags and notes, kept in its folder (notes.json)")
        lower.addWidget(self.compare_tabs)
        lower.addWidget(self.side_tabs)
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
        top_layout.addLayout(filters)
        top_layout.addWidget(self.notice)
        top_layout.addWidget(self.table, 1)
        # no runs at all: where they come from
        self.empty_label = QLabel(self)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: gray;")
        top_layout.addWidget(self.empty_label)
        split.addWidget(top)
        split.addWidget(lower)
        split.setChildrenCollapsible(False)
        split.setStretchFactor(1, 1)  # the list is short; the overlay and the diff need the height
        split.setSizes([260, 560])
        layout = QVBoxLayout(self)
        layout.addWidget(split)

    def refresh(self) -> None:
        """List the runs again; the runs selected stay selected (by folder, not by row: a new run comes
        first and moves the rest down), and the overlay and diff follow what is selected now."""
        kept = {run.path for run in self.selected()}
        runs = list_runs(self.root_getter())
        self.runs = self._sorted(runs)
        self._fill(kept)
        self.empty_label.setText(f"No runs yet under {self.root_getter()}: a run started with Run (Ctrl+R), or "
                                 "with python main.py --task NAME in this folder, is listed here." if not self.runs
                                 else "")
        self.empty_label.setVisible(not self.runs)
        self._show_notice([])
        if kept or self.curves.runs():
            self.compare()

    def _sorted(self, runs: list[RunSummary]) -> list[RunSummary]:
        if self._sort is None:
            return list(runs)
        column, descending = self._sort
        return sort_runs(runs, sort_key(column), descending)

    def sort_by(self, column: int, descending: bool | None = None) -> None:
        """Order the table by ``column`` (a header's click: ascending first, then the other way)."""
        if descending is None:
            current = self._sort or (STARTED_COLUMN, True)
            descending = not current[1] if current[0] == column else column == STARTED_COLUMN
        self._sort = (column, descending)
        self.table.horizontalHeader().setSortIndicator(
            column, Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder)
        kept = {run.path for run in self.selected()}
        self.runs = self._sorted(self.runs)
        self._fill(kept)

    def _fill(self, kept: set) -> None:
        """The table's rows from ``self.runs``, with the runs in ``kept`` selected again; one compare() at
        the end (by the caller), not one per row."""
        blocker = QSignalBlocker(self.table)
        self._filling = True
        self.table.clearSelection()
        self.table.setRowCount(len(self.runs))
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        for row, run in enumerate(self.runs):
            metric, base = test_metric(run)
            cells = (display_name(run), run.task, time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started)),
                     data_label(data_value(run)), settings_summary(run.config), status_text(run),
                     ", ".join(run.notes.tags), metric, base)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{text}\n{run.path}" if col == COLUMNS.index("settings") else str(run.path))
                if col != NAME_COLUMN:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                if col >= METRIC_COLUMN:  # digits under digits
                    item.setFont(fixed)
                self.table.setItem(row, col, item)
            self._style_row(row, run)
        self._filling = False
        selection = self.table.selectionModel()
        for row, run in enumerate(self.runs):
            if run.path in kept:
                selection.select(self.table.model().index(row, 0),
                                 QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
        self._update_filter_choices()
        self._hide_filtered()
        blocker.unblock()
        self.table.resizeColumnsToContents()
        settings = COLUMNS.index("settings")  # the longest text: cut, so the scores stay in view at 1024 px
        self.table.setColumnWidth(settings, min(self.table.columnWidth(settings), SETTINGS_WIDTH))

    def _style_row(self, row: int, run: RunSummary) -> None:
        self._style_status(row, run)
        self._filling, was = True, self._filling
        name, tags, data = (self.table.item(row, c) for c in (NAME_COLUMN, TAGS_COLUMN, DATA_COLUMN))
        name.setText(display_name(run))
        font = QFont(name.font())
        font.setItalic(not run.notes.name)  # the folder's name, until the user gives one
        name.setFont(font)
        name.setToolTip(f"{run.path}\ndouble-click or F2 to rename")
        tags.setText(", ".join(run.notes.tags))
        tags.setForeground(QColor(DAMAGED_RED) if run.notes_damaged else self.table.palette().text().color())
        if run.notes_damaged:
            tags.setText("notes damaged")
            tags.setToolTip(f"{run.path}\n{run.notes_damaged}")
        elif run.notes.notes:
            tags.setToolTip(f"{run.path}\nnotes: {run.notes.notes[:500]}")
        else:
            tags.setToolTip(str(run.path))
        data.setToolTip(data_value(run) or str(run.path))
        self._filling = was

    def _style_status(self, row: int, run: RunSummary) -> None:
        item = self.table.item(row, STATUS_COLUMN)
        item.setText(status_text(run))
        if run.status in ("failed", "incomplete", "damaged"):
            item.setForeground(QColor(DAMAGED_RED))
        if run.damaged:
            item.setToolTip(f"{run.path}\ndamaged: {run.damaged}")

    def _mark_damaged(self, run: RunSummary, exc: UserError) -> None:
        """Damage found only when the whole file was read (listing checks the start of long files)."""
        run.status, run.damaged = "damaged", reason(exc, run.path)
        for row, listed in enumerate(self.runs):
            if listed is run:
                self._style_status(row, run)

    # --- filtering ------------------------------------------------------------------------------------------

    def _update_filter_choices(self) -> None:
        """The task and tag filters offer what the listed runs have; a choice made stays while it is offered."""
        tags = sorted({tag for run in self.runs for tag in run.notes.tags}, key=str.casefold)
        for combo, everything, values in ((self.task_filter, ALL_TASKS, sorted({run.task for run in self.runs})),
                                          (self.tag_filter, ANY_TAG, tags)):
            current = combo.currentText()
            with QSignalBlocker(combo):
                combo.clear()
                combo.addItem(everything)
                combo.addItems(values)
                combo.setCurrentText(current if current in values else everything)

    def filters(self) -> dict[str, str]:
        def chosen(combo, everything):
            return "" if combo.currentText() == everything else combo.currentText()

        return {"search": self.search.text(), "task": chosen(self.task_filter, ALL_TASKS),
                "status": chosen(self.status_filter, ANY_STATUS), "tag": chosen(self.tag_filter, ANY_TAG)}

    def _hide_filtered(self) -> list[int]:
        """Hide the rows the filters leave out; returns them."""
        wanted = self.filters()
        hidden = []
        for row, run in enumerate(self.runs):
            out = not matches(run, settings_summary(run.config), **wanted)
            self.table.setRowHidden(row, out)
            if out:
                hidden.append(row)
        shown = len(self.runs) - len(hidden)
        self.count_label.setText(f"{shown} of {len(self.runs)} runs" if hidden else
                                 f"{len(self.runs)} run{'s' * (len(self.runs) != 1)}")
        return hidden

    def clear_filters(self) -> None:
        """Every run shown again (the search emptied, any task, status and tag)."""
        for widget in (self.search, self.task_filter, self.status_filter, self.tag_filter):
            widget.blockSignals(True)
        self.search.clear()
        for combo in (self.task_filter, self.status_filter, self.tag_filter):
            combo.setCurrentIndex(0)
        for widget in (self.search, self.task_filter, self.status_filter, self.tag_filter):
            widget.blockSignals(False)
        self.apply_filter()

    def apply_filter(self, *_) -> None:
        """Show only the runs that match; a run hidden by a filter leaves the selection (and the overlay)."""
        hidden = self._hide_filtered()
        model, doomed = self.table.model(), QItemSelection()
        for row in hidden:
            doomed.select(model.index(row, 0), model.index(row, len(COLUMNS) - 1))
        self.table.selectionModel().select(doomed, QItemSelectionModel.SelectionFlag.Deselect)

    # --- names, tags and notes ------------------------------------------------------------------------------

    def rename(self) -> None:
        chosen = self.selected()
        if chosen:
            row = self.runs.index(chosen[0])
            self.table.setCurrentCell(row, NAME_COLUMN)
            self.table.editItem(self.table.item(row, NAME_COLUMN))

    def eventFilter(self, watched, event) -> bool:
        if (watched is self.table and event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_F2
                and self.table.state() != QAbstractItemView.State.EditingState):
            self.rename()
            return True
        return super().eventFilter(watched, event)

    def _double_clicked(self, index) -> None:
        if index.column() == NAME_COLUMN:
            self.table.editItem(self.table.item(index.row(), NAME_COLUMN))
        else:
            self._emit(self.open_run)

    def _name_edited(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != NAME_COLUMN or item.row() >= len(self.runs):
            return
        run = self.runs[item.row()]
        text = item.text().strip()
        name = "" if text == own_name(run.path.name) else text  # the folder's name again: no name of its own
        if name == run.notes.name:
            self._style_row(item.row(), run)
            return
        try:
            notes = update_notes(run.path, name=name)
        except UserError as exc:
            self._style_row(item.row(), run)
            self.tell(f"{exc}" + ("; Save in the notes box replaces it" if run.notes_damaged else ""))
            return
        self._notes_saved(str(run.path), notes)

    def _notes_saved(self, path: str, notes) -> None:
        """A run's notes were written (renamed in the table, or saved in the notes box): its row, the tag
        filter, the notes box and the names shown in the overlay follow."""
        for row, run in enumerate(self.runs):
            if str(run.path) == path:
                run.notes, run.notes_damaged = notes, None
                self._style_row(row, run)
        box = self.notes_box.run
        if box is not None and str(box.path) == path:  # renamed in the table: the box must not undo it
            box.notes, box.notes_damaged = notes, None
            self.notes_box.name_edit.setText(notes.name)
        self._update_filter_choices()
        self.table.resizeColumnToContents(NAME_COLUMN)
        self.table.resizeColumnToContents(TAGS_COLUMN)
        if not self._comparing and path in {str(run.path) for run in self.selected()}:
            self.compare()

    # --- the selection --------------------------------------------------------------------------------------

    def _show_notice(self, damaged: list[RunSummary]) -> None:
        lines = [f"{run.path.name}: damaged: {run.damaged}" for run in damaged if run.damaged]
        lines += [f"{run.path.name}: {run.notes_damaged}" for run in damaged if run.notes_damaged]
        self.notice.setText("\n".join(lines))
        self.notice.setVisible(bool(lines))

    def tell(self, text: str) -> None:
        """A one-line answer to what the user just did here (Open, Export), where they did it."""
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def selected(self) -> list[RunSummary]:
        """The selected runs a filter shows, in the table's order."""
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.runs[r] for r in rows if r < len(self.runs) and not self.table.isRowHidden(r)]

    def _emit(self, signal, damaged_ok: bool = False) -> None:
        chosen = self.selected()
        if not chosen:
            return
        if chosen[0].damaged and not damaged_ok:
            # nothing to open or try; Resume goes to the command line, which names what it cannot use
            self._show_notice([chosen[0]])
            return
        signal.emit(str(chosen[0].path))

    def open_folder(self) -> None:
        chosen = self.selected()
        if not chosen:
            return
        path = chosen[0].path
        if not path.is_dir():
            self.tell(f"{path}: the run folder is gone; Refresh lists what is left")
        elif not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.resolve()))):
            self.tell(f"no file manager opened {path}")

    def compare(self) -> None:
        """Overlay the selected runs' curves, chart their scores, and show their settings side by side,
        differences first."""
        self._comparing = True
        try:
            self._compare()
        finally:
            self._comparing = False

    def _compare(self) -> None:
        chosen = self.selected()
        self.notes_box.set_run(chosen[0] if len(chosen) == 1 else None)
        self.curves.clear()
        rows_of: dict[str, list] = {}
        for run in chosen:
            if run.damaged:
                continue
            try:
                rows = read_metric_rows(run.path)
            except UserError as exc:
                self._mark_damaged(run, exc)
                continue
            rows_of[run.path.name] = rows
            self.curves.load_rows(run.path.name, rows)
            if run.results and run.results.get("monitor"):
                self.curves.set_monitor(run.results["monitor"])
        self._show_notice([run for run in chosen if run.damaged or run.notes_damaged])
        chosen = [run for run in chosen if not run.damaged]  # the settings diff: the runs it can read
        names = short_names({run.path.name: run.config for run in chosen},
                            {run.path.name: own_name(run.path.name) for run in chosen},
                            {run.path.name: run.notes.name for run in chosen})
        self.curves.set_labels(names)
        self.scalars.set_runs(chosen, names, rows_of, {run.path.name: self.curves.colour(run.path.name) or ""
                                                        for run in chosen})
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

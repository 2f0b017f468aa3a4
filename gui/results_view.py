"""The Training tab's Results: a finished run's scores beside its naive and strong baselines (the best of each
marked), its report (a heat-coloured confusion matrix, a per-tag or per-class table), best epoch, timings,
throughput and verdicts; for a run with no results, why and what to do. What it shows comes from
results_summary.py; this module only lays it out."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFormLayout, QHBoxLayout, QHeaderView, QLabel,
                               QPlainTextEdit, QScrollArea, QSizePolicy, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from suite.errors import UserError

from .flow import FlowLayout
from .results_summary import (MODEL, ConfusionReport, PerNameReport, RawReport, Summary, fmt, summarise_results)

EMPTY = ("No results yet. When a run ends, its test scores appear here beside the baselines', with its "
         "report, best epoch and timings; Open a finished run in the Runs tab (Ctrl+2) to see its own.")
BEST_ALPHA = 70      # the best score's green behind the text: visible on light and dark palettes alike
HEAT_MAX_ALPHA = 235
MAX_TABLE_WIDTH = 900
FACT_TIPS = {
    "throughput": "samples/s as the run recorded it (train_samples_per_second); steps/s computed here from what "
                  "it recorded: global_steps / train_seconds",
    "best epoch": "the epoch of the best validation score in metrics.csv: the one whose checkpoint was kept as best",
    "fit time": "fit_seconds: all of training, validation included; in brackets the time in training steps alone",
}


def _monospace() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def _fit_height(table: QTableWidget) -> None:
    """The whole table, no scroll bar of its own: the panel scrolls as one page."""
    table.resizeColumnsToContents()
    table.resizeRowsToContents()
    # the headers' size hints: their sizes are 0 until the table is first shown
    height = table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
    height += sum(table.rowHeight(r) for r in range(table.rowCount()))
    table.setFixedHeight(height + 2)


def _fit_width(table: QTableWidget) -> None:
    """As wide as its columns: the facts beside it get the rest."""
    width = table.verticalHeader().sizeHint().width() + 2 * table.frameWidth() + 2
    width += sum(table.columnWidth(c) for c in range(table.columnCount()))
    if width > MAX_TABLE_WIDTH:  # a wide one scrolls sideways: room for its scroll bar under the rows
        table.setFixedHeight(table.height() + table.horizontalScrollBar().sizeHint().height())
    table.setFixedWidth(min(width, MAX_TABLE_WIDTH))


def _table(parent: QWidget) -> QTableWidget:
    table = QTableWidget(0, 0, parent)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setFont(_monospace())  # scores line up by their digits
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    return table


def _item(text: str, tip: str = "", align_right: bool = True) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if tip:
        item.setToolTip(tip)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class ResultsView(QScrollArea):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.summary: Summary | None = None
        self.run_dir: str | None = None
        page = QWidget(self)
        layout = QVBoxLayout(page)
        self.message = QLabel(EMPTY, page)  # the empty state, or why a run has no results
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title = QLabel(page)
        self.title.setWordWrap(True)
        bold = self.title.font()
        bold.setBold(True)
        self.title.setFont(bold)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict = QLabel(page)
        self.verdict.setWordWrap(True)
        self.legend = QLabel(page)  # which baselines the columns are
        self.metrics_table = _table(page)
        self.facts = QFormLayout()
        self.facts.setContentsMargins(0, 0, 0, 0)
        self.facts.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.fact_labels: dict[str, QLabel] = {}
        self.report_note = QLabel(page)
        self.report_note.setWordWrap(True)
        self.report_split = QComboBox(page)  # a per-tag report has validation and test
        self.report_split.currentIndexChanged.connect(self._show_split)
        self.report_table = _table(page)
        self.report_text = QPlainTextEdit(page)
        self.report_text.setReadOnly(True)
        self.report_text.setFont(_monospace())
        self.notes = QLabel(page)
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # the facts beside the scores where there is room, under them where there is not (1024 px)
        top = FlowLayout(spacing=12)
        scores = QWidget(page)
        score_layout = QVBoxLayout(scores)
        score_layout.setContentsMargins(0, 0, 0, 0)
        score_layout.addWidget(self.legend)
        score_layout.addWidget(self.metrics_table)
        score_layout.addStretch(1)
        top.addWidget(scores)
        facts = QWidget(page)
        facts.setLayout(self.facts)
        top.addWidget(facts)
        report_head = QHBoxLayout()
        report_head.addWidget(self.report_note, 1)
        report_head.addWidget(self.report_split)
        for widget in (self.message, self.title, self.verdict):
            layout.addWidget(widget)
        layout.addLayout(top)
        layout.addLayout(report_head)
        layout.addWidget(self.report_table)
        layout.addWidget(self.report_text)
        layout.addWidget(self.notes)
        layout.addStretch(1)
        self.setWidget(page)
        self._per_name: PerNameReport | None = None
        self.clear()

    # --- what to show -----------------------------------------------------------------------------------
    def clear(self, text: str = EMPTY) -> None:
        self.summary = None
        self.run_dir = None
        self._say(text)

    def _say(self, text: str) -> None:
        self.verticalScrollBar().setValue(0)
        self.message.setText(text)
        self.message.show()
        for widget in (self.title, self.verdict, self.legend, self.metrics_table, self.facts.parentWidget(),
                       self.report_note,
                       self.report_split, self.report_table, self.report_text, self.notes):
            widget.hide()

    def load(self, run_dir: str, tasks: dict) -> bool:
        """The run folder's results; without any, why and what to do. True when scores are shown."""
        from suite.runs import Run, summarise

        from .run_record import _why_unfinished

        self.run_dir = run_dir
        run = summarise(Run(run_dir))
        if run.damaged:
            self._say(f"The run's files are damaged, so its results cannot be shown: {run.damaged}. Its other "
                      "files are as they were; the Runs tab lists it as damaged.")
            return False
        results = run.results
        if not results:
            why = _why_unfinished(run)
            what = ("Fix what the error names in the settings and run again." if why.startswith("error: ")
                    else "Resume in the Runs tab continues it from its last checkpoint, if it saved one.")
            self._say(f"No results for {run.path}: {why.removeprefix('error: ')}. {what} The Log tab has its "
                      "output.")
            return False
        try:
            rows = Run(run_dir).metric_rows()
        except UserError:  # the scores still show; the best epoch says it is not recorded
            rows = []
        task = tasks.get(run.task)
        max_epochs = ((run.config or {}).get("train") or {}).get("max_epochs")
        summary = summarise_results(results, rows, run_path=str(run.path), task=run.task, status=run.status,
                                    monitor_mode=getattr(task, "monitor_mode", None), max_epochs=max_epochs)
        self.show_summary(summary)
        self.run_dir = run_dir
        return summary.ok

    def show_summary(self, summary: Summary) -> None:
        self.summary = summary
        self.verticalScrollBar().setValue(0)  # a new run's results from their top, not where the last was scrolled
        self.message.hide()
        self.title.setText(summary.title)
        self.title.show()
        self.verdict.setText(summary.verdict)
        self.verdict.setVisible(bool(summary.verdict))
        self._fill_metrics(summary)
        self._fill_facts(summary.facts)
        self._fill_report(summary)
        self.notes.setText("\n".join(summary.notes))
        self.notes.setVisible(bool(summary.notes))
        if not summary.ok:
            self.message.setText("The run recorded no scores (results.json has no metrics): see its log.")
            self.message.show()

    # --- the parts --------------------------------------------------------------------------------------
    def _fill_metrics(self, summary: Summary) -> None:
        table = self.metrics_table
        table.clear()
        columns = [(g, split) for g in summary.groups for split in summary.splits]
        table.setColumnCount(len(columns))
        table.setRowCount(len(summary.metrics))
        # short headers, the baselines named once above: "naive: majority class (neg)" per column was wider
        # than its scores and pushed the strong baseline out of sight
        table.setHorizontalHeaderLabels([f"{g.kind}\n{split}" for g, split in columns])
        self.legend.setText("   ".join(f"{g.kind}: {g.name}" for g in summary.groups if g.kind != MODEL))
        self.legend.setVisible(summary.ok and len(summary.groups) > 1)
        for c, (g, split) in enumerate(columns):
            table.horizontalHeaderItem(c).setToolTip(f"{g.kind} {g.name}, {split} split")
        table.setVerticalHeaderLabels(summary.metrics)
        best = QColor(46, 160, 67, BEST_ALPHA)
        for r, metric in enumerate(summary.metrics):
            for c, (g, split) in enumerate(columns):
                cell = summary.cells[(metric, g.kind, split)]
                item = _item(("★ " if cell.best else "") + cell.text, cell.why)
                if cell.best:
                    font = _monospace()
                    font.setBold(True)
                    item.setFont(font)
                    item.setBackground(QBrush(best))
                table.setItem(r, c, item)
        table.setVisible(summary.ok)
        _fit_height(table)
        _fit_width(table)

    def _fill_facts(self, facts: list[tuple[str, str]]) -> None:
        while self.facts.rowCount():
            self.facts.removeRow(0)
        self.fact_labels = {}
        for label, text in facts:
            value = QLabel(text)
            value.setToolTip(FACT_TIPS.get(label, ""))
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fact_labels[label] = value
            self.facts.addRow(f"{label}:", value)
        self.facts.parentWidget().setVisible(bool(facts))

    def _fill_report(self, summary: Summary) -> None:
        report = summary.report
        self.report_note.setText(summary.report_note)
        self.report_note.show()
        self.report_split.hide()
        self.report_table.hide()
        self.report_text.hide()
        self._per_name = None
        if isinstance(report, ConfusionReport):
            self._confusion(report)
        elif isinstance(report, PerNameReport):
            self._per_name = report
            self.report_split.blockSignals(True)
            self.report_split.clear()
            for split in report.splits:
                self.report_split.addItem("test" if split == "test" else "validation", split)
            self.report_split.setCurrentIndex(0)
            self.report_split.blockSignals(False)
            self.report_split.setVisible(len(report.splits) > 1)
            self._show_split()
        elif isinstance(report, RawReport):
            self.report_text.setPlainText(report.text)
            self.report_text.show()

    def _confusion(self, report: ConfusionReport) -> None:
        """Rows the true class, columns the predicted one, then each class's precision, recall, F1 and support;
        a cell's colour is its share of its true class (so a small class's errors show as plainly as a big one's)."""
        table = self.report_table
        table.clear()
        n = len(report.labels)
        extra = ["precision", "recall", "F1", "support"]
        table.setRowCount(n)
        table.setColumnCount(n + len(extra))
        table.setHorizontalHeaderLabels([f"→ {label}" for label in report.labels] + extra)
        table.setVerticalHeaderLabels(report.labels)
        palette = self.palette()
        hot = palette.color(QPalette.ColorRole.Highlight)
        for r, row in enumerate(report.matrix):
            total = sum(row)
            for c, count in enumerate(row):
                share = count / total if total else 0.0
                item = _item(f"{count:,}", f"{report.rows_title} {report.labels[r]}, {report.columns_title} "
                                           f"{report.labels[c]}: {count:,} ({share:.1%} of {report.labels[r]})")
                colour = QColor(hot)
                colour.setAlpha(round(HEAT_MAX_ALPHA * share))
                item.setBackground(QBrush(colour))
                if share > 0.5:  # on the deep end of the scale the highlight's own text colour reads
                    item.setForeground(QBrush(palette.color(QPalette.ColorRole.HighlightedText)))
                if r == c:
                    font = _monospace()
                    font.setBold(True)
                    item.setFont(font)
                table.setItem(r, c, item)
            label, p, rec, f1, support = report.per_class[r]
            for k, value in enumerate((p, rec, f1)):
                table.setItem(r, n + k, _item(fmt(value) if value is not None else "-"))
            table.setItem(r, n + 3, _item(f"{support:,}"))
        table.show()
        _fit_height(table)
        _fit_width(table)

    def _show_split(self) -> None:
        report = self._per_name
        if report is None:
            return
        split = self.report_split.currentData() or next(iter(report.splits))
        rows = report.splits.get(split, [])
        table = self.report_table
        table.clear()
        table.setRowCount(len(rows))
        table.setColumnCount(len(report.columns))
        table.setHorizontalHeaderLabels(["F1" if k == "f1" else k for k in report.columns])
        table.setVerticalHeaderLabels([name for name, _ in rows])
        worst = min((s.get("f1") for _, s in rows if isinstance(s.get("f1"), (int, float))), default=None)
        for r, (name, scores) in enumerate(rows):
            for c, key in enumerate(report.columns):
                value = scores.get(key)
                text = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else fmt(value)
                table.setItem(r, c, _item(text))
            f1 = scores.get("f1")
            if worst is not None and f1 == worst and len(rows) > 1 and "f1" in report.columns:
                table.item(r, report.columns.index("f1")).setToolTip("the weakest F1 here")
        if report.notes:
            self.report_note.setText(self.report_note.text().split(" [", 1)[0] + " [" + "; ".join(report.notes) + "]")
        table.show()
        _fit_height(table)
        _fit_width(table)

    def report_cell(self, row: int, column: int) -> str:
        item = self.report_table.item(row, column)
        return item.text() if item is not None else ""

    def folder(self) -> Path | None:
        return Path(self.run_dir) if self.run_dir else None

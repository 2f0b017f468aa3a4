"""The Sweeps tab's two tables as Qt models: one row per trial (trials.csv) and one per configuration
(summary.csv: mean ± std over seeds, ranked, the best marked). Sorting goes by each column's value (numbers
as numbers, blanks last), through :class:`SortProxy`; a row is known by its key (the trial number, the
configuration's settings), so a selection can be kept across a refresh."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QFont

from .sweep_files import number

SORT_ROLE = Qt.ItemDataRole.UserRole
KEY_ROLE = Qt.ItemDataRole.UserRole + 1
STATUS_COLOURS = {"FAIL": "#d9534f", "PRUNED": "#9a9a9a", "RUNNING": "#3a8fd9", "WAITING": "#9a9a9a",
                  "LOST": "#d98a1f"}
#: a RUNNING trial of a sweep whose process has ended (killed): it runs again when the sweep is continued
LOST = "LOST"


def short(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}g}"


def mean_std(mean: str, std: str) -> str:
    m, s = number(mean), number(std)
    if m is None:
        return "-"
    return short(m) + (f" ± {s:.2g}" if s is not None else "")


def varied_names(header: list[str], first: str, after: str) -> list[str]:
    """The varied settings' columns: those between ``first`` and ``after`` (see suite/sweeps/outputs.py)."""
    if first not in header or after not in header:
        return []
    return header[header.index(first) + 1:header.index(after)]


def metric_of(header: list[str]) -> str:
    """The objective's name (mse) from the column val_<name>[_mean]."""
    for column in header:
        if column.startswith("val_"):
            return column[4:].removesuffix("_mean")
    return ""


class Column:
    def __init__(self, title: str, text, key=None, tip: str = ""):
        self.title, self.text, self.key, self.tip = title, text, key, tip


def _sort_key(value: Any) -> tuple:
    """Blanks last; numbers before text; numbers by value."""
    if value is None or value == "":
        return (2, 0.0, "")
    if isinstance(value, (int, float)):
        return (0, float(value), "")
    found = number(str(value))
    return (0, found, "") if found is not None else (1, 0.0, str(value).lower())


class RowsModel(QAbstractTableModel):
    """Rows of CSV records shown through ``columns``; ``key(record)`` names a row across refreshes."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.columns: list[Column] = []
        self.records: list[dict[str, str]] = []

    def columns_for(self, header: list[str]) -> list[Column]:
        raise NotImplementedError

    def key(self, record: dict[str, str]) -> str:
        raise NotImplementedError

    def set_rows(self, header: list[str], records: list[dict[str, str]]) -> bool:
        """Show these rows; True when the columns changed (the view may size them again)."""
        columns = self.columns_for(header) if header else []  # no file yet: no columns to guess
        changed = [c.title for c in columns] != [c.title for c in self.columns]
        self.beginResetModel()
        self.columns, self.records = columns, list(records)
        self.endResetModel()
        return changed

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            column = self.columns[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return column.title
            if role == Qt.ItemDataRole.ToolTipRole and column.tip:
                return column.tip
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        record, column = self.records[index.row()], self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(record)
        if role == SORT_ROLE:
            return column.key(record) if column.key else column.text(record)
        if role == KEY_ROLE:
            return self.key(record)
        return self.style(record, column, role)

    def style(self, record: dict[str, str], column: Column, role) -> Any:
        return None


class TrialsModel(RowsModel):
    """trials.csv: number, the varied settings, seed, status, the objective, ... While ``live`` is false (the
    sweep's process has ended), a trial still RUNNING in the file is shown as LOST."""

    live = True

    def status(self, record: dict[str, str]) -> str:
        status = record.get("status", "")
        return LOST if status == "RUNNING" and not self.live else status

    def set_live(self, live: bool) -> None:
        if live != self.live:
            self.live = live
            if self.records:
                self.dataChanged.emit(self.index(0, 0), self.index(len(self.records) - 1, len(self.columns) - 1))

    def columns_for(self, header: list[str]) -> list[Column]:
        metric = metric_of(header)
        columns = [Column("#", lambda r: r.get("number", ""), lambda r: number(r.get("number", "")),
                          "the trial's number in the study")]
        for name in varied_names(header, "number", "seed"):
            columns.append(Column(name, lambda r, n=name: r.get(n, "")))
        columns += [
            Column("seed", lambda r: r.get("seed", ""), lambda r: number(r.get("seed", ""))),
            Column("status", self.status),
            Column(f"val {metric}", lambda r: short(number(r.get(f"val_{metric}", ""))),
                   lambda r: number(r.get(f"val_{metric}", "")), "the best checkpoint's validation metric"),
            Column(f"test {metric}", lambda r: short(number(r.get(f"test_{metric}", ""))),
                   lambda r: number(r.get(f"test_{metric}", ""))),
            Column("epochs", lambda r: r.get("epochs", ""), lambda r: number(r.get("epochs", ""))),
            Column("seconds", lambda r: short(number(r.get("fit_seconds", "")), 3),
                   lambda r: number(r.get("fit_seconds", "")), "training time"),
            Column("parameters", lambda r: f"{int(p):,}" if (p := number(r.get("parameters", ""))) is not None else "",
                   lambda r: number(r.get("parameters", ""))),
            Column("error", lambda r: r.get("error", "")),
        ]
        return columns

    def key(self, record: dict[str, str]) -> str:
        return record.get("number", "")

    def style(self, record, column, role):
        status = self.status(record)
        if role == Qt.ItemDataRole.ForegroundRole and status in STATUS_COLOURS and column.title in ("status", "error"):
            return QColor(STATUS_COLOURS[status])
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"trial {record.get('number')}: {status}"]
            if status == LOST:
                lines.append("its sweep ended before it did (killed); Continue runs it again")
            if record.get("retry_of"):
                lines.append(f"a retry of trial {record['retry_of']}")
            if record.get("run_dir"):
                lines.append(f"run: {record['run_dir']} (double-click to open it)")
            if record.get("error"):
                lines.append(record["error"])
            return "\n".join(lines)
        return None

    def run_dir(self, row: int) -> str:
        return self.records[row].get("run_dir", "") if 0 <= row < len(self.records) else ""


class SummaryModel(RowsModel):
    """summary.csv: one row per configuration, ranked by the mean objective; the best bold and starred."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.names: list[str] = []  # the varied settings' columns

    def columns_for(self, header: list[str]) -> list[Column]:
        metric = metric_of(header)
        self.names = varied_names(header, "best", "n")
        columns = [Column("rank", lambda r: (r.get("rank", "") or "-") + (" ★" if r.get("best") else ""),
                          lambda r: number(r.get("rank", "")), "ranked by the mean validation metric; ★ the best")]
        for name in self.names:
            columns.append(Column(name, lambda r, n=name: r.get(n, "")))
        columns += [
            Column("n", lambda r: r.get("n", ""), lambda r: number(r.get("n", "")), "complete trials (seeds)"),
            Column(f"val {metric}",
                   lambda r: mean_std(r.get(f"val_{metric}_mean", ""), r.get(f"val_{metric}_std", "")),
                   lambda r: number(r.get(f"val_{metric}_mean", "")), "mean ± standard deviation over the seeds"),
            Column(f"test {metric}",
                   lambda r: mean_std(r.get(f"test_{metric}_mean", ""), r.get(f"test_{metric}_std", "")),
                   lambda r: number(r.get(f"test_{metric}_mean", "")), "mean ± standard deviation over the seeds"),
            Column("parameters", lambda r: f"{int(p):,}" if (p := number(r.get("parameters", ""))) is not None else "",
                   lambda r: number(r.get("parameters", ""))),
            Column("failed", lambda r: r.get("failed", "") if r.get("failed") not in ("", "0") else "",
                   lambda r: number(r.get("failed", ""))),
            Column("pruned", lambda r: r.get("pruned", "") if r.get("pruned") not in ("", "0") else "",
                   lambda r: number(r.get("pruned", ""))),
        ]
        return columns

    def key(self, record: dict[str, str]) -> str:
        return "\x1f".join(record.get(n, "") for n in self.names)  # its settings

    def trials(self, row: int) -> list[int]:
        """The trial numbers of the configuration in ``row``."""
        if not 0 <= row < len(self.records):
            return []
        return [int(t) for t in self.records[row].get("trials", "").split() if t.isdigit()]

    def style(self, record, column, role):
        if role == Qt.ItemDataRole.FontRole and record.get("best"):
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"trials {record.get('trials', '')}"
        return None


class SortProxy(QSortFilterProxyModel):
    """Sorts by :data:`SORT_ROLE`: numbers as numbers, blanks last."""

    def lessThan(self, left, right) -> bool:
        return _sort_key(left.data(SORT_ROLE)) < _sort_key(right.data(SORT_ROLE))

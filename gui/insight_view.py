"""The Insight tab: inside the training of the run selected in the Runs tab, or of two side by side.

Per run: the verdicts as banners, the gradient ratio per layer, the heat map of ||dL/dh_t|| over time step and
training step, the gates, the clipping rate and the gradient norm over training (docs/INSIGHT.md). Two runs
share the heat map's colour scale, so a tanh RNN's vanished gradient reads against an LSTM's at a glance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFrame, QGridLayout, QHBoxLayout, QLabel, QScrollArea, QStackedWidget,
                               QVBoxLayout, QWidget)

from suite.insight.store import FILE_NAME
from suite.runs import RunSummary

from .insight_data import Insight, load, log_range
from .insight_plots import HeatMap, TrainingPlots, norm_range
from .names import own_name, short_names
from .verdict_banner import VerdictBanner
from .wheel import guard_wheel

SHOWN = 2  # runs side by side: more make every plot too narrow to read
NONE_SELECTED = ("Select a run in the Runs tab (Ctrl+2) to look inside its training: how far the gradient "
                 "reaches back through the time steps, what the gates did, how often clipping acted, and the "
                 "verdicts. Select two (Ctrl+click) to set them side by side, an RNN beside an LSTM.")
COLUMN_MIN_WIDTH = 300


def _fmt(value) -> str:
    if not isinstance(value, (int, float)):
        return "n/a"
    return f"{value:.3g}" if value == 0 or abs(value) >= 1e-3 else f"{value:.2e}"


def _stamp(run: RunSummary) -> tuple:
    """What the view shows of a run changes only with these files."""
    files = [run.path / FILE_NAME, run.path / "results.json"]
    return (str(run.path), *(f.stat().st_mtime_ns if f.is_file() else None for f in files))


class RunInsight:
    """One run's column, laid into ``grid`` at ``column``: each part on the row of the same part of the run
    beside it, so the two heat maps and the plots under them line up whatever the banners above them take."""

    ROWS = ("title", "banners", "summary", "layer", "heat", "plots")

    def __init__(self, run: RunSummary, name: str, grid: QGridLayout, column: int, parent: QWidget):
        self.run = run
        self.parent = parent
        self.title = QLabel(f"<b>{name}</b>", parent)
        self.title.setToolTip(str(run.path))
        self.title.setMinimumWidth(COLUMN_MIN_WIDTH)
        self.insight: Insight = (Insight(run.path, missing=f"{run.path.name} is damaged: {run.damaged}")
                                 if run.damaged else load(run.path, run.results, run.config))
        box = QWidget(parent)
        stack = QVBoxLayout(box)
        stack.setContentsMargins(0, 0, 0, 0)
        self.banners = [VerdictBanner(v, box) for v in self.insight.verdicts]
        for banner in self.banners:
            stack.addWidget(banner)
        self.heat: HeatMap | None = None
        self.plots: TrainingPlots | None = None
        self.layer_box: QComboBox | None = None
        self.summary = QLabel(parent)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        parts: dict[str, QWidget] = {"title": self.title, "banners": box, "summary": self.summary}
        if self.insight.missing:
            self.summary.setText(self.insight.missing)
            self.summary.setStyleSheet("color: gray; padding: 12px;")
        else:
            self._build(parts)
        for row, key in enumerate(self.ROWS):
            if key in parts:
                grid.addWidget(parts[key], row, column)

    def _build(self, parts: dict[str, QWidget]) -> None:
        parent = self.parent
        self.summary.setText(self._summary_text())
        if not self.insight.layers:
            why = "; ".join(self.insight.notes) or "no recurrent layer was traced"
            parts["heat"] = self._grey(f"no ||dL/dh_t|| curve in these records: {why}")
        else:
            row = QWidget(parent)
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            self.layer_box = QComboBox(row)
            self.layer_box.addItems(list(self.insight.layers))
            self.layer_box.setToolTip("the layer and direction whose curve and gates are shown")
            # one layer: nothing to choose, but its name still says what is shown
            self.layer_box.setEnabled(len(self.insight.layers) > 1)
            guard_wheel(self.layer_box)  # scrolling the page past it must not change the layer
            line.addWidget(QLabel("layer", row))
            line.addWidget(self.layer_box, 1)
            parts["layer"] = row
            self.heat = parts["heat"] = HeatMap(parent)
        self.plots = parts["plots"] = TrainingPlots(parent)
        self.plots.set_training(self.insight)
        self._levels: tuple[float, float] | None = log_range(list(self.insight.layers.values()))
        if self.layer_box is not None:
            self.layer_box.currentTextChanged.connect(self._show_layer)
            self._show_layer(self.layer_box.currentText())

    def _grey(self, text: str) -> QLabel:
        label = QLabel(text, self.parent)
        label.setWordWrap(True)
        label.setStyleSheet("color: gray;")
        return label

    def _summary_text(self) -> str:
        found = self.insight
        ratios = ", ".join(f"{name} {_fmt(value)}" + (" (none reaches the first step)" if value == 0 else "")
                           for name, value in found.gradient_ratio.items())
        parts = []
        if ratios:
            parts.append(f"gradient ratio ||dL/dh_1|| / ||dL/dh_T||, the share of the gradient at a sequence's "
                         f"end left at its start: {ratios}")
        if found.clipping_rate is not None:
            parts.append(f"clipping acted on {found.clipping_rate:.0%} of steps")
        if not found.verdicts:
            parts.append("no verdict: nothing in the history looked wrong" if (self.run.results or {}).get("diagnostics")
                         else "no verdicts yet: they are judged when the run ends")
        parts += [f"note: {note}" for note in found.notes]
        return "\n".join(parts)

    def _show_layer(self, name: str) -> None:
        layer = self.insight.layers.get(name)
        if layer is None:
            return
        self.heat.set_map(layer, self._levels or (-1.0, 0.0))
        self.plots.set_gates(self.insight, name)

    def set_levels(self, levels: tuple[float, float] | None) -> None:
        """The heat map's colour scale (log10), shared with the run beside it."""
        if levels is None:
            return
        self._levels = levels
        if self.heat is not None:
            self.heat.set_levels(levels)


class InsightView(QWidget):
    def __init__(self, selected: Callable[[], list[RunSummary]], parent: QWidget | None = None):
        super().__init__(parent)
        self.selected = selected
        self.columns: list[RunInsight] = []
        self._shown: tuple = ()
        self._stale = True
        self.notice = QLabel(self)
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.hint = QLabel(NONE_SELECTED, self)
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setStyleSheet("color: gray; font-size: 11pt; padding: 24px;")
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.hint)
        self.pages.addWidget(self.scroll)
        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addWidget(self.pages, 1)

    def selection_changed(self) -> None:
        """The Runs tab's selection moved: shown now if this tab is in front, else when it comes to the front."""
        self._stale = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()  # a run may have ended, or been deleted, since: cheap when nothing changed

    def refresh(self) -> None:
        chosen = self.selected()
        shown = [run for run in chosen[:SHOWN] if run.path.exists()]
        stamp = tuple(_stamp(run) for run in shown)
        if stamp == self._shown and not self._stale:
            return
        self._stale = False
        self._shown = stamp
        more = len(chosen) - SHOWN
        self.notice.setText(f"{len(chosen)} runs are selected: the first {SHOWN} are shown side by side "
                            f"({more} more not shown); select two in the Runs tab to compare them."
                            if more > 0 else "")
        self.notice.setVisible(more > 0)
        self.columns = []  # their widgets go with the body the scroll area replaces
        if not shown:
            old = self.scroll.takeWidget()
            if old is not None:
                old.deleteLater()
            self.pages.setCurrentWidget(self.hint)
            return
        names = short_names({run.path.name: run.config or {} for run in shown},
                            {run.path.name: own_name(run.path.name) for run in shown})
        body = QWidget()
        grid = QGridLayout(body)
        grid.setContentsMargins(4, 4, 4, 4)
        for col, run in enumerate(shown):
            name = names[run.path.name]
            title = name if name == own_name(run.path.name) else f"{name}  ({own_name(run.path.name)})"
            self.columns.append(RunInsight(run, title, grid, col, body))
            grid.setColumnStretch(col, 1)
        grid.setRowStretch(len(RunInsight.ROWS), 1)  # short columns keep to the top
        levels = log_range([m for column in self.columns for m in column.insight.layers.values()])
        for column in self.columns:
            column.set_levels(levels)
        norms = [column.plots.norm for column in self.columns if column.plots is not None]
        for other in norms[1:]:  # one gradient-norm scale too: the two runs' norms compare by height
            other.setYLink(norms[0])
        span = norm_range([column.insight for column in self.columns])
        if len(norms) > 1 and span is not None:  # a linked view's auto-range sees only its own curves
            norms[0].setYRange(*span, padding=0.05)
        self.scroll.setWidget(body)
        self.pages.setCurrentWidget(self.scroll)

    def runs(self) -> list[Path]:
        return [column.run.path for column in self.columns]

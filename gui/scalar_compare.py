"""The Runs tab's scalar comparison: the selected runs' score as bars, or their differing settings as
parallel coordinates coloured by the score. The numbers come from scalar_values.py."""

from __future__ import annotations

from typing import Mapping, Sequence

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QButtonGroup, QComboBox, QLabel, QRadioButton, QStackedWidget, QVBoxLayout, QWidget

from suite.runs import RunSummary

from .curves import PALETTE
from .flow import FlowLayout, group
from .names import elide
from .runs_filter import data_label
from .scalar_values import Axis, Score, metric_names, parallel_axes, score
from .sweep_plots import _Plot, _colours

VIEWS = ("bars", "parallel coordinates")
COLOUR_MAP = "viridis"  # perceptually even; its palest yellow end is left out: unreadable on a light canvas
COLOUR_SPAN = 0.85
TICK_CHARS = 18
LEGEND_ROWS = 6  # runs listed in one column up to this many; more take two


def colour_span(background) -> tuple[float, float]:
    """The part of the colour map (start, span) that stands out on ``background``: viridis's darkest purple
    vanishes on a dark canvas, its palest yellow on a light one."""
    return (0.3, 0.7) if pg.mkColor(background).lightness() < 128 else (0.0, COLOUR_SPAN)


def _monitor(task: str) -> tuple[str, str]:
    """The task's monitored metric and how it improves (min or max); an unknown task's: "", min."""
    try:
        from suite.registry import get_task

        found = get_task(task)
        return found.monitor, found.monitor_mode
    except Exception:  # a run of a plugin no longer installed still shows
        return "", "min"


class ScalarCompare(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.metric_combo = QComboBox(self)
        self.metric_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.metric_combo.setToolTip("the score compared: each run's test score, or its best epoch's "
                                     "validation score where it has none")
        self.view_buttons = QButtonGroup(self)
        radios = []
        for i, view in enumerate(VIEWS):
            radio = QRadioButton(view, self)
            radio.setChecked(i == 0)
            self.view_buttons.addButton(radio, i)
            radios.append(radio)
        bar = FlowLayout()
        bar.addWidget(group(QLabel("Metric:"), self.metric_combo, parent=self))
        bar.addWidget(group(*radios, parent=self))
        self.bars = _Plot("", self)
        self.bars.plot.showGrid(x=False, y=True, alpha=0.3)
        self.bars.plot.vb.sigResized.connect(self._fit_bar_ticks)
        self._bar_labels: list[str] = []
        self.parallel = _Plot("", self)
        self.parallel.plot.showGrid(x=False, y=False)
        self.parallel.plot.hideAxis("left")
        self.hint = QLabel("Select runs in the list above to compare their scores and settings.", self)
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setStyleSheet("color: gray; padding: 12px;")
        self.pages = QStackedWidget(self)
        for page in (self.hint, self.bars, self.parallel):
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.pages, 1)

        self._runs: list[RunSummary] = []
        self._labels: dict[str, str] = {}
        self._rows: dict[str, list] = {}
        self._colours: dict[str, str] = {}
        #: what is drawn, for tests and read-outs: (label, score) per run, and the parallel axes
        self.shown_scores: list[tuple[str, Score]] = []
        self.axes: list[Axis] = []
        self.metric_combo.currentTextChanged.connect(self.draw)
        self.view_buttons.idClicked.connect(self.draw)

    def set_runs(self, runs: Sequence[RunSummary], labels: Mapping[str, str],
                 rows: Mapping[str, list] | None = None, colours: Mapping[str, str] | None = None) -> None:
        """The runs to compare (keys of ``labels``, ``rows`` and ``colours``: the runs' folder names)."""
        self._runs, self._labels = list(runs), dict(labels)
        self._rows, self._colours = dict(rows or {}), dict(colours or {})
        names = metric_names(self._runs, self._rows)
        current = self.metric_combo.currentText()
        self.metric_combo.blockSignals(True)
        self.metric_combo.clear()
        self.metric_combo.addItems(names)
        if current in names:  # the user's pick stays while the selection changes
            self.metric_combo.setCurrentText(current)
        self.metric_combo.blockSignals(False)
        self.draw()

    def set_metric(self, name: str) -> None:
        self.metric_combo.setCurrentText(name)

    def set_view(self, view: str) -> None:
        self.view_buttons.button(VIEWS.index(view)).setChecked(True)
        self.draw()

    @property
    def view(self) -> str:
        return VIEWS[max(0, self.view_buttons.checkedId())]

    def _scores(self, metric: str) -> list[Score]:
        scores = []
        for run in self._runs:
            monitor, mode = _monitor(run.task)
            scores.append(score(run, metric, self._rows.get(run.path.name, ()), mode, monitor))
        return scores

    def draw(self, *_) -> None:
        metric = self.metric_combo.currentText()
        if not self._runs or not metric:
            self.hint.setText("Select runs in the list above to compare their scores and settings."
                              if not self._runs else "The selected runs have no scores yet (none has finished "
                              "an epoch of validation).")
            self.pages.setCurrentWidget(self.hint)
            self.shown_scores, self.axes = [], []
            return
        scores = self._scores(metric)
        self.shown_scores = [(self._labels.get(run.path.name, run.path.name), s) for run, s in zip(self._runs, scores)]
        if self.view == "bars":
            self._draw_bars(metric, scores)
        else:
            self._draw_parallel(metric, scores)

    def _colour(self, i: int, run: RunSummary) -> str:
        return self._colours.get(run.path.name) or PALETTE[i % len(PALETTE)]

    def _title(self, metric: str, scores: list[Score]) -> str:
        splits = {s.split for s in scores if s.value is not None}
        if splits == {"test"}:
            return f"test {metric}"
        if splits == {"val"}:
            return f"val {metric} (best epoch)"
        return f"test {metric} (else best val)"

    def _draw_bars(self, metric: str, scores: list[Score]) -> None:
        self.pages.setCurrentWidget(self.bars)
        target = self.bars
        target.clear()
        _background, foreground = _colours()
        target.plot.setTitle(self._title(metric, scores), size="10pt", color=foreground)
        self._bar_labels = []
        for i, (run, s) in enumerate(zip(self._runs, scores)):
            label = self._labels.get(run.path.name, run.path.name)
            self._bar_labels.append(label + ("" if s.value is not None else ", (no score)"))
            if s.value is None:
                continue
            colour = self._colour(i, run)
            item = pg.BarGraphItem(x=[i], height=[s.value], width=0.6, brush=colour, pen=None)
            target.plot.addItem(item)
            text = pg.TextItem(f"{s.value:.4g}" + (" (val)" if s.split == "val" else ""), color=foreground,
                               anchor=(0.5, 1.0 if s.value >= 0 else 0.0))
            text.setPos(i, s.value)
            target.plot.addItem(text)
        self._fit_bar_ticks()
        values = [s.value for s in scores if s.value is not None]
        low, high = min(values + [0.0]), max(values + [0.0])
        span = (high - low) or 1.0
        target.plot.setXRange(-0.6, len(scores) - 0.4, padding=0)
        target.plot.setYRange(low - 0.08 * span * (low < 0), high + 0.12 * span, padding=0)
        target.plot.setLabel("left", metric)

    def _fit_bar_ticks(self, *_) -> None:
        """Each bar's name under it, a part of the name ("gru", "hidden 64") a line, each line cut to the
        bar's share of the width: side by side, whole names ran into each other."""
        axis = self.bars.plot.getAxis("bottom")
        if not self._bar_labels:
            axis.setTicks([[], []])
            return
        metrics = QFontMetrics(axis.style.get("tickFont") or self.font())
        room = max(30, int(self.bars.plot.vb.width() / len(self._bar_labels)) - 6)
        ticks = []
        for i, label in enumerate(self._bar_labels):
            lines = [metrics.elidedText(part, Qt.TextElideMode.ElideMiddle, room) for part in label.split(", ")]
            ticks.append((i, "\n".join(lines)))
        rows = max(label.count(", ") + 1 for label in self._bar_labels)
        axis.setHeight(metrics.height() * rows + 12)
        axis.setTicks([ticks, []])

    def _draw_parallel(self, metric: str, scores: list[Score]) -> None:
        self.pages.setCurrentWidget(self.parallel)
        target = self.parallel
        target.clear()
        _background, foreground = _colours()
        values = [s.value for s in scores]
        self.axes = axes = parallel_axes([run.config for run in self._runs], values, metric)
        # short: the title's width is the plot's least width, and a longer one pushed the last axis out of view
        what = ("colour" if len(axes) > 1 else "one run: select several" if len(self._runs) == 1
                else "no settings differ; colour")
        target.plot.setTitle(f"{what}: {self._title(metric, scores)}", size="10pt", color=foreground)
        target.legend.setColumnCount(1 if len(self._runs) <= LEGEND_ROWS else 2)
        cmap = pg.colormap.get(COLOUR_MAP).getSubset(*colour_span(_background))
        faint = pg.mkColor(foreground)
        faint.setAlpha(110)
        for i, ax in enumerate(axes):
            target.plot.addItem(pg.InfiniteLine(pos=i, angle=90, movable=False, pen=pg.mkPen(faint, width=1)))
            for position, label in ax.ticks:
                shown = data_label(label) if ax.key.endswith(".data") else label  # a path by its file's name
                tick = pg.TextItem(elide(shown, TICK_CHARS), color=foreground, anchor=(0.0, 0.5))
                tick.setToolTip(label)
                tick.setPos(i + 0.04, position)
                target.plot.addItem(tick)
        # a run's colour is where it lies on the metric's axis (the last), in log10 when that axis is
        for i, (run, value) in enumerate(zip(self._runs, values)):
            xs = [k for k, ax in enumerate(axes) if ax.positions[i] is not None]
            ys = [axes[k].positions[i] for k in xs]
            at = axes[-1].positions[i]
            colour = faint if at is None else cmap.map(at, mode="qcolor")
            item = pg.PlotDataItem(xs, ys, pen=pg.mkPen(colour, width=2.5), symbol="o", symbolSize=6,
                                   symbolBrush=colour, symbolPen=None)
            target.plot.addItem(item)
            label = self._labels.get(run.path.name, run.path.name)
            target.add_legend(item, f"{label}: {value:.4g}" if value is not None else f"{label}: no score")
        target.plot.getAxis("bottom").setTicks([[(i, elide(ax.key.split(".", 1)[-1], TICK_CHARS))
                                                 for i, ax in enumerate(axes)], []])
        target.plot.setXRange(-0.2, max(len(axes) - 1, 0) + 0.6, padding=0)
        target.plot.setYRange(-0.08, 1.08, padding=0)

"""The Sweeps tab's plots (pyqtgraph): the objective against a varied setting with one standard deviation over
the seeds as error bars; every trial's learning curve overlaid (running ones as they train); and, for a
search, the optimisation history (each trial's objective and the best so far).

Legends sit below their plots, never over the curves, in the palette's text colour. Drawing happens only
when the panel hands over new data (about once a second while a sweep runs), and costs milliseconds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .curves import PALETTE
from .sweep_files import number
from .theme import plot_colours

BEST_COLOUR = "#e6a700"
LOG_RATIO = 30.0  # values spanning this ratio or more (all above 0) get a log axis, as the sweep's PNGs do


def _colours() -> tuple[Any, Any]:
    app = QApplication.instance()
    return plot_colours(app.palette())


def short(text: str) -> str:
    """A setting's value as a label: numbers to 4 significant digits (0.000846801 -> 0.0008468)."""
    value = number(text)
    if value is None or text.lstrip("-").isdigit():
        return text
    return f"{value:.4g}"


def positions(values: list[str], label_each: bool = True,
              log: bool = False) -> tuple[list[float], list[tuple[float, str]] | None, str]:
    """Where each value of a setting goes on the x axis: (positions, ticks or None, how). Numbers by value (on
    log10 when they span 100x or more, or ``log``: a search's log range), anything else in the order given.
    Each value gets a tick of its own when ``label_each`` (a grid's few values) and there are at most 8;
    otherwise decades, or the axis's own."""
    nums = [number(v) for v in values]
    distinct = list(dict.fromkeys(values))
    each = label_each and len(distinct) <= 8
    if values and all(n is not None for n in nums):
        low, high = min(nums), max(nums)
        if low > 0 and (log or high / low >= 100):
            xs = [math.log10(n) for n in nums]
            if each:
                ticks = [(math.log10(number(v)), short(v)) for v in distinct]
            else:
                ticks = [(k, f"{10.0 ** k:g}") for k in range(math.floor(min(xs)), math.ceil(max(xs)) + 1)]
            return xs, ticks, "log"
        ticks = [(number(v), short(v)) for v in distinct] if each else None
        return nums, ticks, "linear"
    index = {v: i for i, v in enumerate(distinct)}
    return [float(index[v]) for v in values], [(float(i), v) for i, v in enumerate(distinct)], "category"


def determined(rows: list[dict[str, str]], by: str, other: str) -> bool:
    """Whether each value of ``by`` goes with a single value of ``other`` in ``rows``."""
    seen: dict[str, str] = {}
    return all(seen.setdefault(r.get(by, ""), r.get(other, "")) == r.get(other, "") for r in rows)


def y_range(lows: list[float], highs: list[float], floor: float | None = None) -> tuple[float, float]:
    """A y range around the bars with some room, not below ``floor`` (a metric that is never negative); one
    point alone is shown in the middle of a range a fifth of its size, not of ±0.5."""
    low, high = min(lows), max(highs)
    span = high - low or abs(high) * 0.2 or 1.0
    low, high = low - 0.15 * span, high + 0.15 * span
    if floor is not None and low < floor:
        low = floor
    return low, high


class _Plot(QWidget):
    """A plot with its legend underneath."""

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget(self)
        self.plot = self.view.addPlot(row=0, col=0)
        self.plot.setTitle(title, size="10pt")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.setMenuEnabled(False, None)
        self.plot.getAxis("left").setWidth(64)
        for side in ("left", "bottom"):  # "val mse (x1e-06)" with ticks 400..700 reads worse than 0.0004
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.legend = pg.LegendItem(colCount=2, offset=None)
        self.view.addItem(self.legend, row=1, col=0)
        self.view.ci.layout.setRowStretchFactor(0, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.recolour()

    def recolour(self) -> None:
        background, foreground = _colours()
        self.view.setBackground(background)
        for side in ("left", "bottom"):
            axis = self.plot.getAxis(side)
            axis.setPen(foreground)
            axis.setTextPen(foreground)
        self.plot.titleLabel.setText(self.plot.titleLabel.text, color=foreground, size="10pt")
        self.legend.setLabelTextColor(foreground)
        self.legend.setBrush(None)
        self.legend.setPen(None)

    def clear(self) -> None:
        self.plot.clear()
        self.legend.clear()

    def add_legend(self, item: Any, name: str) -> None:
        self.legend.addItem(item, name)
        _, foreground = _colours()
        for _sample, label in self.legend.items:  # entries added later take the colour too
            label.setText(label.text, color=foreground)


class SweepPlots(QWidget):
    """Three plots side by side; the history only for a search."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.by_setting = _Plot("val by setting")
        self.curves = _Plot("learning curves")
        self.history = _Plot("optimisation history")
        self.x_combo = QComboBox(self)
        self.x_combo.setToolTip("the setting on the x axis of the first plot")
        self.x_combo.currentTextChanged.connect(lambda _text: self._draw_by_setting())
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(QLabel("Metric against:", self))
        bar.addWidget(self.x_combo)
        bar.addStretch(1)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for plot in (self.by_setting, self.curves, self.history):
            row.addWidget(plot, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addLayout(row, 1)
        self.history.hide()
        self.metric, self.mode, self.direction = "", "grid", "minimize"
        self.names: list[str] = []
        self.log_x: set[str] = set()  # settings a search samples on a log scale
        self.trials: list[dict[str, str]] = []
        self.summary: list[dict[str, str]] = []
        self.trial_curves: dict[int, tuple[list[int], list[float]]] = {}
        self.highlighted: set[int] = set()
        self.draws = 0  # how often the plots were drawn (tests check it follows the data, not the clock)

    # --- data -------------------------------------------------------------------------------------------
    def set_data(self, *, metric: str, mode: str, direction: str, names: list[str], trials: list[dict[str, str]],
                 summary: list[dict[str, str]], curves: dict[int, tuple[list[int], list[float]]],
                 log_x: set[str] = frozenset()) -> None:
        self.metric, self.mode, self.direction = metric, mode, direction
        self.log_x = set(log_x)
        self.trials, self.summary, self.trial_curves = trials, summary, curves
        if names != self.names:
            self.names = list(names)
            current = self.x_combo.currentText()
            self.x_combo.blockSignals(True)
            self.x_combo.clear()
            self.x_combo.addItems(self.names)
            if current in self.names:
                self.x_combo.setCurrentText(current)
            self.x_combo.blockSignals(False)
        self.history.setVisible(mode == "search")
        self.draw()

    def highlight(self, numbers: set[int]) -> None:
        """Draw these trials' learning curves bold (and the others faint); an empty set: all alike."""
        if numbers != self.highlighted:
            self.highlighted = set(numbers)
            self._draw_curves()

    def clear(self) -> None:
        self.set_data(metric="", mode="grid", direction="minimize", names=[], trials=[], summary=[], curves={})

    def recolour(self) -> None:
        for plot in (self.by_setting, self.curves, self.history):
            plot.recolour()
        self.draw()

    def draw(self) -> None:
        self._draw_by_setting()
        self._draw_curves()
        if self.mode == "search":
            self._draw_history()
        self.draws += 1

    # --- the objective against a setting ----------------------------------------------------------------
    def _draw_by_setting(self) -> None:
        target = self.by_setting
        target.clear()
        name = self.x_combo.currentText()
        metric = self.metric
        mean_key, std_key = f"val_{metric}_mean", f"val_{metric}_std"
        done = [r for r in self.summary if number(r.get(mean_key, "")) is not None and name in r]
        title = f"val {metric} by {name}" if name else "val by setting"
        target.plot.setTitle(title if done or not name else f"{title} (no trial complete yet)", size="10pt")
        target.plot.setLabel("left", f"val {metric}" if metric else "")
        target.plot.setLabel("bottom", f"{name}  (mean ± std over seeds)" if name else "")
        if not done:
            target.plot.getAxis("bottom").setTicks(None)
            return
        order = list(dict.fromkeys(t.get(name, "") for t in self.trials if t.get(name, "") != ""))
        values = sorted({r[name] for r in done}, key=lambda v: order.index(v) if v in order else len(order))
        xs_all, ticks, how = positions(values, label_each=self.mode == "grid", log=name in self.log_x)
        where = dict(zip(values, xs_all))
        target.plot.getAxis("bottom").setTicks([ticks] if ticks else None)
        # the other settings a line each, unless ``name`` decides them (cell decides the hidden size
        # --equal-params gave it): then one series, each point in its configuration's colour
        others = [n for n in self.names if n != name and not determined(done, name, n)] if self.mode == "grid" else []
        groups: dict[str, list[dict[str, str]]] = {}
        for r in done:
            groups.setdefault(" ".join(f"{n}={r.get(n, '')}" for n in others), []).append(r)
        connect = self.mode == "grid" and how != "category"
        span = (max(xs_all) - min(xs_all)) or 1.0
        means = [number(r[mean_key]) for r in done]
        spreads = [number(r.get(std_key, "")) or 0.0 for r in done]
        log = min(means) > 0 and max(means) / min(means) >= LOG_RATIO
        target.plot.setLogMode(x=False, y=log)  # the points follow it; the bars are given in log10 below
        starred = None
        for i, (label, members) in enumerate(groups.items()):
            members.sort(key=lambda r: where[r[name]])
            xs = np.array([where[r[name]] for r in members], dtype=float)
            ys = np.array([number(r[mean_key]) for r in members], dtype=float)
            errs = np.array([number(r.get(std_key, "")) or 0.0 for r in members], dtype=float)
            if log:
                top, bottom = np.log10(ys + errs) - np.log10(ys), np.log10(ys) - np.log10(np.maximum(ys - errs, ys / 100))
                bar_ys = np.log10(ys)
            else:
                top, bottom, bar_ys = errs, errs, ys
            if len(groups) > 1:  # side by side, so that bars at one value do not hide each other
                width = span / max(8, 4 * len(set(xs_all)))
                xs = xs + (i - (len(groups) - 1) / 2) * width / max(1, len(groups) - 1)
            colour = PALETTE[i % len(PALETTE)]
            single = len(groups) == 1
            brushes = [self.colour(self._configuration(r)) if single else colour for r in members]
            bars = pg.ErrorBarItem(x=xs, y=bar_ys, top=top, bottom=bottom, beam=0.08 if how == "category" else span / 40,
                                   pen=pg.mkPen(PALETTE[7] if single else colour, width=1.5))
            target.plot.addItem(bars)
            points = target.plot.plot(xs, ys, pen=pg.mkPen(colour, width=1.5) if connect and not single else None,
                                      symbol="o", symbolSize=9, symbolBrush=brushes, symbolPen=None)
            for j, r in enumerate(members):
                if r.get("best"):  # a ring around the best point, which stays visible inside it
                    starred = target.plot.plot([xs[j]], [ys[j]], pen=None, symbol="o", symbolSize=20,
                                               symbolBrush=None, symbolPen=pg.mkPen(BEST_COLOUR, width=3))
            if len(groups) > 1:
                target.add_legend(points, label or "")
        if starred is not None:
            target.add_legend(starred, "best")
        if how == "category":
            target.plot.setXRange(-0.5, len(values) - 0.5, padding=0.05)
        else:
            target.plot.enableAutoRange(x=True)
        lows = [m - s for m, s in zip(means, spreads)]
        highs = [m + s for m, s in zip(means, spreads)]
        if log:
            lows = [math.log10(max(low, m / 100)) for low, m in zip(lows, means)]
            highs = [math.log10(high) for high in highs]
        target.plot.setYRange(*y_range(lows, highs, floor=0.0 if min(means) >= 0 and not log else None), padding=0)

    # --- learning curves ------------------------------------------------------------------------------
    def _configuration(self, trial: dict[str, str]) -> str:
        return " ".join(f"{n}={short(trial.get(n, ''))}" for n in self.names) or "trial"

    def colour(self, configuration: str) -> str:
        """A configuration's colour, the same in every plot: by its first trial's place in the sweep."""
        order = list(dict.fromkeys(self._configuration(t) for t in self.trials))
        index = order.index(configuration) if configuration in order else len(order)
        return PALETTE[index % len(PALETTE)]

    def _draw_curves(self) -> None:
        target = self.curves
        target.clear()
        metric = self.metric
        target.plot.setLabel("left", f"val {metric}" if metric else "")
        target.plot.setLabel("bottom", "epoch")
        shown = [(t, self.trial_curves.get(int(t["number"]))) for t in self.trials
                 if t.get("number", "").isdigit() and self.trial_curves.get(int(t["number"]), ([], []))[0]]
        pruned = any(t.get("status") == "PRUNED" for t, _ in shown)
        target.plot.setTitle(f"learning curves ({len(shown)} trial{'s' * (len(shown) != 1)}"
                             f"{'; dashed: pruned' if pruned else ''})", size="10pt")
        values = [v for _, (_, ys) in shown for v in ys]
        log = bool(values) and min(values) > 0 and max(values) / min(values) >= LOG_RATIO
        target.plot.setLogMode(x=False, y=log)
        colours: dict[str, str] = {}
        for trial, (xs, ys) in shown:
            label = self._configuration(trial)
            first = label not in colours
            colour = colours.setdefault(label, self.colour(label))
            number_ = int(trial["number"])
            bold = number_ in self.highlighted
            faint = bool(self.highlighted) and not bold
            qcolour = pg.mkColor(colour)
            if faint:
                qcolour.setAlpha(70)
            style = Qt.PenStyle.DashLine if trial.get("status") == "PRUNED" else Qt.PenStyle.SolidLine
            item = target.plot.plot(xs, ys, pen=pg.mkPen(qcolour, width=3 if bold else 1.5, style=style),
                                    symbol="o", symbolSize=7 if bold else 4, symbolBrush=qcolour, symbolPen=None)
            if first and len(colours) <= 12:
                target.add_legend(item, label)
        if shown:
            target.plot.enableAutoRange()

    # --- a search's history -----------------------------------------------------------------------------
    def _draw_history(self) -> None:
        target = self.history
        target.clear()
        metric = self.metric
        key = f"val_{metric}"
        done = [(int(t["number"]), number(t.get(key, ""))) for t in self.trials
                if t.get("status") == "COMPLETE" and t.get("number", "").isdigit() and number(t.get(key, "")) is not None]
        target.plot.setLabel("left", f"val {metric}" if metric else "")
        target.plot.setLabel("bottom", "trial")
        if not done:
            return
        done.sort()
        xs = np.array([n for n, _ in done], dtype=float)
        ys = np.array([v for _, v in done], dtype=float)
        best = np.maximum.accumulate(ys) if self.direction == "maximize" else np.minimum.accumulate(ys)
        log = ys.min() > 0 and ys.max() / ys.min() >= LOG_RATIO
        target.plot.setLogMode(x=False, y=bool(log))
        points = target.plot.plot(xs, ys, pen=None, symbol="o", symbolSize=7, symbolBrush=PALETTE[0], symbolPen=None)
        stairs_x = np.repeat(xs, 2)[1:]
        stairs_y = np.repeat(best, 2)[:-1]
        line = target.plot.plot(stairs_x, stairs_y, pen=pg.mkPen(PALETTE[3], width=2))
        target.add_legend(points, "trial")
        target.add_legend(line, "best so far")
        target.plot.enableAutoRange()

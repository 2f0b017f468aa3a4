"""Live training curves: the training loss and one validation metric, for one run or several overlaid.

Points come from a run's event stream (``add_point``, possibly hundreds a second) or from a finished
run's metrics.csv (``load_rows``). Both only append to a buffer: drawing happens on a timer at about
15 Hz, and only for the series that changed, so a fast-logging run cannot starve the GUI thread.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (pyqtgraph does not import its exporters itself)
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QGraphicsItem, QLabel, QPushButton, QSlider,
                               QStackedWidget, QVBoxLayout, QWidget)

from .flow import FlowLayout, group
from .log_axis import LogFriendlyAxis
from .smoothing import ema

# Tableau 10: distinguishable colours, and the ones matplotlib users already associate with runs.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
X_MODES = ("step", "epoch", "wall time")
X_LABELS = {"step": "step", "epoch": "epoch", "wall time": "seconds since the run's first point"}
X_HEADROOM = 0.5   # a live x axis extends this fraction past the last point
Y_HEADROOM = 0.25  # and its y axis this fraction of the span below the lowest value
LEGEND_MARGIN = 60  # px of a plot's width a legend's swatch, padding and offset take
REDRAW_MS = 66  # ~15 Hz: smooth enough to watch, and leaves the CPU to the training process
VERDICT_LABEL_WIDTH = 200  # px: a verdict's label wraps rather than run past the plot's edge


def nearest_point(xs: Sequence[float], ys: Sequence[float], x: float, y: float,
                  x_span: float = 1.0, y_span: float = 1.0) -> int:
    """Index of the point of (xs, ys) nearest to (x, y), or -1 if there is none (or none finite).

    Distances are in units of the visible spans, so on a plot whose x runs to 10 000 steps and whose
    y runs to 0.01 the nearest point on screen wins, not merely the nearest in x."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        dist = ((xs - x) / (x_span or 1.0)) ** 2 + ((ys - y) / (y_span or 1.0)) ** 2
    finite = np.isfinite(dist)
    return int(np.argmin(np.where(finite, dist, np.inf))) if finite.any() else -1


class _Series:
    """One metric of one run: Python lists, because appending to them is what must be cheap."""
    __slots__ = ("step", "epoch", "wall", "value")

    def __init__(self):
        self.step, self.epoch, self.wall, self.value = [], [], [], []


def _as_int(value) -> int:
    return int(float(value)) if value not in (None, "") else 0  # metrics.csv writes None as ""


class CurvesWidget(QWidget):
    """Training loss (``train/*``) and a chosen validation metric (``val/*``) per run, overlaid."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._series: dict[str, dict[str, _Series]] = {}  # run -> name -> points, in arrival order
        self._t0: dict[str, float] = {}                   # run -> wall time of its first point
        self._colours: dict[str, str] = {}
        self._labels: dict[str, str] = {}                 # run -> its name in legends (the run itself if none)
        self._train_items: dict[tuple[str, str], tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}  # raw, solid
        self._val_items: dict[str, pg.PlotDataItem] = {}  # one per run: only the chosen metric shows
        self._baselines: dict[tuple[str, str], tuple[float, pg.InfiniteLine]] = {}
        self._verdicts: dict[str, list[tuple[int, pg.InfiniteLine]]] = {}  # run -> (epoch, line): set_verdicts
        self._drawn: dict[pg.PlotDataItem, tuple] = {}    # item -> run, name, x, y shown, y raw (hover)
        self._monitor = "loss"
        self._val_picked = False  # once the user picks a val metric, stop picking one for them
        #: the right-hand plot offers every metric logged (train/* too), not only val/*: see set_any_metric
        self.any_metric = False
        self.val_label = QLabel("Validation:")
        self._dirty: set[tuple[str, str]] = set()
        self._dirty_all = False   # a control changed: every series must be redrawn
        self.redraws = 0          # redraws done so far (lets tests check the throttling)

        self.smooth_slider = QSlider(Qt.Orientation.Horizontal)
        self.smooth_slider.setRange(0, 99)  # hundredths: 0 .. 0.99
        self.smooth_slider.setValue(60)     # TensorBoard's default
        self.smooth_slider.setFixedWidth(120)
        self.smooth_label, self.log_check = QLabel(), QCheckBox("log scale")
        # what a log scale leaves out (values <= 0), said rather than silently missing from the plot
        self.log_note = QLabel()
        self.log_note.setStyleSheet("color: #d9534f;")
        self.log_note.hide()
        self.x_combo, self.val_combo = QComboBox(), QComboBox()
        self.x_combo.addItems(X_MODES)
        self.val_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        exports = []
        for kind, tip in (("png", "Save both plots as a PNG image"),
                          ("csv", "Save every buffered point (all runs) as CSV")):
            button = QPushButton(kind.upper())
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, kind=kind: self._ask(kind))
            exports.append(button)
        # wraps onto a second row when narrow: side by side, these controls alone were 750 px wide
        bar = FlowLayout()
        for widgets in ((QLabel("Smoothing"), self.smooth_slider, self.smooth_label), (self.log_check,),
                        (QLabel("x:"), self.x_combo), (self.val_label, self.val_combo), exports):
            bar.addWidget(group(*widgets, parent=self))
            if widgets == (self.log_check,):
                bar.addWidget(self.log_note)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumWidth(300)  # two plots, each with a readable axis
        self.train_plot = self.graphics.addPlot(row=0, col=0, title="Training loss",
                                                axisItems={"left": LogFriendlyAxis("left")})
        self.val_plot = self.graphics.addPlot(row=0, col=1, title="Validation",
                                              axisItems={"left": LogFriendlyAxis("left")})
        for plot in (self.train_plot, self.val_plot):
            plot.showGrid(x=True, y=True, alpha=0.3)
            plot.addLegend(offset=(-10, 10))
            plot.setClipToView(True)  # long runs: draw only what is visible, decimated to the pixels
            plot.setDownsampling(auto=True, mode="peak")
            plot.setMenuEnabled(False, None)  # its own log toggle would disagree with our checkbox
            plot.vb.sigResized.connect(self._fit_legends)
            for side in ("left", "bottom"):
                # tick labels are the costliest thing painted; keep each axis as a pixmap, redrawn only
                # when its range changes, not whenever a curve beside it does
                plot.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            plot.getAxis("left").setStyle(autoExpandTextSpace=False)
            plot.getAxis("left").setWidth(64)  # room for labels like -0.00045; a fixed width never relays out
        # an invisible point that auto-range includes: while a run streams, the axes grow in steps (x by
        # half, y down by a quarter of its span) rather than with every point, so their tick labels are
        # not redrawn on every update
        self._anchor_item = pg.PlotDataItem([], [], pen=pg.mkPen((0, 0, 0, 0)))  # invisible, yet in the bounds
        self._anchor: tuple[float, float] | None = None
        self.train_plot.addItem(self._anchor_item)
        self.hover_label = QLabel(" ")
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        # before any point: what to do to get curves (set_hint), in place of two empty 0-1 plots
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setStyleSheet("color: gray; font-size: 11pt; padding: 24px;")
        self._pages = QStackedWidget()
        self._pages.addWidget(self.graphics)
        self._pages.addWidget(self.hint)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self._pages, 1)
        layout.addWidget(self.hover_label)

        # single-shot, started by the first change: at most one redraw per interval, none when idle
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._redraw)
        self.smooth_slider.valueChanged.connect(self._on_control_changed)
        self.log_check.toggled.connect(self._on_log_toggled)
        self.x_combo.currentTextChanged.connect(self._on_control_changed)
        self.val_combo.currentTextChanged.connect(self._on_control_changed)
        self.val_combo.activated.connect(self._on_val_picked)  # only user choices emit `activated`
        self._sync_labels()

    def add_point(self, run: str, name: str, step: int, epoch: int, wall: float, value: float) -> None:
        """Buffer one point; the timer draws it. Called for every metric event, so it only appends."""
        names = self._series.setdefault(run, {})
        series = names.get(name)
        if series is None:  # rare: a new run or metric
            if self._pages.currentWidget() is self.hint:
                self._pages.setCurrentWidget(self.graphics)
            series = names[name] = _Series()
            self._colour(run)
            self._t0.setdefault(run, float(wall))
            if self._offered(name) and self.val_combo.findText(name) < 0:
                self._offer(name)
                self._pick_default_val()
        series.step.append(int(step))
        series.epoch.append(int(epoch))
        series.wall.append(float(wall))
        series.value.append(float(value))
        self._dirty.add((run, name))
        if not self._timer.isActive():
            self._timer.start()

    def load_rows(self, run: str, rows: Iterable[Mapping]) -> None:
        """Bulk-load a run's metrics.csv rows (time, step, epoch, name, value; strings or numbers)."""
        for row in rows:
            try:
                self.add_point(run, str(row["name"]), _as_int(row.get("step")), _as_int(row.get("epoch")),
                               float(row["time"]), float(row["value"]))
            except (KeyError, TypeError, ValueError):
                continue  # a killed run can leave a truncated last line; the rest is still worth seeing
        self._dirty_all = True  # a finished record: drawn whole, with no room kept for more points

    def set_monitor(self, name: str) -> None:
        """The validation metric the run monitors (e.g. "mse"): the one shown unless the user picks."""
        self._monitor = name
        self._pick_default_val()

    def set_labels(self, labels: Mapping[str, str]) -> None:
        """The names runs are shown by in legends and read-outs (see gui/names.py); keys are runs."""
        self._labels.update(labels)
        for run in labels:
            self._relabel(run)

    def label(self, run: str) -> str:
        return self._labels.get(run, run)

    def _legend_text(self, run: str, name: str) -> str:
        return self.label(run) if name in ("train/loss", "val") else f"{self.label(run)} ({name})"

    def _relabel(self, run: str) -> None:
        entries = [(self.train_plot, items[1], self._legend_text(run, name))
                   for (r, name), items in self._train_items.items() if r == run]
        if run in self._val_items:
            entries.append((self.val_plot, self._val_items[run], self.label(run)))
        for plot, item, text in entries:
            plot.legend.removeItem(item)
            plot.legend.addItem(item, text)
        self._fit_legends()
        for (r, _name), (value, line) in self._baselines.items():
            if r == run:
                line.label.format = self._baseline_text(run, value)
                line.label.valueChanged()

    def _fit_legends(self, *_) -> None:
        """Each legend name cut to fit its plot: a legend wider than the plot spilled past its left edge,
        where the plot clips it, and took the colour swatches with it. The full name is the tooltip's."""
        for plot in (self.train_plot, self.val_plot):
            room = max(40, int(plot.vb.width()) - LEGEND_MARGIN)
            for _sample, label in plot.legend.items:
                full = label.property("full") or label.text
                label.setProperty("full", full)
                metrics = QFontMetrics(label.item.font())
                shown = metrics.elidedText(full, Qt.TextElideMode.ElideMiddle, room)
                if shown != label.text:
                    label.setText(shown)
                label.setToolTip(full)
            # the legend as large as its rows now are: pyqtgraph sizes it from its items' current widths, which
            # its own (old, wider) size has stretched, so it would never shrink
            plot.legend.layout.invalidate()
            size = plot.legend.layout.preferredSize()
            plot.legend.setGeometry(0, 0, size.width(), size.height())

    def _baseline_text(self, run: str, value: float) -> str:
        # the line's label is a str.format template: braces in a run's name must stay text
        whose = f"{self.label(run)} " if len(self._series) > 1 else ""  # one run: its legend says whose
        return f"{whose}baseline {value:.4g}".replace("{", "{{").replace("}", "}}")

    def set_baseline(self, run: str, name: str, value: float) -> None:
        """A dashed reference line (e.g. repeat-last val MSE), shown while metric ``name`` is shown."""
        old = self._baselines.pop((run, name), None)
        if old:
            self.val_plot.removeItem(old[1])
        colour = self._colour(run)
        line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine),
                               label=self._baseline_text(run, value),
                               labelOpts={"position": 0.02, "color": colour, "anchors": [(0, 1), (0, 1)]})
        self.val_plot.addItem(line)
        self._baselines[(run, name)] = (float(value), line)
        self._update_baselines()

    def set_verdicts(self, run: str, verdicts: Sequence[Mapping]) -> None:
        """The run's verdicts (results.json's diagnostics.verdicts) as labelled vertical lines on the validation
        plot, one per epoch that has any, at the point of that epoch in the x mode shown."""
        from .verdict_text import colours, line_label

        for _epoch, line in self._verdicts.pop(run, []):
            self.val_plot.removeItem(line)
        by_epoch: dict[int, list[Mapping]] = {}
        for verdict in verdicts:
            if isinstance(verdict.get("epoch"), int):
                by_epoch.setdefault(verdict["epoch"], []).append(verdict)
        lines = []
        for i, (epoch, found) in enumerate(sorted(by_epoch.items())):
            fill, text, edge = colours(str(found[0].get("code")))
            # below the legend (top right), staggered so that the labels of near epochs do not overlap
            # the label brings its own background and text colour: legible on a light and on a dark canvas
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(edge, width=2, style=Qt.PenStyle.DashLine),
                                   label=line_label(found).replace("{", "{{").replace("}", "}}"),
                                   labelOpts={"position": 0.75 - 0.2 * (i % 3), "color": text, "fill": fill,
                                              "border": edge, "anchors": [(0, 0), (0, 0)]})
            line.label.setTextWidth(VERDICT_LABEL_WIDTH)
            line.setToolTip("\n".join(str(v.get("message", "")) for v in found))
            line.setZValue(5)
            self.val_plot.addItem(line, ignoreBounds=True)
            lines.append((epoch, line))
        self._verdicts[run] = lines
        self._update_verdicts()

    def verdict_lines(self, run: str) -> list[pg.InfiniteLine]:
        return [line for _epoch, line in self._verdicts.get(run, [])]

    def _epoch_x(self, run: str, epoch: int) -> float | None:
        """Where ``epoch`` ends on the x axis shown: its last point of the metric shown, else of any."""
        if self.x_combo.currentText() == "epoch":
            return float(epoch)
        names = self._series.get(run, {})
        shown = self.val_combo.currentText()
        for name in [shown, *sorted(names)]:
            series = names.get(name)
            if series is None:
                continue
            hits = [i for i, e in enumerate(series.epoch) if e == epoch]
            if hits:
                return float(self._x(run, series)[hits[-1]])
        return None

    def _update_verdicts(self) -> None:
        if not any(self._verdicts.values()):  # every redraw of a live run comes here: most have none
            return
        # the data's x span, not the view's: auto-range has not yet settled when a finished run is loaded
        spans = [(float(xs[0]), float(xs[-1])) for item, (_run, _name, xs, _shown, _raw) in self._drawn.items()
                 if item.getViewBox() is self.val_plot.vb and len(xs)]
        (x0, x1) = (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else self.val_plot.vb.viewRange()[0]
        for run, lines in self._verdicts.items():
            for epoch, line in lines:
                x = self._epoch_x(run, epoch)
                line.setVisible(x is not None)
                if x is None:
                    continue
                line.setPos(x)
                # the label on the side of the line with more room, so it stays inside the plot
                right = (x - x0) < 0.5 * ((x1 - x0) or 1.0)
                line.label.anchors = [(0, 0), (0, 0)] if right else [(1, 0), (1, 0)]
                line.label.updatePosition()

    def remove_run(self, run: str) -> None:
        self._series.pop(run, None)
        self._t0.pop(run, None)
        self._colours.pop(run, None)  # frees its colour for the next run
        self._labels.pop(run, None)
        self._dirty = {key for key in self._dirty if key[0] != run}
        doomed = [(self.train_plot, item) for key in [k for k in self._train_items if k[0] == run]
                  for item in self._train_items.pop(key)]
        if run in self._val_items:
            doomed.append((self.val_plot, self._val_items.pop(run)))
        for plot, item in doomed:
            plot.removeItem(item)  # also drops its legend entry
            self._drawn.pop(item, None)
        for key in [key for key in self._baselines if key[0] == run]:
            self.val_plot.removeItem(self._baselines.pop(key)[1])
        for _epoch, line in self._verdicts.pop(run, []):
            self.val_plot.removeItem(line)
        self._place_anchor(shrink=True)
        self._show_hint()

    def clear(self) -> None:
        for run in set(self._series) | set(self._colours) | {run for run, _ in self._baselines} | set(self._verdicts):
            self.remove_run(run)
        self._val_picked = False
        self.val_combo.clear()
        self.hover_label.setText(" ")
        self._show_hint()

    def set_hint(self, text: str) -> None:
        """What the widget says while it has no points (nothing: empty plots, as pyqtgraph draws them)."""
        self.hint.setText(text)
        self._show_hint()

    def _show_hint(self) -> None:
        hinting = bool(self.hint.text()) and not self._series
        self._pages.setCurrentWidget(self.hint if hinting else self.graphics)

    @property
    def smoothing(self) -> float:
        return self.smooth_slider.value() / 100

    def set_smoothing(self, weight: float) -> None:
        self.smooth_slider.setValue(round(weight * 100))

    def set_log_y(self, on: bool) -> None:
        self.log_check.setChecked(on)

    def set_x_mode(self, mode: str) -> None:
        if mode not in X_MODES:
            raise ValueError(f"x mode must be one of {X_MODES}, got {mode!r}")
        self.x_combo.setCurrentText(mode)

    def set_any_metric(self, on: bool = True) -> None:
        """Offer any logged metric (e.g. train/grad_norm, val/mae) for the right-hand plot, not only val/*."""
        self.any_metric = on
        self.val_label.setText("Metric:" if on else "Validation:")

    def _offered(self, name: str) -> bool:
        # train/loss is always on the left-hand plot
        return name.startswith("val/") or (self.any_metric and name != "train/loss")

    def _offer(self, name: str) -> None:
        """Validation metrics first, in arrival order, then the others: the default pick is a val one."""
        vals = sum(self.val_combo.itemText(i).startswith("val/") for i in range(self.val_combo.count()))
        self.val_combo.insertItem(vals if name.startswith("val/") else self.val_combo.count(), name)

    def shown_metric(self, run: str) -> pg.PlotDataItem | None:
        """The item drawing the run's metric chosen for the right-hand plot (any metric), if drawn."""
        return self._val_items.get(run)

    def set_val_metric(self, name: str) -> None:
        self._val_picked = True
        self.val_combo.setCurrentText(name)

    def runs(self) -> list[str]:
        return list(self._series)

    def colour(self, run: str) -> str | None:
        return self._colours.get(run)

    def curve(self, run: str, name: str) -> pg.PlotDataItem | None:
        """The item drawing (run, name): the solid (smoothed) one for train/*; None if not shown."""
        if name.startswith("val/"):
            return self._val_items.get(run) if name == self.val_combo.currentText() else None
        items = self._train_items.get((run, name))
        return items[1] if items else None

    def export_png(self, path: str | Path) -> None:
        """Both plots as one image: the scene holds both, so one exporter covers them."""
        self.draw_pending()  # the picture should show everything buffered so far
        exporter = pg.exporters.ImageExporter(self.graphics.scene())
        if exporter.parameters()["width"] >= 2:
            exporter.export(str(path))
        else:  # never laid out (not shown yet): grab() lays the widget out and renders it
            self.graphics.grab().save(str(path), "PNG")

    def export_csv(self, path: str | Path) -> None:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["run", "name", "step", "epoch", "wall", "value"])
            for run, names in self._series.items():
                for name, s in names.items():
                    writer.writerows([run, name, *point] for point in zip(s.step, s.epoch, s.wall, s.value))

    def _ask(self, kind: str) -> None:
        """The buttons' path: a save dialog, then the export (tests call the export methods directly)."""
        path, _ = QFileDialog.getSaveFileName(self, f"Export curves as {kind.upper()}", f"curves.{kind}",
                                              f"{kind.upper()} (*.{kind})")
        if path:
            (self.export_png if kind == "png" else self.export_csv)(path)

    def _colour(self, run: str) -> str:
        if run not in self._colours:
            free = [c for c in PALETTE if c not in self._colours.values()]
            self._colours[run] = free[0] if free else PALETTE[len(self._colours) % len(PALETTE)]
        return self._colours[run]

    def _pick_default_val(self) -> None:
        if self._val_picked:
            return
        names = [self.val_combo.itemText(i) for i in range(self.val_combo.count())]
        for key in (self._monitor, "loss"):  # an exact name first: "mse" means val/mse, not val/rmse
            match = next((n for n in names if key and n.split("/", 1)[-1] == key), None)
            match = match or next((n for n in names if key and key in n), None)
            if match:
                self.val_combo.setCurrentText(match)
                return

    def _on_val_picked(self, _index: int) -> None:
        self._val_picked = True

    def _on_log_toggled(self, on: bool) -> None:
        for plot in (self.train_plot, self.val_plot):
            plot.setLogMode(x=False, y=on)
        self._on_control_changed()

    def _sync_labels(self) -> None:
        self.smooth_label.setText(f"{self.smoothing:.2f}")
        shown = self.val_combo.currentText()
        self.val_plot.setTitle(shown if shown and not shown.startswith("val/") else "Validation")
        for plot in (self.train_plot, self.val_plot):
            plot.setLabel("bottom", X_LABELS[self.x_combo.currentText()])

    def _on_control_changed(self, *_) -> None:
        self._sync_labels()
        self._update_baselines()  # cheap, and a reference line should not lag behind the combo
        self._update_verdicts()
        self._dirty_all = True
        if not self._timer.isActive():
            self._timer.start()

    def _x(self, run: str, series: _Series) -> np.ndarray:
        mode = self.x_combo.currentText()
        if mode == "wall time":
            return np.asarray(series.wall, dtype=float) - self._t0[run]
        return np.asarray(series.epoch if mode == "epoch" else series.step, dtype=float)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if (self._dirty or self._dirty_all) and not self._timer.isActive():
            self._timer.start()  # catch up on what arrived while another tab was in front

    def _redraw(self) -> None:
        if self.isVisible():  # hidden: points stay buffered and marked dirty until showEvent
            self.draw_pending()

    def draw_pending(self) -> None:
        """Draw every buffered change now (the timer's work; exports need it even while hidden)."""
        if not (self._dirty or self._dirty_all):
            return
        shown_val = self.val_combo.currentText()
        full = self._dirty_all
        if full:
            keys = [(run, name) for run, names in self._series.items() for name in names]
            for run, item in self._val_items.items():  # the shown val metric may have changed
                if shown_val not in self._series.get(run, {}):
                    item.setData([], [])
                    self._drawn.pop(item, None)
        else:
            keys = list(self._dirty)
        self._dirty.clear()
        self._dirty_all = False
        for run, name in keys:
            series = self._series[run][name]
            if name.startswith("train/"):
                self._draw_train(run, name, series)
            if name == shown_val and (not name.startswith("train/") or self.any_metric):
                self._draw_val(run, series)
        self._place_anchor(shrink=full)
        self._update_baselines()
        self._update_verdicts()
        self._update_log_note()
        for plot in (self.train_plot, self.val_plot):
            # settle auto-range and the view transform now: done in the paint itself (pyqtgraph's
            # default), they re-set the clipped curve data there and every redraw paints twice
            plot.vb.prepareForPaint()
        self.redraws += 1

    def _place_anchor(self, shrink: bool) -> None:
        """Move the invisible anchor only when the training curves outgrow it: right past the last
        step, or below the lowest value (a falling loss); ``shrink`` puts it inside the data."""
        drawn = [(xs, np.concatenate([shown, raw])) for _item, (_run, name, xs, shown, raw) in self._drawn.items()
                 if name.startswith("train/") and len(xs)]
        values = np.concatenate([ys for _, ys in drawn]) if drawn else np.empty(0)
        values = values[np.isfinite(values)]
        if not values.size:
            self._anchor = None
            self._anchor_item.setData([], [])
            return
        x_max = max(float(xs[-1]) for xs, _ in drawn)
        y_min, y_max = float(values.min()), float(values.max())
        if shrink or self._anchor is None:
            x, y = x_max, y_min
        else:
            x, y = self._anchor
            if x_max > x:
                x = x_max * (1 + X_HEADROOM) if x_max > 0 else x_max
            if y_min < y:
                y = self._below(y_min, y_max)
        if (x, y) != self._anchor:
            self._anchor = (x, y)
            self._anchor_item.setData([x], [y])

    def _below(self, low: float, high: float) -> float:
        """``low`` less Y_HEADROOM of the span (in log10 units on a log axis); not below 0 for data that
        never is."""
        if self.log_check.isChecked():
            if low <= 0:
                return low
            return 10 ** (math.log10(low) - Y_HEADROOM * (math.log10(max(high, low)) - math.log10(low)))
        below = low - Y_HEADROOM * (high - low)
        return max(below, 0.0) if low >= 0 else below

    def fit_axes(self) -> None:
        """Drop the headroom kept for streaming points (a run has ended): the curves fill the plot."""
        self._on_control_changed()

    def _draw_train(self, run: str, name: str, series: _Series) -> None:
        xs, ys = self._x(run, series), np.asarray(series.value, dtype=float)
        if (run, name) not in self._train_items:
            colour = self._colours[run]
            faint = pg.mkColor(colour)
            faint.setAlpha(90)  # about TensorBoard's 0.35 opacity for the raw curve
            label = self._legend_text(run, name)
            self._train_items[(run, name)] = (self.train_plot.plot(pen=pg.mkPen(faint, width=1)),
                                              self.train_plot.plot(pen=pg.mkPen(colour, width=2), name=label))
            self._fit_legends()
        raw, solid = self._train_items[(run, name)]
        # TensorBoard's look: the raw curve faint behind the smoothed one; without smoothing, one curve
        weight = self.smoothing
        shown = ema(ys, weight) if weight > 0 else ys
        raw.setData(xs, ys)
        raw.setVisible(weight > 0)
        solid.setData(xs, shown)
        alone = len(xs) == 1  # a line through one point draws nothing: the first step shows as a dot
        if alone != (solid.opts["symbol"] is not None):
            solid.setSymbol("o" if alone else None)
            solid.setSymbolBrush(self._colours[run])
            solid.setSymbolPen(None)
        self._drawn[solid] = (run, name, xs, shown, ys)

    def _draw_val(self, run: str, series: _Series) -> None:
        xs, ys = self._x(run, series), np.asarray(series.value, dtype=float)
        item = self._val_items.get(run)
        if item is None:  # validation points are sparse (one per epoch): mark them
            colour = self._colours[run]
            item = self._val_items[run] = self.val_plot.plot(
                pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5, symbolBrush=colour, symbolPen=None, name=self.label(run))
            self._fit_legends()
        item.setData(xs, ys)
        self._drawn[item] = (run, self.val_combo.currentText(), xs, ys, ys)

    def _update_log_note(self) -> None:
        hidden: dict[str, int] = {}
        if self.log_check.isChecked():
            for item, (_run, name, _xs, shown, _raw) in self._drawn.items():
                if item.isVisible() and len(shown):
                    with np.errstate(invalid="ignore"):
                        count = int(np.sum(np.asarray(shown) <= 0))
                    if count:
                        hidden[name] = hidden.get(name, 0) + count
        parts = [f"{count} value{'s' * (count != 1)} ≤ 0 of {name}" for name, count in sorted(hidden.items())]
        self.log_note.setText(f"log scale: {', '.join(parts)} {'are' if sum(hidden.values()) > 1 else 'is'} "
                              "not drawn" if parts else "")
        self.log_note.setVisible(bool(parts))

    def _update_baselines(self) -> None:
        shown, log = self.val_combo.currentText(), self.log_check.isChecked()
        for (_run, name), (value, line) in self._baselines.items():
            # InfiniteLine ignores the plot's log mode, so place it in log10 units ourselves
            line.setVisible(bool(shown) and shown in (name, f"val/{name}") and (value > 0 or not log))
            if line.isVisible():
                line.setPos(math.log10(value) if log else value)

    def _on_mouse_moved(self, pos) -> None:
        for plot in (self.train_plot, self.val_plot):
            if plot.vb.sceneBoundingRect().contains(pos):
                point = plot.vb.mapSceneToView(pos)
                self.hover_label.setText(self.hover_text(plot, point.x(), point.y()) or " ")
                return

    def hover_text(self, plot: pg.PlotItem, x: float, y: float) -> str:
        """Read-out of the shown point nearest to view coordinates (x, y) of ``plot``, or ""."""
        (x0, x1), (y0, y1) = plot.vb.viewRange()
        x_span, y_span = (x1 - x0) or 1.0, (y1 - y0) or 1.0
        best = None
        for item, (run, name, xs, shown, raw) in self._drawn.items():
            if item.getViewBox() is not plot.vb or not item.isVisible():
                continue
            with np.errstate(divide="ignore", invalid="ignore"):  # view y is log10 in log mode
                ys = np.log10(shown) if self.log_check.isChecked() else shown
            i = nearest_point(xs, ys, x, y, x_span, y_span)
            dist = ((xs[i] - x) / x_span) ** 2 + ((ys[i] - y) / y_span) ** 2 if i >= 0 else math.inf
            if i >= 0 and (best is None or dist < best[0]):
                best = (dist, run, name, xs[i], shown[i], raw[i])
        if best is None:
            return ""
        _, run, name, px, py, praw = best
        text = f"{self.label(run)} · {name}   {self.x_combo.currentText()} = {px:.6g}   value = {praw:.6g}"
        return text + (f"   smoothed = {py:.6g}" if name.startswith("train/") and self.smoothing > 0 else "")

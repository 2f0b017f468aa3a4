"""The Insight tab's plots for one run: the heat map of ||dL/dh_t|| (time step by training step, log10 colour
scale with a colour bar), and over training the gates, the clipping rate and the gradient norm."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QLabel, QScrollArea, QVBoxLayout, QWidget

from .curves import PALETTE
from .insight_data import Insight, LayerMap
from .log_axis import LogFriendlyAxis

COLOUR_MAP = "viridis"  # perceptually even, and legible to the colour-blind
#: cells whose gradient is exactly 0 (underflowed in float32): shown as the canvas behind the image, this grey,
#: which viridis (purple to yellow) never is
ZERO_GREY = "#9a9a9a"
MAX_ROW_TICKS = 8
TITLE_SIZE = "9pt"  # a plot's title sets its least width: a column beside another is about 300 px
GATE_NAMES = {"saturated": "saturated", "forget": "forget gate", "update": "update gate (z)", "dead": "stuck"}


def _edges(steps: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Bin edges of the windows between records: window i is the ``sizes[i]`` steps up to ``steps[i]``."""
    return np.concatenate([[steps[0] - sizes[0] + 0.5], steps + 0.5]) if len(steps) else np.empty(0)


class PageGraphics(pg.GraphicsLayoutWidget):
    """Plots in a scrolling page: the wheel scrolls the page (it zoomed whichever plot passed under the
    pointer); a right-button drag still zooms, a left drag pans."""

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        area = self.parentWidget()
        while area is not None and not isinstance(area, QScrollArea):
            area = area.parentWidget()
        if area is None:
            event.ignore()
            return
        # to the page's scroll bar itself: Qt passes an ignored wheel on to the parents only when it came
        # from the window system
        QApplication.sendEvent(area.verticalScrollBar(), event)


class HeatMap(QWidget):
    """||dL/dh_t|| of one layer: x the time step t, y the probe records (training steps), colour log10."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.graphics = PageGraphics(self)
        self.graphics.setMinimumHeight(240)
        self.plot = self.graphics.addPlot(row=0, col=0)
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", "time step t")
        self.plot.setLabel("left", "training step")
        self.plot.vb.setBackgroundColor(QColor(ZERO_GREY))
        self.image = pg.ImageItem()
        self.plot.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(-1, 0), colorMap=pg.colormap.get(COLOUR_MAP), interactive=False,
                                   width=12, label="log10 ||dL/dh_t||")
        self.bar.setImageItem(self.image, insert_in=self.plot)
        self.readout = QLabel(" ", self)
        self.readout.setWordWrap(True)
        self.caption = QLabel(self)
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: gray;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.readout)
        layout.addWidget(self.caption)
        self.map: LayerMap | None = None
        self.graphics.scene().sigMouseMoved.connect(self._hover)

    def set_map(self, layer: LayerMap, levels: tuple[float, float]) -> None:
        self.map = layer
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log10(layer.grad)
        logs[~np.isfinite(logs)] = np.nan  # 0 (underflowed) and missing steps: the grey canvas shows through
        self.image.setImage(logs.T, autoLevels=False)  # ImageItem's first axis is x
        t = layer.t
        width = (t[-1] - t[0]) / (len(t) - 1) if len(t) > 1 else 1.0
        self.image.setRect(QRectF(t[0] - width / 2, 0, width * len(t), len(layer.steps)))
        every = max(1, math.ceil(len(layer.steps) / MAX_ROW_TICKS))
        self.plot.getAxis("left").setTicks([[(i + 0.5, str(int(step))) for i, step in enumerate(layer.steps)
                                             if i % every == 0 or i == len(layer.steps) - 1]])
        self.set_levels(levels)
        self.plot.autoRange(padding=0)
        zeros = int(np.sum(layer.grad == 0))
        rows = len(layer.steps)
        said = [f"{rows} probe record{'s' * (rows != 1)}, one row each, by the training step it was taken at"]
        if rows < 4:
            said.append("a smaller --diagnostics-every gives more rows")
        if zeros:
            said.append(f"grey: {zeros} value{'s are' if zeros != 1 else ' is'} exactly 0, no gradient at all "
                        "(it underflowed)")
        self.caption.setText("; ".join(said))

    def set_levels(self, levels: tuple[float, float]) -> None:
        self.bar.setLevels(low=levels[0], high=levels[1])

    def levels(self) -> tuple[float, float]:
        return tuple(self.bar.levels())

    def value_at(self, x: float, y: float) -> tuple[int, int, float] | None:
        """(training step, time step, ||dL/dh_t||) of the cell under view coordinates (x, y), if any."""
        layer = self.map
        if layer is None or not len(layer.steps):
            return None
        row = int(math.floor(y))
        if not 0 <= row < len(layer.steps):
            return None
        width = (layer.t[-1] - layer.t[0]) / (len(layer.t) - 1) if len(layer.t) > 1 else 1.0
        if not layer.t[0] - width / 2 <= x <= layer.t[-1] + width / 2:
            return None
        col = int(np.argmin(np.abs(layer.t - x)))
        return int(layer.steps[row]), int(layer.t[col]), float(layer.grad[row, col])

    def _hover(self, pos) -> None:
        if not self.plot.vb.sceneBoundingRect().contains(pos):
            return
        point = self.plot.vb.mapSceneToView(pos)
        found = self.value_at(point.x(), point.y())
        if found is None:
            self.readout.setText(" ")
            return
        step, t, value = found
        shown = "no step t in this batch" if value != value else f"{value:.4g}"
        self.readout.setText(f"training step {step}, t = {t}: ||dL/dh_t|| = {shown}")


class TrainingPlots(QWidget):
    """Over training steps: the chosen layer's gates; the share of steps clipped per window; the gradient norm."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.graphics = PageGraphics(self)
        self.graphics.setMinimumHeight(560)  # three plots each tall enough for their curves and a legend row
        self.gates = self.graphics.addPlot(row=0, col=0, title="gates")
        self.clipping = self.graphics.addPlot(row=1, col=0, title="clipping")
        self.norm = self.graphics.addPlot(row=2, col=0, axisItems={"left": LogFriendlyAxis("left")})
        self.norm.setTitle("gradient norm, before clipping", size=TITLE_SIZE)
        for plot in (self.gates, self.clipping, self.norm):
            plot.setMenuEnabled(False)
            plot.showGrid(x=True, y=True, alpha=0.3)
            # a see-through backing in the palette's colour: the legend may sit on the curves of a narrow plot
            backing = QApplication.palette().window().color()
            backing.setAlpha(200)
            legend = plot.addLegend(offset=(-10, 10), brush=pg.mkBrush(backing))
            legend.setColumnCount(3)  # one row: stacked, the third name ran out of a short plot
            plot.getAxis("left").setWidth(48)
        for plot in (self.gates, self.clipping):
            plot.setYRange(0, 1, padding=0.05)
            plot.vb.setMouseEnabled(y=False)
        self.norm.setLogMode(x=False, y=True)
        self.norm.setLabel("bottom", "training step")
        self.clipping.setXLink(self.norm)
        self.gates.setXLink(self.norm)
        # what the gate figures are, under the plots: in the legends they covered the curves of a narrow plot
        self.caption = QLabel(self)
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: gray;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)
        layout.addWidget(self.caption)

    def set_gates(self, insight: Insight, layer: str) -> None:
        self.gates.clear()
        figures = insight.gates.get(layer, {})
        cell = insight.layers[layer].cell if layer in insight.layers else ""
        self.gates.setTitle(f"gates of {layer}" if figures else f"gates of {layer}: none recorded", size=TITLE_SIZE)
        for i, key in enumerate(k for k in GATE_NAMES if k in figures):
            xs, ys = figures[key]
            self.gates.plot(xs, ys, pen=pg.mkPen(PALETTE[i], width=2), symbol="o", symbolSize=4,
                            symbolBrush=PALETTE[i], symbolPen=None, name=GATE_NAMES[key])
        said = ["saturated: the share of unit values |h| above 0.95" if cell == "rnn_tanh" else
                "saturated: the share of sigmoid gate values below 0.05 or above 0.95"]
        if "forget" in figures or "update" in figures:
            said.append("forget / update gate: its mean, the share of the previous state kept")
        said.append("stuck: the share of units whose output spans less than 0.001 over the batch")
        self.caption.setText("; ".join(said) + ". Clipping and norms: per window between probe records.")

    def set_training(self, insight: Insight) -> None:
        self.clipping.clear()
        self.norm.clear()
        steps, sizes = insight.window_steps, insight.window_sizes
        edges = _edges(steps, sizes)
        if insight.grad_clip and len(steps):
            share = insight.clipping_rate
            overall = f": {share:.0%} of all" if share is not None else ""
            self.clipping.setTitle(f"steps clipped (norm > {insight.grad_clip:g}){overall}", size=TITLE_SIZE)
            brush = QColor(PALETTE[3])
            brush.setAlpha(90)
            self.clipping.plot(edges, np.nan_to_num(insight.clip_rate), stepMode="center", fillLevel=0,
                               brush=brush, pen=pg.mkPen(PALETTE[3], width=2), name="clipped, per window")
        else:
            self.clipping.setTitle("no clipping: --grad-clip 0" if len(steps) else "clipping: no windows", size=TITLE_SIZE)
        if len(steps):
            self.norm.plot(edges, insight.norm_max, stepMode="center", pen=pg.mkPen(PALETTE[1], width=1),
                           name="largest, per window", connect="finite")
            self.norm.plot(edges, insight.norm_median, stepMode="center", pen=pg.mkPen(PALETTE[0], width=2),
                           name="median, per window", connect="finite")
            if insight.grad_clip:
                self.norm.addItem(pg.InfiniteLine(angle=0, pos=math.log10(insight.grad_clip), movable=False,
                                                  pen=pg.mkPen(PALETTE[3], style=Qt.PenStyle.DashLine),
                                                  label=f"--grad-clip {insight.grad_clip:g}",
                                                  labelOpts={"position": 0.02, "color": PALETTE[3],
                                                             "anchors": [(0, 1), (0, 1)]}))


def norm_range(insights: list[Insight]) -> tuple[float, float] | None:
    """log10 of the lowest and highest gradient norm over ``insights``: one y scale for runs side by side."""
    values = np.concatenate([np.concatenate([i.norm_median, i.norm_max]) for i in insights]) if insights else []
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    if not values.size:
        return None
    return float(np.log10(values.min())), float(np.log10(values.max()))

"""Series in, series out: history, forecast and what really followed, from a chosen origin."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QSlider, QSpinBox, QVBoxLayout, QWidget

from .base import Ask, Panel
from .shading import COLOURMAP, legend, matrix, scale_of


class SeriesPanel(Panel):
    """History (grey), forecast (green) and the truth (red); a slider moves the forecast origin."""

    expects = ("targets", "history", "forecast", "actual", "origin", "rows", "steps")
    shades = True
    #: set by the Try it tab: ``set_options(options, then)`` reloads the run's model with these prediction
    #: settings (``predict_steps``), then calls ``then()``
    set_options = None
    MARKED = 30  # forecasts of this many points or fewer are drawn as points too: one point is no line

    def __init__(self, ask: Ask, parent: QWidget | None = None):
        super().__init__(ask, parent)
        self.source = QLineEdit(self)
        self.source.setPlaceholderText("a CSV/Parquet/JSON file with the run's columns")
        self.source.returnPressed.connect(lambda: self.forecast(None))
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        # keys (arrows, PageUp) and the mouse alike: the label follows at once, the forecast once the slider
        # rests (a mouse drag: on release)
        self.slider.valueChanged.connect(self._origin_moved)
        self.slider.sliderReleased.connect(lambda: self.forecast(self.slider.value()))
        self.settle = QTimer(self)
        self.settle.setSingleShot(True)
        self.settle.setInterval(250)
        self.settle.timeout.connect(lambda: self.forecast(self.slider.value()))
        self.origin_label = QLabel(self)
        self.steps = QSpinBox(self)
        self.steps.setRange(0, 10_000)
        self.steps.setSpecialValueText("horizon")
        self.steps.setToolTip("steps to forecast: the model's horizon, or more, rolled out recursively by "
                              "feeding each forecast back in (--predict-steps)")
        self.steps_timer = QTimer(self)  # typing 24 is a 2 first: reload once the number rests
        self.steps_timer.setSingleShot(True)
        self.steps_timer.setInterval(400)
        self.steps_timer.timeout.connect(self._steps_chosen)
        self.steps.valueChanged.connect(lambda _: self.steps_timer.start())
        go = QPushButton("Forecast", self)
        go.clicked.connect(lambda: self.forecast(self.slider.value() if self.slider.maximum() else None))
        top = QHBoxLayout()
        top.addWidget(QLabel("Data", self))
        top.addWidget(self.source, 1)
        top.addWidget(go)
        top.addWidget(self.attributions)
        row = QHBoxLayout()
        row.addWidget(QLabel("Origin", self))
        row.addWidget(self.slider, 1)
        row.addWidget(self.origin_label)
        row.addWidget(QLabel("Steps", self))
        row.addWidget(self.steps)
        self.plot = pg.PlotWidget(self)
        self.plot.addLegend()
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        # with attributions: under the history, each input time step (x, as above) and variable (y) shaded
        self.strip = pg.PlotWidget(self)
        self.strip.setMaximumHeight(180)
        self.strip.setXLink(self.plot)
        self.strip.setLabel("left", "input")
        self.strip_image = pg.ImageItem()
        self.strip_image.setColorMap(pg.colormap.get(COLOURMAP))
        self.strip.addItem(self.strip_image)
        self.strip_values = None  # (time steps, variables): what the strip draws
        self.legend = QLabel(self)
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet("color: gray")
        layout.addWidget(self.strip)
        layout.addWidget(self.legend)
        self.strip.hide()
        self.legend.hide()
        layout.addWidget(self.fallback, 1)

    def start(self, example: str) -> None:
        self.source.setText(example)
        self.forecast(None)

    def forecast(self, origin: int | None) -> None:
        raw = self.source.text().strip()
        if origin is not None:
            raw = f"{raw}@{origin}"
        self.ask(raw)

    def _origin_moved(self, value: int) -> None:
        self.origin_label.setText(f"row {value} of {self.slider.maximum()}")
        if not self.slider.isSliderDown():
            self.settle.start()

    def _steps_chosen(self) -> None:
        if self.set_options is None:
            return
        origin = self.slider.value() if self.slider.maximum() else None
        self.set_options({"predict_steps": self.steps.value()}, lambda: self.forecast(origin))

    def _points(self, values: list, colour: str) -> dict:
        """Markers for a short series (pyqtgraph draws one point of a line as nothing); none for a long one
        (any symbol option alone turns pyqtgraph's markers on)."""
        if len(values) > self.MARKED:
            return {}
        return {"symbol": "o", "symbolSize": 8, "symbolBrush": colour, "symbolPen": colour}

    def show_output(self, out: dict) -> None:
        self.slider.blockSignals(True)  # the slider shows where this forecast starts, however it was asked
        if self.slider.maximum() != out["rows"]:
            lookback = len(next(iter(out["history"].values())))
            self.slider.setRange(lookback, out["rows"])
        self.slider.setValue(out["origin"])
        self.slider.blockSignals(False)
        self.origin_label.setText(f"row {out['origin']} of {out['rows']}")
        col = out["targets"][0]
        history, forecast, actual = out["history"][col], out["forecast"][col], out["actual"][col]
        start = out["origin"] - len(history)
        self.plot.clear()
        self.plot.setTitle(f"{col}: {out['steps']} steps from row {out['origin']}")
        self.plot.plot(range(start, out["origin"]), history, pen=pg.mkPen((150, 150, 150), width=2), name="history")
        if actual:
            self.plot.plot(range(out["origin"], out["origin"] + len(actual)), actual, pen=pg.mkPen("r", width=2),
                           name="actual", **self._points(actual, "r"))
        self.plot.plot(range(out["origin"], out["origin"] + len(forecast)), forecast, pen=pg.mkPen("g", width=2),
                       name="forecast", **self._points(forecast, "g"))
        self._shade(self.explanation(out), col, start)

    def _shade(self, explanation: dict | None, col: str, start: int) -> None:
        """The input window's attributions to the plotted target's first explained forecast step."""
        item = None
        if explanation is not None:
            item = next((e for e in explanation["explained"] if e["target"] == col), None)
        self.strip.setVisible(item is not None)
        self.legend.setVisible(item is not None)
        if item is None:
            self.strip_values = None
            return
        values = matrix(item["attributions"])  # (time steps, variables)
        scale = max(1e-12, scale_of(values.ravel().tolist()))
        self.strip_values = values
        self.strip.setMinimumHeight(min(160, 60 + 16 * values.shape[1]))  # a readable band per variable
        self.strip_image.setImage(values, levels=(-scale, scale))  # zero at the diverging map's middle
        self.strip_image.setRect(start, 0, values.shape[0], values.shape[1])
        self.strip.getAxis("left").setTicks([[(j + 0.5, v) for j, v in enumerate(explanation["variables"])]])
        self.strip.setTitle(f"attributions to {col}, forecast step {item['step']}")
        self.legend.setText(legend(explanation))

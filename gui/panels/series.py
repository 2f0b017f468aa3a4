"""Series in, series out: history, forecast and what really followed, from a chosen origin."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSlider, QSpinBox,
                               QVBoxLayout, QWidget)

from .base import Ask, Panel
from .shading import COLOURMAP, legend, matrix, scale_of
from .timeline import Timeline


class SeriesPanel(Panel):
    """History (grey), forecast (green) and the truth (red) of the chosen target, over the data's dates
    when it has a time column (else over rows); a slider moves the forecast origin."""

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
        # every target is forecast at once: choosing another redraws the answer at hand, asks nothing
        self.target = QComboBox(self)
        self.target.setToolTip("the target drawn (the model forecasts all of them)")
        self.target.currentTextChanged.connect(self._target_chosen)
        self.target_label = QLabel("Target", self)
        self.timeline: Timeline | None = None
        go = QPushButton("Forecast", self)
        go.clicked.connect(lambda: self.forecast(self.slider.value() if self.slider.maximum() else None))
        top = QHBoxLayout()
        top.addWidget(QLabel("Data", self))
        top.addWidget(self.source, 1)
        top.addWidget(go)
        top.addWidget(self.target_label)
        top.addWidget(self.target)
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
        self._show_targets([])
        self.dated: bool | None = None  # whether the axes show dates now (None: not drawn yet)

    def start(self, example: str) -> None:
        self.source.setText(example)
        self.forecast(None)

    def forecast(self, origin: int | None) -> None:
        raw = self.source.text().strip()
        if origin is not None:
            raw = f"{raw}@{origin}"
        self.ask(raw)

    def _origin_moved(self, value: int) -> None:
        self.origin_label.setText(self._origin_text(value, self.slider.maximum()))
        if not self.slider.isSliderDown():
            self.settle.start()

    def _origin_text(self, row: int, rows: int) -> str:
        """``row N of M``, after the row's date when the data has a time column (counted on from the stamps
        at hand where the row is beyond them and the stamps are regular)."""
        where = f"row {row} of {rows}"
        date = self.timeline.text(row) if self.timeline is not None else None
        return f"{date} ({where})" if date else where

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

    def _show_targets(self, targets: list[str]) -> None:
        """The target choice, for a model of several targets; the run's last choice while the tab is open."""
        items = [self.target.itemText(i) for i in range(self.target.count())]
        if items != list(targets):
            self.target.blockSignals(True)
            self.target.clear()
            self.target.addItems(targets)
            remembered = self.memory.get("target")
            self.target.setCurrentIndex(targets.index(remembered) if remembered in targets else 0)
            self.target.blockSignals(False)
        for widget in (self.target, self.target_label):
            widget.setVisible(len(targets) > 1)

    def _target_chosen(self, col: str) -> None:
        if not col:
            return
        self.memory["target"] = col
        if self.output is not None:
            self.receive(self.output)

    def chosen_target(self, out: dict) -> str:
        col = self.target.currentText()
        return col if col in out["targets"] else out["targets"][0]

    def _date_axes(self, dated: bool) -> None:
        """Dates or row numbers under the plot and the strip (the strip's x follows the plot's)."""
        if dated == self.dated:
            return
        self.dated = dated
        for plot in (self.plot, self.strip):
            axis = pg.DateAxisItem("bottom", utcOffset=0) if dated else pg.AxisItem("bottom")
            plot.getPlotItem().setAxisItems({"bottom": axis})

    def show_output(self, out: dict) -> None:
        self.slider.blockSignals(True)  # the slider shows where this forecast starts, however it was asked
        if self.slider.maximum() != out["rows"]:
            lookback = len(next(iter(out["history"].values())))
            self.slider.setRange(lookback, out["rows"])
        self.slider.setValue(out["origin"])
        self.slider.blockSignals(False)
        self._show_targets(list(out["targets"]))
        col = self.chosen_target(out)
        history, forecast, actual = out["history"][col], out["forecast"][col], out["actual"][col]
        start = out["origin"] - len(history)
        timeline = Timeline.of(out, max(len(forecast), len(actual)))
        if timeline is not None and len(timeline.history) != len(history):
            timeline = None  # stamps that do not match the values: rows, rather than a wrong date
        self.timeline = timeline
        self.origin_label.setText(self._origin_text(out["origin"], out["rows"]))
        self._date_axes(timeline is not None)
        if timeline is not None:
            past_x, next_x = timeline.history_x, timeline.future_x
        else:
            ahead = max(len(forecast), len(actual))
            past_x, next_x = list(range(start, out["origin"])), list(range(out["origin"], out["origin"] + ahead))
        self.plot.clear()
        where = f"row {out['origin']}" if timeline is None else f"{timeline.text(out['origin'])} (row {out['origin']})"
        self.plot.setTitle(f"{col}: {out['steps']} steps from {where}")
        self.plot.plot(past_x, history, pen=pg.mkPen((150, 150, 150), width=2), name="history")
        if actual:
            self.plot.plot(next_x[:len(actual)], actual, pen=pg.mkPen("r", width=2),
                           name="actual", **self._points(actual, "r"))
        self.plot.plot(next_x[:len(forecast)], forecast, pen=pg.mkPen("g", width=2),
                       name="forecast", **self._points(forecast, "g"))
        if timeline is not None:
            self._shade(self.explanation(out), col, float(past_x[0]), timeline.width())
        else:
            self._shade(self.explanation(out), col, start, 1)

    def _shade(self, explanation: dict | None, col: str, start: float, width: float) -> None:
        """The input window's attributions to the plotted target's first explained forecast step; each cell
        ``width`` wide on the x axis (one row, or the seconds between two stamps)."""
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
        self.strip_image.setRect(start, 0, values.shape[0] * width, values.shape[1])
        self.strip.getAxis("left").setTicks([[(j + 0.5, v) for j, v in enumerate(explanation["variables"])]])
        self.strip.setTitle(f"attributions to {col}, forecast step {item['step']}")
        self.legend.setText(legend(explanation))

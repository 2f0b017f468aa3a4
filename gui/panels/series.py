"""Series in, series out: history, forecast and what really followed, from a chosen origin."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QSlider, QVBoxLayout, QWidget

from .base import Ask, Panel


class SeriesPanel(Panel):
    """History (grey), forecast (green) and the truth (red); a slider moves the forecast origin."""

    expects = ("targets", "history", "forecast", "actual", "origin", "rows", "steps")

    def __init__(self, ask: Ask, parent: QWidget | None = None):
        super().__init__(ask, parent)
        self.source = QLineEdit(self)
        self.source.setPlaceholderText("a CSV/Parquet/JSON file with the run's columns")
        self.source.returnPressed.connect(lambda: self.forecast(None))
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.sliderReleased.connect(lambda: self.forecast(self.slider.value()))
        self.origin_label = QLabel(self)
        go = QPushButton("Forecast", self)
        go.clicked.connect(lambda: self.forecast(self.slider.value() if self.slider.maximum() else None))
        top = QHBoxLayout()
        top.addWidget(QLabel("Data", self))
        top.addWidget(self.source, 1)
        top.addWidget(go)
        row = QHBoxLayout()
        row.addWidget(QLabel("Origin", self))
        row.addWidget(self.slider, 1)
        row.addWidget(self.origin_label)
        self.plot = pg.PlotWidget(self)
        self.plot.addLegend()
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.fallback, 1)

    def start(self, example: str) -> None:
        self.source.setText(example)
        self.forecast(None)

    def forecast(self, origin: int | None) -> None:
        raw = self.source.text().strip()
        if origin is not None:
            raw = f"{raw}@{origin}"
        self.ask(raw)

    def show_output(self, out: dict) -> None:
        if self.slider.maximum() != out["rows"]:
            lookback = len(next(iter(out["history"].values())))
            self.slider.blockSignals(True)
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
                           name="actual")
        self.plot.plot(range(out["origin"], out["origin"] + len(forecast)), forecast, pen=pg.mkPen("g", width=2),
                       name="forecast")

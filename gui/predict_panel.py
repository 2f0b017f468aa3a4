"""Trying a trained model: a panel chosen by the task's declared input kind.

Every panel runs ``task.predict`` on the run's best checkpoint in a background job. ``series`` has a
dedicated panel (history, forecast and truth in one plot, with a slider for the forecast origin);
any other kind gets the text panel, which answers as you type and shows the result as JSON.
"""

from __future__ import annotations

import json
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QSlider, QVBoxLayout,
                               QWidget)

from .jobs import Job


class TrainedModel:
    """A run's task, config and best weights, loaded once (off the GUI thread) and reused."""

    def __init__(self, run_dir: str):
        from suite.config import build_run_config
        from suite.registry import get_task
        from suite.runs import Run
        from suite.training import load_trained

        run = Run.open(run_dir)
        saved = run.read_config()
        self.task = get_task(saved["task"])
        cfg = build_run_config(self.task, file_data=saved, file_name=str(run.config_path))
        self.trained = load_trained(self.task, cfg, run)
        self.cfg = cfg

    def predict(self, raw: str) -> Any:
        return self.task.predict(self.trained.model, raw)


class PredictPanel(QWidget):
    """Holds the panel for the selected run; switches panels when the task's input kind changes."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.run_dir: str | None = None
        self.model: TrainedModel | None = None
        self.job: Job | None = None
        self._pending = None
        self.title = QLabel("Choose a finished run in the Runs tab and press “Try it”.", self)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.body: QWidget | None = None
        self._layout = QVBoxLayout(self)
        self._layout.addWidget(self.title)
        self._layout.addWidget(self.status)
        self._layout.addStretch(1)

    def set_run(self, run_dir: str) -> None:
        self.run_dir, self.model = run_dir, None
        self.title.setText(f"Run: {run_dir}")
        self.status.setText("loading the best checkpoint…")
        self._start(lambda: TrainedModel(run_dir), self._loaded)

    def _start(self, fn, on_done) -> None:
        """One job at a time; a request made meanwhile replaces any older waiting one (typing fast)."""
        if self.job is not None and self.job.isRunning():
            self._pending = (fn, on_done)
            return
        self._pending = None
        self.job = Job(fn, self)
        self.job.done.connect(on_done)
        self.job.failed.connect(lambda message: self.status.setText(f"error: {message}"))
        self.job.finished.connect(self._next)
        self.job.start()

    def _next(self) -> None:
        if self._pending is not None:
            self._start(*self._pending)

    def _loaded(self, model: TrainedModel) -> None:
        self.model = model
        self.status.setText(f"{model.task.title}: {model.task.description}")
        if self.body is not None:
            self.body.deleteLater()
        kind = model.task.input_kind
        self.body = SeriesPanel(self) if kind == "series" else TextPanel(self)
        self._layout.insertWidget(2, self.body, 1)
        self.body.start(model.task.example_input(model.cfg) or "")

    def ask(self, raw: str, on_done) -> None:
        """Run a prediction in the background; ``on_done(output)`` on the GUI thread."""
        if self.model is None:
            return
        model = self.model
        self.status.setText("predicting…")

        def finished(output):
            self.status.setText("")
            on_done(output)
        self._start(lambda: model.predict(raw), finished)


class SeriesPanel(QWidget):
    """History (grey), forecast (green) and what really followed (red), from a chosen origin."""

    def __init__(self, owner: PredictPanel):
        super().__init__(owner)
        self.owner = owner
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
        self.output: dict | None = None

    def start(self, example: str) -> None:
        self.source.setText(example)
        self.forecast(None)

    def forecast(self, origin: int | None) -> None:
        raw = self.source.text().strip()
        if origin is not None:
            raw = f"{raw}@{origin}"
        self.owner.ask(raw, self.show_output)

    def show_output(self, out: dict) -> None:
        self.output = out
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


class TextPanel(QWidget):
    """Type an input; the answer updates as you type (debounced) and shows as JSON."""

    def __init__(self, owner: PredictPanel):
        super().__init__(owner)
        self.owner = owner
        self.input = QLineEdit(self)
        self.input.setPlaceholderText("input for the model")
        self.output = QPlainTextEdit(self)
        self.output.setReadOnly(True)
        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(300)
        self.debounce.timeout.connect(self.ask)
        self.input.textChanged.connect(lambda *_: self.debounce.start())
        layout = QVBoxLayout(self)
        layout.addWidget(self.input)
        layout.addWidget(self.output, 1)

    def start(self, example: str) -> None:
        if example:
            self.input.setText(example)

    def ask(self) -> None:
        if self.input.text().strip():
            self.owner.ask(self.input.text(), lambda out: self.output.setPlainText(json.dumps(out, indent=2)))

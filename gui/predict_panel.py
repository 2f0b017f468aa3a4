"""Trying a trained model: the panel for the task's output kind, over the run's best checkpoint.

Loading the checkpoint and every prediction run in a background job, one at a time; a request made
while one runs replaces any older waiting request, so typing fast never builds a queue.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from .jobs import Job
from .panels import Panel, panel_class


class TrainedModel:
    """A run's task, config and best weights, loaded once (off the GUI thread) and reused."""

    def __init__(self, run_dir: str, **options):
        from suite.api import load

        self.predictor = load(run_dir, **options)  # options: the task's prediction settings (predict_steps)
        self.task = self.predictor.task
        self.cfg = self.predictor.config
        self.unexplainable = explain_unavailable(self.task)

    def predict(self, raw: str) -> Any:
        return self.predictor.predict(raw)

    def explained(self, raw: str) -> Any:
        """The prediction with its attributions under ``explanation``: what the panels shade from."""
        explanation = self.predictor.explain(raw)
        return {**explanation["prediction"], "explanation": explanation}


def explain_unavailable(task) -> str | None:
    """Why this task's answers cannot be explained here, or None when they can."""
    from suite.errors import UserError
    from suite.insight.command import check_task

    try:
        check_task(task)
    except UserError as exc:
        return str(exc)
    return None


class PredictPanel(QWidget):
    """Holds the panel for the selected run; switches panels when the task's output kind changes."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.run_dir: str | None = None
        self.model: TrainedModel | None = None
        self.job: Job | None = None
        self._pending = None
        self._closed = False
        self.memories: dict[str, dict] = {}  # per run: what its panel keeps (Panel.memory)
        self.title = QLabel("Choose a finished run in the Runs tab and press “Try it”.", self)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.body: Panel | None = None
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
        if self._closed:
            return
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
        self.body = panel_class(model.task.output_kind)(self.ask, self)
        if self._layout.count() > 2 and self._layout.itemAt(2).spacerItem() is not None:
            self._layout.takeAt(2)  # the stretch that kept the empty page tidy
        self._layout.insertWidget(2, self.body, 1)
        self.body.enable_attributions(model.unexplainable)
        self.body.set_options = self.set_options
        self.body.memory = self.memories.setdefault(self.run_dir or "", {})
        self.body.start(model.task.example_input(model.cfg) or "")

    def set_options(self, options: dict, then) -> None:
        """Load the run's model again with these prediction settings (``load(run, predict_steps=24)``), keep
        the panel, then call ``then()``: a setting the task reads when it predicts, not from each input."""
        run_dir = self.run_dir
        if run_dir is None:
            return
        self.status.setText("loading the best checkpoint with " + ", ".join(f"{k} {v}" for k, v in options.items()))

        def loaded(model: TrainedModel) -> None:
            if run_dir == self.run_dir:  # not another run chosen meanwhile
                self.model = model
                self.status.setText("")
                then()
        self._start(lambda: TrainedModel(run_dir, **options), loaded)

    def shutdown(self) -> None:
        """No new jobs; wait for the running one (Qt aborts the process if a running thread is destroyed)."""
        self._closed, self._pending = True, None
        if self.job is not None:
            self.job.wait()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    def ask(self, raw: str, on_done, explain: bool = False) -> None:
        """Run a prediction in the background; ``on_done(output)`` on the GUI thread. ``explain``: in the same
        job, with its attributions (``output["explanation"]``)."""
        if self.model is None:
            return
        model = self.model
        self.status.setText("predicting and explaining…" if explain else "predicting…")

        def finished(output):
            self.status.setText("")
            on_done(output)
        self._start((lambda: model.explained(raw)) if explain else (lambda: model.predict(raw)), finished)

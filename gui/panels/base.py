"""What every prediction panel shares: an input line that asks as you type, and a JSON fallback."""

from __future__ import annotations

import json
from typing import Any, Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QCheckBox, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget

#: ``ask(raw, on_done)``, or ``ask(raw, on_done, explain=True)`` for an answer with its attributions
Ask = Callable[..., None]


class Panel(QWidget):
    """A view of one task's predictions. ``ask(raw, on_done)`` runs the task's predict in the background.

    Subclasses set ``expects`` (the output keys they read) and implement ``show_output``.
    """

    expects: tuple[str, ...] = ()
    placeholder = "input for the model"
    #: whether the panel can shade its inputs by attribution (an answer's ``explanation``, see --explain)
    shades = False

    def __init__(self, ask: Ask, parent: QWidget | None = None):
        super().__init__(parent)
        self._ask = ask
        self.output: Any = None
        #: choices to keep while the Try it tab is open (a forecast's target): the tab hands each panel the
        #: dict of its run, so they come back when the run is chosen again
        self.memory: dict = {}
        self.fallback = QPlainTextEdit(self)
        self.fallback.setReadOnly(True)
        self.fallback.hide()
        # shown by enable_attributions() when the run's task can explain; a panel places it in its layout
        self.attributions = QCheckBox("Show attributions", self)
        self.attributions.setToolTip("shade the inputs by Integrated Gradients attribution: how much each one "
                                     "moved the prediction (each answer then takes longer)")
        self.attributions.hide()
        self.attributions.toggled.connect(self._attributions_toggled)
        self._can_explain = False
        self._last_raw: str | None = None

    def enable_attributions(self, unavailable: str | None = None) -> None:
        """The run's task can explain (``unavailable``: why it cannot here, e.g. Captum is missing)."""
        if not self.shades:
            return
        self._can_explain = unavailable is None
        self.attributions.setEnabled(self._can_explain)
        if unavailable:
            self.attributions.setToolTip(unavailable)
        self.attributions.show()

    def explaining(self) -> bool:
        return self._can_explain and self.attributions.isChecked()

    def explanation(self, out: Any) -> dict | None:
        """The answer's attributions, when they are to be shown."""
        if self.explaining() and isinstance(out, dict) and isinstance(out.get("explanation"), dict):
            return out["explanation"]
        return None

    def _attributions_toggled(self, on: bool) -> None:
        has = isinstance(self.output, dict) and "explanation" in self.output
        if on and not has and self._last_raw:
            self.ask(self._last_raw)  # the same input again, explained this time
        elif self.output is not None:
            self.receive(self.output)  # drawn again, with or without the shading

    def start(self, example: str) -> None:
        """Show the task's example input and answer it."""

    def accepts(self, output: Any) -> bool:
        return isinstance(output, dict) and all(key in output for key in self.expects)

    def receive(self, output: Any) -> None:
        self.output = output
        if self.accepts(output):
            self.fallback.hide()
            self.show_output(output)
        else:  # a plugin's own shape: still readable
            self.fallback.setPlainText(json.dumps(output, indent=2, default=str))
            self.fallback.show()

    def show_output(self, output: dict) -> None:
        raise NotImplementedError

    def ask(self, raw: str) -> None:
        if raw.strip():
            self._last_raw = raw
            if self.explaining():
                self._ask(raw, self.receive, explain=True)
            else:
                self._ask(raw, self.receive)


class TypingPanel(Panel):
    """A panel whose input is one line of text, answered as the user types (debounced)."""

    def __init__(self, ask: Ask, parent: QWidget | None = None):
        super().__init__(ask, parent)
        self.input = QLineEdit(self)
        self.input.setPlaceholderText(self.placeholder)
        self.input.setClearButtonEnabled(True)
        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(250)  # fast enough to feel live, slow enough not to queue a job per key
        self.debounce.timeout.connect(lambda: self.ask(self.input.text()))
        self.input.textChanged.connect(lambda *_: self.debounce.start())
        self.input.returnPressed.connect(lambda: self.ask(self.input.text()))
        self.layout_ = QVBoxLayout(self)
        self.layout_.addWidget(self.input)

    def start(self, example: str) -> None:
        if example:
            self.input.setText(example)
            self.ask(example)


class JsonPanel(TypingPanel):
    """Any other output kind: the answer as JSON."""

    def __init__(self, ask: Ask, parent: QWidget | None = None):
        super().__init__(ask, parent)
        self.layout_.addWidget(self.fallback, 1)
        self.fallback.show()

    def accepts(self, output: Any) -> bool:
        return False

    def show_output(self, output: dict) -> None:  # never called: everything is shown as JSON
        pass

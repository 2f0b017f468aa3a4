"""What every prediction panel shares: an input line that asks as you type, and a JSON fallback."""

from __future__ import annotations

import json
from typing import Any, Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget

Ask = Callable[[str, Callable[[Any], None]], None]


class Panel(QWidget):
    """A view of one task's predictions. ``ask(raw, on_done)`` runs the task's predict in the background.

    Subclasses set ``expects`` (the output keys they read) and implement ``show_output``.
    """

    expects: tuple[str, ...] = ()
    placeholder = "input for the model"

    def __init__(self, ask: Ask, parent: QWidget | None = None):
        super().__init__(parent)
        self._ask = ask
        self.output: Any = None
        self.fallback = QPlainTextEdit(self)
        self.fallback.setReadOnly(True)
        self.fallback.hide()

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

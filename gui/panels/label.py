"""Text in, label out: class probabilities as bars that update as you type."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QWidget

from .base import Ask, TypingPanel


class LabelPanel(TypingPanel):
    """One bar per class, most probable first; the predicted label above them."""

    expects = ("label", "probabilities")
    placeholder = "type a text to classify"

    def __init__(self, ask: Ask, parent: QWidget | None = None):
        super().__init__(ask, parent)
        self.verdict = QLabel(self)
        self.verdict.setStyleSheet("font-size: 15pt; font-weight: bold")
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.bars_box = QWidget(self)
        self.grid = QGridLayout(self.bars_box)
        self.bars: dict[str, QProgressBar] = {}
        self.layout_.addWidget(self.verdict)
        self.layout_.addWidget(self.bars_box)
        self.layout_.addWidget(self.note)
        self.layout_.addWidget(self.fallback, 1)
        self.layout_.addStretch(1)

    def show_output(self, out: dict) -> None:
        probs = sorted(out["probabilities"].items(), key=lambda kv: -kv[1])
        if list(self.bars) != [name for name, _ in probs]:
            self._rebuild([name for name, _ in probs])
        for name, p in probs:
            self.bars[name].setValue(round(1000 * p))
            self.bars[name].setFormat(f"{100 * p:.1f} %")
        top = probs[0][1] if probs else 0.0
        self.verdict.setText(f"{out['label']}  ({100 * top:.1f} %)")
        self.note.setText(str(out.get("warning") or ""))

    def _rebuild(self, names: list[str]) -> None:
        while self.grid.count():
            self.grid.takeAt(0).widget().deleteLater()
        self.bars = {}
        for row, name in enumerate(names):
            bar = QProgressBar(self.bars_box)
            bar.setRange(0, 1000)
            bar.setTextVisible(True)
            self.grid.addWidget(QLabel(str(name), self.bars_box), row, 0)
            self.grid.addWidget(bar, row, 1)
            self.bars[name] = bar

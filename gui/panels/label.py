"""Text in, label out: class probabilities as bars that update as you type."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QWidget

from .base import Ask, TypingPanel
from .shading import legend, shaded_html


class LabelPanel(TypingPanel):
    """One bar per class, most probable first; the predicted label above them."""

    expects = ("label", "probabilities")
    placeholder = "type a text to classify"
    shades = True

    def __init__(self, ask: Ask, parent: QWidget | None = None):
        super().__init__(ask, parent)
        self.verdict = QLabel(self)
        self.verdict.setStyleSheet("font-size: 15pt; font-weight: bold")
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.bars_box = QWidget(self)
        self.grid = QGridLayout(self.bars_box)
        self.bars: dict[str, QProgressBar] = {}
        self.words = QLabel(self)  # the words the model read, shaded by attribution
        self.words.setTextFormat(Qt.TextFormat.RichText)
        self.words.setWordWrap(True)
        self.words_legend = QLabel(self)
        self.words_legend.setWordWrap(True)
        self.words_legend.setStyleSheet("color: gray")
        self.words.hide()
        self.words_legend.hide()
        self.layout_.addWidget(self.attributions)
        self.layout_.addWidget(self.verdict)
        self.layout_.addWidget(self.bars_box)
        self.layout_.addWidget(self.words)
        self.layout_.addWidget(self.words_legend)
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
        explanation = self.explanation(out)
        if explanation is not None:
            self.words.setText(shaded_html(explanation["tokens"], explanation["attributions"]))
            self.words_legend.setText(legend(explanation))
        self.words.setVisible(explanation is not None)
        self.words_legend.setVisible(explanation is not None)

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

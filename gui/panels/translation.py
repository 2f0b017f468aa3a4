"""Text in, text out: the translation, and the attention matrix as a heat map."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from .base import Ask, TypingPanel
from .shading import COLOURMAP, legend, matrix, scale_of, shaded_html


class TranslationPanel(TypingPanel):
    expects = ("translation",)
    placeholder = "type a sentence to translate"
    shades = True

    def __init__(self, ask: Ask, parent: QWidget | None = None):
        super().__init__(ask, parent)
        self.result = QLabel(self)
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.setStyleSheet("font-size: 15pt")
        self.heat = pg.PlotWidget(self)
        self.heat.setTitle("attention (rows: output tokens, columns: source tokens)")
        self.heat.invertY(True)  # first output token at the top, as attention plots are read
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.heat.addItem(self.image)
        # with attributions: the source shaded for one output token, and every token's beside the attention
        self.explained = QComboBox(self)
        self.explained.setToolTip("the output token whose attributions shade the source")
        self.explained.currentIndexChanged.connect(lambda *_: self.output is not None and self.receive(self.output))
        self.explained_label = QLabel("source attributions to", self)
        choice = QHBoxLayout()
        choice.addWidget(self.attributions)
        choice.addWidget(self.explained_label)
        choice.addWidget(self.explained, 1)
        self.source_view = QLabel(self)
        self.source_view.setTextFormat(Qt.TextFormat.RichText)
        self.source_view.setWordWrap(True)
        self.legend = QLabel(self)
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet("color: gray")
        self.attr_heat = pg.PlotWidget(self)
        self.attr_heat.setTitle("attributions (rows: output tokens, columns: source tokens)")
        self.attr_heat.invertY(True)
        self.attr_image = pg.ImageItem()
        self.attr_image.setColorMap(pg.colormap.get(COLOURMAP))
        self.attr_heat.addItem(self.attr_image)
        heats = QHBoxLayout()
        heats.addWidget(self.heat, 1)
        heats.addWidget(self.attr_heat, 1)
        self.layout_.addLayout(choice)
        self.layout_.addWidget(self.result)
        self.layout_.addWidget(self.source_view)
        self.layout_.addWidget(self.legend)
        self.layout_.addLayout(heats, 1)
        self.layout_.addWidget(self.fallback, 1)
        self._show_attributions(None)

    def _show_attributions(self, explanation: dict | None) -> None:
        for widget in (self.explained, self.explained_label, self.source_view, self.legend, self.attr_heat):
            widget.setVisible(explanation is not None)
        if explanation is None:
            return
        targets, sources = explanation["target_tokens"], explanation["source_tokens"]
        choices = [f"{u + 1}. {token}" for u, token in enumerate(targets)]
        if [self.explained.itemText(i) for i in range(self.explained.count())] != choices:
            self.explained.blockSignals(True)
            self.explained.clear()
            self.explained.addItems(choices)
            self.explained.blockSignals(False)
        row = max(0, self.explained.currentIndex())
        values = matrix(explanation["attributions"])  # (output tokens, source tokens)
        self.source_view.setText(shaded_html(sources, values[row].tolist()))
        self.legend.setText(legend(explanation))
        scale = max(1e-9, scale_of(values.ravel().tolist()))
        self.attr_image.setImage(values.T, levels=(-scale, scale))  # zero at the diverging map's middle
        self.attr_image.setRect(0, 0, values.shape[1], values.shape[0])
        self.attr_heat.getAxis("bottom").setTicks([[(i + 0.5, t) for i, t in enumerate(sources)]])
        self.attr_heat.getAxis("left").setTicks([[(u + 0.5, t) for u, t in enumerate(targets)]])

    def show_output(self, out: dict) -> None:
        self.result.setText(out["translation"])
        self._show_attributions(self.explanation(out))
        attention = out.get("attention")
        if not attention:
            self.heat.hide()
            return
        matrix = np.asarray(attention, dtype=float)  # (target, source)
        self.image.setImage(matrix.T, levels=(0.0, max(1e-9, float(matrix.max()))))
        self.image.setRect(0, 0, matrix.shape[1], matrix.shape[0])
        source = out.get("source_tokens") or [str(i) for i in range(matrix.shape[1])]
        target = out.get("target_tokens") or [str(i) for i in range(matrix.shape[0])]
        self.heat.getAxis("bottom").setTicks([[(i + 0.5, t) for i, t in enumerate(source)]])
        self.heat.getAxis("left").setTicks([[(i + 0.5, t) for i, t in enumerate(target)]])
        self.heat.show()

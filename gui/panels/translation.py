"""Text in, text out: the translation, and the attention matrix as a heat map."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from .base import Ask, TypingPanel


class TranslationPanel(TypingPanel):
    expects = ("translation",)
    placeholder = "type a sentence to translate"

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
        self.layout_.addWidget(self.result)
        self.layout_.addWidget(self.heat, 1)
        self.layout_.addWidget(self.fallback, 1)

    def show_output(self, out: dict) -> None:
        self.result.setText(out["translation"])
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

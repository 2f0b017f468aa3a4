"""Text in, text out: the translation, and the attention matrix as a heat map."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QWidget

from .base import Ask, TypingPanel
from .shading import COLOURMAP, legend, matrix, scale_of, shaded_html
from .subwords import ATTENTION_RULE, ATTRIBUTION_RULE, changes_anything, merge, words


def axes(source: list[str], target: list[str], values: np.ndarray, pieces: bool,
         rows: str) -> tuple[list[str], list[str], np.ndarray]:
    """The heat map's column and row labels and its values, by words unless ``pieces`` (or the matrix does not
    match the tokens, a plugin's answer: then as given)."""
    if pieces or values.shape != (len(target), len(source)):
        return source, target, values
    (source_words, source_groups), (target_words, target_groups) = words(source), words(target)
    return source_words, target_words, merge(values, target_groups, source_groups, rows=rows)


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
        self.heat.invertY(True)  # first output token at the top, as attention plots are read
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.heat.addItem(self.image)
        # a fixed 0-1 scale: attention weights are shares of one output token's attention, so colours compare
        # across sentences (a per-sentence maximum would make a diffuse row look as sharp as a peaked one)
        self.colour_bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get("viridis"),
                                          label="attention weight (0-1)", interactive=False)
        self.colour_bar.setImageItem(self.image, insert_in=self.heat.getPlotItem())
        self.pieces = QCheckBox("subword pieces", self)
        self.pieces.setToolTip("show the tokenizer's pieces (▁, ##, </w> marks and all) instead of whole words; "
                               f"by {ATTENTION_RULE}")
        self.pieces.toggled.connect(lambda *_: self.output is not None and self.receive(self.output))
        # with attributions: the source shaded for one output token, and every token's beside the attention
        self.explained = QComboBox(self)
        self.explained.setToolTip("the output token whose attributions shade the source")
        self.explained.currentIndexChanged.connect(lambda *_: self.output is not None and self.receive(self.output))
        self.explained_label = QLabel("source attributions to", self)
        choice = QHBoxLayout()
        choice.addWidget(self.attributions)
        choice.addWidget(self.explained_label)
        choice.addWidget(self.explained, 1)
        choice.addWidget(self.pieces)
        self.source_view = QLabel(self)
        self.source_view.setTextFormat(Qt.TextFormat.RichText)
        self.source_view.setWordWrap(True)
        self.legend = QLabel(self)
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet("color: gray")
        self.attr_heat = pg.PlotWidget(self)
        self.attr_heat.invertY(True)
        self.attr_image = pg.ImageItem()
        self.attr_image.setColorMap(pg.colormap.get(COLOURMAP))
        self.attr_heat.addItem(self.attr_image)
        self.attr_bar = pg.ColorBarItem(values=(-1.0, 1.0), colorMap=pg.colormap.get(COLOURMAP),
                                        label="attribution (log-probability)", interactive=False, rounding=1e-6)
        self.attr_bar.setImageItem(self.attr_image, insert_in=self.attr_heat.getPlotItem())
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

    def by_pieces(self) -> bool:
        """Whether the axes show the tokenizer's pieces (asked for, or nothing to merge)."""
        return self.pieces.isChecked() or not self.pieces.isEnabled()

    def _show_attributions(self, explanation: dict | None) -> None:
        for widget in (self.explained, self.explained_label, self.source_view, self.legend, self.attr_heat):
            widget.setVisible(explanation is not None)
        if explanation is None:
            return
        values = matrix(explanation["attributions"])  # (output tokens, source tokens)
        sources, targets, values = axes(explanation["source_tokens"], explanation["target_tokens"], values,
                                        self.by_pieces(), rows="sum")
        unit = "pieces" if self.by_pieces() else "words"
        self.attr_heat.setTitle(f"attributions (rows: output {unit}, columns: source {unit})")
        self.attr_heat.setToolTip(ATTRIBUTION_RULE if unit == "words" else "")
        choices = [f"{u + 1}. {token}" for u, token in enumerate(targets)]
        if [self.explained.itemText(i) for i in range(self.explained.count())] != choices:
            self.explained.blockSignals(True)
            self.explained.clear()
            self.explained.addItems(choices)
            self.explained.blockSignals(False)
        row = max(0, self.explained.currentIndex())
        self.source_view.setText(shaded_html(sources, values[row].tolist()))
        self.legend.setText(legend(explanation))
        scale = max(1e-9, scale_of(values.ravel().tolist()))
        self.attr_image.setImage(values.T, levels=(-scale, scale))  # zero at the diverging map's middle
        self.attr_bar.setLevels((-scale, scale))
        self.attr_image.setRect(0, 0, values.shape[1], values.shape[0])
        self.attr_heat.getAxis("bottom").setTicks([[(i + 0.5, t) for i, t in enumerate(sources)]])
        self.attr_heat.getAxis("left").setTicks([[(u + 0.5, t) for u, t in enumerate(targets)]])

    def show_output(self, out: dict) -> None:
        self.result.setText(out["translation"])
        source_pieces, target_pieces = list(out.get("source_tokens") or []), list(out.get("target_tokens") or [])
        self.pieces.setEnabled(changes_anything(source_pieces) or changes_anything(target_pieces))
        self._show_attributions(self.explanation(out))
        attention = out.get("attention")
        if not attention:
            self.heat.hide()
            return
        values = matrix(attention)  # (target, source)
        source = source_pieces or [str(i) for i in range(values.shape[1])]
        target = target_pieces or [str(i) for i in range(values.shape[0])]
        by_pieces = self.by_pieces()
        source, target, values = axes(source, target, values, by_pieces, rows="mean")
        unit = "pieces" if by_pieces else "words"
        self.heat.setTitle(f"attention (rows: output {unit}, columns: source {unit})")
        self.heat.setToolTip("" if by_pieces else ATTENTION_RULE)
        self.image.setImage(values.T, levels=(0.0, 1.0))
        self.image.setRect(0, 0, values.shape[1], values.shape[0])
        self.heat.getAxis("bottom").setTicks([[(i + 0.5, t) for i, t in enumerate(source)]])
        self.heat.getAxis("left").setTicks([[(i + 0.5, t) for i, t in enumerate(target)]])
        self.heat.show()

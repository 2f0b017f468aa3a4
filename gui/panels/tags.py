"""Text in, tags out: each token coloured by its tag (entities by type), and the entities listed."""

from __future__ import annotations

import html
import zlib

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
                               QTextBrowser, QWidget)

from .base import Ask, TypingPanel
from .shading import legend, shaded_html

# A qualitative palette readable on light and dark backgrounds (Okabe-Ito, colour-blind safe).
PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999"]


def tag_type(tag: str) -> str:
    """The entity type of a BIO/BIOES tag (``B-PER`` -> ``PER``); other tags are their own type."""
    if len(tag) > 2 and tag[1] in "-_" and tag[0] in "BIESLU":
        return tag[2:]
    return tag


def tag_colour(tag: str) -> str | None:
    """A stable colour per type (the same across runs and sessions); ``O`` and empty get none."""
    kind = tag_type(tag)
    if kind in ("O", "", "_"):
        return None
    return PALETTE[zlib.crc32(kind.encode()) % len(PALETTE)]


def tokens_html(tokens: list[str], tags: list[str]) -> str:
    parts = []
    for token, tag in zip(tokens, tags):
        colour = tag_colour(tag)
        text = html.escape(token)
        label = f"<sub style='color:gray'>{html.escape(tag)}</sub>"
        if colour:
            parts.append(f"<span style='background-color:{colour}; color:black; padding:2px'>{text}</span>{label}")
        else:
            parts.append(f"{text}{label}")
    return "<p style='font-size:13pt; line-height:170%'>" + " ".join(parts) + "</p>"


class TagsPanel(TypingPanel):
    expects = ("tokens", "tags")
    placeholder = "type a sentence to tag"
    shades = True

    def __init__(self, ask: Ask, parent: QWidget | None = None):
        super().__init__(ask, parent)
        # with attributions, the words are shaded by what they gave one word's tag, chosen here
        self.explained = QComboBox(self)
        self.explained.setToolTip("the predicted tag whose attributions shade the words")
        self.explained.currentIndexChanged.connect(lambda *_: self.output is not None and self.receive(self.output))
        self.explained_label = QLabel("attributions to the tag of", self)
        row = QHBoxLayout()
        row.addWidget(self.attributions)
        row.addWidget(self.explained_label)
        row.addWidget(self.explained, 1)
        self.layout_.addLayout(row)
        self.legend = QLabel(self)
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet("color: gray")
        self.legend.hide()
        self.view = QTextBrowser(self)
        self.entities = QTableWidget(0, 3, self)
        self.entities.setHorizontalHeaderLabels(["entity", "type", "tokens"])
        self.entities.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.entities.verticalHeader().hide()
        self.layout_.addWidget(self.view, 2)
        self.layout_.addWidget(self.legend)
        self.layout_.addWidget(self.entities, 1)
        self._show_choice(False)
        self.layout_.addWidget(self.fallback, 1)

    def _show_choice(self, on: bool) -> None:
        for widget in (self.explained, self.explained_label, self.legend):
            widget.setVisible(on)

    def explained_row(self, explanation: dict) -> int:
        """The tag whose attributions are shown: the one chosen, else the first entity's (else the first)."""
        tokens, tags = explanation["tokens"], explanation["tags"]
        choices = [f"{i + 1}. {token} ({tag})" for i, (token, tag) in enumerate(zip(tokens, tags))]
        if [self.explained.itemText(i) for i in range(self.explained.count())] != choices:
            self.explained.blockSignals(True)
            self.explained.clear()
            self.explained.addItems(choices)
            self.explained.setCurrentIndex(next((i for i, t in enumerate(tags) if tag_colour(t)), 0))
            self.explained.blockSignals(False)
        return max(0, self.explained.currentIndex())

    def show_output(self, out: dict) -> None:
        explanation = self.explanation(out)
        self._show_choice(explanation is not None)
        if explanation is not None:
            row = self.explained_row(explanation)
            self.view.setHtml(shaded_html(explanation["tokens"], explanation["attributions"][row], explanation["tags"]))
            self.legend.setText(legend(explanation))
        else:
            self.view.setHtml(tokens_html(out["tokens"], out["tags"]))
        found = out.get("entities") or []
        self.entities.setVisible(bool(found) or "entities" in out)
        self.entities.setRowCount(len(found))
        for row, ent in enumerate(found):
            span = f"{ent.get('start')}–{ent.get('end')}"
            for col, value in enumerate((ent.get("text", ""), ent.get("type", ""), span)):
                item = QTableWidgetItem(str(value))
                if col == 1 and tag_colour(str(value)):
                    item.setBackground(QColor(tag_colour(str(value))))
                    item.setForeground(QColor("black"))
                self.entities.setItem(row, col, item)

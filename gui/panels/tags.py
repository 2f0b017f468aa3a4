"""Text in, tags out: each token coloured by its tag (entities by type), a legend of the tags present, and
for entity tag sets (BIO/BIOES) the entities listed."""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (QApplication, QComboBox, QHBoxLayout, QHeaderView, QLabel, QTableWidget,
                               QTableWidgetItem, QTextBrowser, QWidget)

from .base import Ask, TypingPanel
from .shading import legend, shaded_html
from .tag_colours import chip, muted

ENTITY_PREFIXES = "BIESLU"  # BIO, IOBES and BILOU's position letters


def tag_type(tag: str) -> str:
    """The entity type of a BIO/BIOES tag (``B-PER`` -> ``PER``); other tags are their own type."""
    if len(tag) > 2 and tag[1] in "-_" and tag[0] in ENTITY_PREFIXES:
        return tag[2:]
    return tag


def untagged(tag: str) -> bool:
    return tag_type(tag) in ("O", "", "_")


def tag_colour(tag: str, dark: bool = False) -> str | None:
    """The background of a tag's tokens (``#rrggbb``, one per type, the same across runs and sessions; see
    tag_colours.chip for its text colour); ``O`` and empty get none."""
    return None if untagged(tag) else chip(tag_type(tag), dark)[0]


def is_entity_tagging(out: dict) -> bool:
    """Whether the tags mark entities (BIO/BIOES), so an entity table means something: the task says so
    (``scheme``); a plugin's output without it, when every tag is ``O`` or position-prefixed."""
    scheme = out.get("scheme")
    if scheme is not None:
        return scheme != "none"
    tags = out.get("tags") or []
    return bool(out.get("entities")) or (bool(tags) and all(t == "O" or tag_type(t) != t for t in tags)
                                         and any(t != "O" for t in tags))


def dark_palette(palette: QPalette | None = None) -> bool:
    palette = palette or QApplication.palette()
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


def page_colours(palette: QPalette | None = None) -> tuple[str, str]:
    """The text view's background and text colours (``#rrggbb``)."""
    palette = palette or QApplication.palette()
    return palette.color(QPalette.ColorRole.Base).name(), palette.color(QPalette.ColorRole.Text).name()


def tokens_html(tokens: list[str], tags: list[str], dark: bool = False, note: str = "gray") -> str:
    parts = []
    for token, tag in zip(tokens, tags):
        text = html.escape(token)
        label = f"<sub style='color:{note}'>{html.escape(tag)}</sub>"
        if not untagged(tag):
            background, ink = chip(tag_type(tag), dark)
            text = f"<span style='background-color:{background}; color:{ink}; padding:2px'>{text}</span>"
        parts.append(f"{text}&#8288;{label}")  # a word joiner: "!" may end a line, its tag must not start one
    return "<p style='font-size:13pt; line-height:170%'>" + " ".join(parts) + "</p>"


def legend_entries(tags: list[str], entities: bool) -> list[str]:
    """The types to name in the legend, in order of first appearance: entity types merged over their
    B-/I-/E-/S- tags, every other tag as itself; ``O`` is left out (it has no colour)."""
    seen: dict[str, None] = {}
    for tag in tags:
        if not untagged(tag):
            seen.setdefault(tag_type(tag) if entities else tag, None)
    return list(seen)


def legend_html(kinds: list[str], dark: bool = False) -> str:
    chips = []
    for kind in kinds:
        background, ink = chip(tag_type(kind), dark)
        chips.append(f"<span style='background-color:{background}; color:{ink}'>&nbsp;{html.escape(kind)}&nbsp;</span>")
    return "&nbsp; ".join(chips)


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
        # the colours of the tags present: entity types (merged over B-/I-) or every tag of a part-of-speech set
        self.tag_legend = QLabel(self)
        self.tag_legend.setWordWrap(True)
        self.tag_legend.setToolTip("the colour of each tag in this sentence; untagged words (O) are plain")
        self.tag_legend.hide()
        self.view = QTextBrowser(self)
        self.entities = QTableWidget(0, 3, self)
        self.entities.setHorizontalHeaderLabels(["entity", "type", "tokens"])
        self.entities.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.entities.verticalHeader().hide()
        self.layout_.addWidget(self.tag_legend)
        self.layout_.addWidget(self.view, 2)
        self.layout_.addWidget(self.legend)
        self.layout_.addWidget(self.entities, 1)  # hidden for tag sets without entities: the words get it all
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

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.ApplicationPaletteChange, QEvent.Type.PaletteChange) and \
                self.output is not None and self.accepts(self.output):
            self.show_output(self.output)  # light and dark palettes have chips of their own

    def show_output(self, out: dict) -> None:
        explanation = self.explanation(out)
        self._show_choice(explanation is not None)
        # the application's palette: a widget's own copy of it follows a change only after the event loop runs
        palette = self.palette() if self.testAttribute(Qt.WidgetAttribute.WA_SetPalette) else QApplication.palette(self)
        dark, (page, ink) = dark_palette(palette), page_colours(palette)
        entities = is_entity_tagging(out)
        if explanation is not None:
            row = self.explained_row(explanation)
            self.view.setHtml(shaded_html(explanation["tokens"], explanation["attributions"][row], explanation["tags"]))
            self.legend.setText(legend(explanation))
        else:
            self.view.setHtml(tokens_html(out["tokens"], out["tags"], dark, muted(ink, page)))
        kinds = legend_entries(out["tags"], entities)
        self.tag_legend.setText(legend_html(kinds, dark))
        self.tag_legend.setVisible(explanation is None and bool(kinds))  # shaded words wear no tag colours
        found = out.get("entities") or []
        self.entities.setVisible(entities)
        self.entities.setRowCount(len(found))
        for row, ent in enumerate(found):
            span = f"{ent.get('start')}–{ent.get('end')}"
            for col, value in enumerate((ent.get("text", ""), ent.get("type", ""), span)):
                item = QTableWidgetItem(str(value))
                if col == 1 and not untagged(str(value)):
                    background, text = chip(tag_type(str(value)), dark)
                    item.setBackground(QColor(background))
                    item.setForeground(QColor(text))
                self.entities.setItem(row, col, item)

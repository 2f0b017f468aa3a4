"""A verdict as a coloured strip: what happened, and what to try, in colours of its own in any palette."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from .verdict_text import colours, split_advice, title


class VerdictBanner(QFrame):
    def __init__(self, verdict: dict[str, Any], parent: QWidget | None = None):
        super().__init__(parent)
        self.verdict = verdict
        code = str(verdict.get("code", ""))
        fill, text, edge = colours(code)
        what, advice = split_advice(str(verdict.get("message", "")))
        epoch = verdict.get("epoch")
        head = html.escape(title(code)) + (f" (epoch {epoch})" if epoch is not None else "")
        body = f"<b>{head}</b>: {html.escape(what)}"
        if advice:
            body += f"<br><b>Try:</b> {html.escape(advice)}"
        self.setObjectName("verdict")
        # the text's colour with the background's: a dark palette's light text on amber would not read
        self.setStyleSheet(f"QFrame#verdict {{ background: {fill}; border: 1px solid {edge}; "
                           f"border-left: 5px solid {edge}; border-radius: 3px; }} "
                           f"QFrame#verdict QLabel {{ color: {text}; background: transparent; border: none; }}")
        self.label = QLabel(body, self)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label)

    def text(self) -> str:
        return self.label.text()

"""The Runs tab's side box for one run's name, tags and notes (suite/run_notes.py writes them)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton,
                               QVBoxLayout, QWidget)

from suite.errors import UserError
from suite.run_notes import RunNotes, split_tags, update_notes
from suite.runs import RunSummary

from .names import own_name


class NotesBox(QWidget):
    #: the run folder whose notes were written, and what they are now
    saved = Signal(str, object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.run: RunSummary | None = None
        self.name_edit = QLineEdit(self)
        self.tags_edit = QLineEdit(self)
        self.tags_edit.setPlaceholderText("comma-separated, e.g. baseline, ett")
        self.notes_edit = QPlainTextEdit(self)
        self.notes_edit.setPlaceholderText("what this run tried, and what it showed")
        self.notes_edit.setMinimumHeight(48)
        self.save_button = QPushButton("Save", self)
        self.save_button.setToolTip("write them into the run folder's notes.json (Ctrl+S)")
        self.save_button.clicked.connect(self.save)
        self.said = QLabel(self)  # why the last save failed, or that it worked
        self.said.setWordWrap(True)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Name", self.name_edit)
        form.addRow("Tags", self.tags_edit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(form)
        layout.addWidget(self.notes_edit, 1)
        row = QHBoxLayout()
        row.addWidget(self.said, 1)
        row.addWidget(self.save_button)
        layout.addLayout(row)
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save)
        for edit in (self.name_edit, self.tags_edit):
            edit.returnPressed.connect(self.save)
        self.set_run(None)

    def dirty(self) -> bool:
        if self.run is None:
            return False
        notes = self.run.notes
        try:
            tags = split_tags(self.tags_edit.text())
        except UserError:  # typed, and not yet saved: saving says what is wrong
            return True
        return (self.name_edit.text().strip() != notes.name or self.notes_edit.toPlainText() != notes.notes
                or tags != notes.tags)

    def set_run(self, run: RunSummary | None) -> None:
        """Show ``run``'s notes (None: several runs or none selected). Edits to the run shown before are
        saved first, so moving to another run loses nothing typed."""
        if self.run is not None and run is not None and run.path == self.run.path:
            return
        if self.dirty():
            self.save()
        self.run = run
        self.setEnabled(run is not None)
        notes = run.notes if run is not None else RunNotes()
        self.name_edit.setText(notes.name)
        self.name_edit.setPlaceholderText(own_name(run.path.name) if run is not None else "")
        self.tags_edit.setText(", ".join(notes.tags))
        self.notes_edit.setPlainText(notes.notes)
        if run is not None and run.notes_damaged:
            self._say(f"{run.notes_damaged}; saving replaces it", error=True)
        else:
            self._say("" if run is not None else "Select one run to name, tag or note it.")

    def _say(self, text: str, error: bool = False) -> None:
        self.said.setText(text)
        self.said.setStyleSheet("color: #d9534f" if error else "color: gray")

    def save(self) -> bool:
        run = self.run
        if run is None:
            return False
        try:
            tags = split_tags(self.tags_edit.text())
            notes = update_notes(run.path, name=self.name_edit.text(), tags=tags,
                                 notes=self.notes_edit.toPlainText())
        except UserError as exc:
            self._say(str(exc), error=True)
            return False
        run.notes, run.notes_damaged = notes, None
        self.tags_edit.setText(", ".join(notes.tags))
        self._say("saved")
        self.saved.emit(str(run.path), notes)
        return True

"""The runs waiting to start, as a list under Run and Queue: each by its name and command, with Up and Down to
reorder them and Cancel to take one out. ``RunQueue`` is the window's queue itself (the order runs start in);
the list only shows it and edits it."""

from __future__ import annotations

import shlex

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from .process import cli_command

Entry = tuple[list[str], str]  # (the run's arguments, its name in the curves)
LIST_ROWS = 4  # rows shown before the list scrolls: the form above keeps its room


class RunQueue(QObject):
    """A list of entries that says when it changes; used as the list it replaced (append, pop, len)."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._entries: list[Entry] = []

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def __iter__(self):
        return iter(list(self._entries))

    def __getitem__(self, index: int) -> Entry:
        return self._entries[index]

    def append(self, entry: Entry) -> None:
        self._entries.append(entry)
        self.changed.emit()

    def pop(self, index: int = 0) -> Entry:
        entry = self._entries.pop(index)
        self.changed.emit()
        return entry

    def clear(self) -> list[Entry]:
        """Empties the queue; returns what it held."""
        gone, self._entries = self._entries, []
        if gone:
            self.changed.emit()
        return gone

    def move(self, index: int, by: int) -> int:
        """Moves one entry ``by`` places (negative: earlier); returns where it is now."""
        target = max(0, min(len(self._entries) - 1, index + by))
        if target != index and 0 <= index < len(self._entries):
            self._entries.insert(target, self._entries.pop(index))
            self.changed.emit()
        return target


class QueueView(QWidget):
    def __init__(self, queue: RunQueue, parent: QWidget | None = None):
        super().__init__(parent)
        self.queue = queue
        self.title = QLabel(self)
        self.list = QListWidget(self)
        self.list.setToolTip("the runs that start one after another when the current one ends, first at the top")
        self.list.currentRowChanged.connect(self._enable)
        self.up_button = QPushButton("Up", self)
        self.down_button = QPushButton("Down", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.up_button.setToolTip("start the selected run earlier")
        self.down_button.setToolTip("start the selected run later")
        self.cancel_button.setToolTip("take the selected run out of the queue (Delete)")
        self.up_button.clicked.connect(lambda: self._move(-1))
        self.down_button.clicked.connect(lambda: self._move(1))
        self.cancel_button.clicked.connect(self.cancel_selected)
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self.cancel_selected)
        # what the last Kill did to the queue: said until the queue changes again
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.hide()
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for button in (self.up_button, self.down_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        layout.addWidget(self.note)
        queue.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        keep = self.list.currentRow()
        self.list.clear()
        for i, (args, label) in enumerate(self.queue):
            command = shlex.join(cli_command(args))
            item = QListWidgetItem(f"{i + 1}. {label}  ·  {command}")
            item.setToolTip(command)
            self.list.addItem(item)
        n = len(self.queue)
        if n:
            self.note.hide()
        self.title.setText(f"Queue: {n} waiting, started in this order when the run before ends")
        rows = max(1, min(n, LIST_ROWS))
        self.list.setFixedHeight(rows * max(self.list.sizeHintForRow(0), 18) + 2 * self.list.frameWidth() + 2)
        if n:
            self.list.setCurrentRow(min(max(keep, 0), n - 1))
        for widget in (self.title, self.list, self.up_button, self.down_button, self.cancel_button):
            widget.setVisible(bool(n))
        self.setVisible(bool(n) or not self.note.isHidden())
        self._enable()

    def say(self, text: str) -> None:
        """A line under the (now perhaps empty) queue, until the queue changes: what Kill cancelled."""
        self.note.setText(text)
        self.note.show()
        self.setVisible(True)

    def forget_note(self) -> None:
        self.note.hide()
        self.setVisible(bool(self.queue))

    def _enable(self, *_args) -> None:
        row, n = self.list.currentRow(), len(self.queue)
        self.up_button.setEnabled(0 < row < n)
        self.down_button.setEnabled(0 <= row < n - 1)
        self.cancel_button.setEnabled(0 <= row < n)

    def _move(self, by: int) -> None:
        row = self.list.currentRow()
        if row < 0:
            return
        self.list.setCurrentRow(self.queue.move(row, by))  # refresh kept the old row: select where it went
        self._enable()

    def cancel_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.queue):
            self.queue.pop(row)

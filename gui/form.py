"""A settings form generated from a task's config dataclasses.

The same declarations that make the CLI flags make this form: the widget by type and choices, the
help as tooltip, the defaults from the chosen preset, and validation by the engine's own
``build_run_config``. A plugin's options therefore appear here with no GUI change.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QScrollArea, QSpinBox, QVBoxLayout, QWidget)

from suite.config import NO_PRESET, BackboneConfig, TrainConfig, build_run_config, field_flag, field_types
from suite.errors import ConfigError, UserError

from .data_check import check_data_paths

SECTION_TITLES = {"backbone": "Backbone", "train": "Training", "options": "Task"}
ERROR_COLOUR = "#d9534f"


def _names(text: str, key: str, flag: str) -> bool:
    """Whether ``text`` names the setting ``key`` or its ``flag`` as a whole word: train.lr is not
    train.lr_decay, and --lr is not --lr-decay."""
    return any(re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", text) for name in (key, flag))


def _format(value: Any) -> str:
    return "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))


class FieldEditor:
    """One field's widget, reading and writing plain Python values."""

    def __init__(self, section: str, f, tp, parent: QWidget):
        self.key = f"{section}.{f.name}"
        self.flag = field_flag(f)
        self.type = tp
        meta = f.metadata
        self.widget: QWidget
        if tp is bool:
            self.editor = QCheckBox(parent)
        elif meta.get("choices"):
            self.editor = QComboBox(parent)
            self.editor.addItems([str(c) for c in meta["choices"]])
            # as narrow as a short choice: the longest one (ddp_find_unused_parameters_true) set the form's width
            self.editor.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            self.editor.setMinimumContentsLength(8)
        elif tp is int:
            self.editor = QSpinBox(parent)
            self.editor.setRange(int(meta["min"]) if meta.get("min") is not None else -10**9, 10**9)
        else:  # floats and text: typed freely (1e-3), checked by the engine
            self.editor = QLineEdit(parent)
        self.editor.setToolTip(f"{meta.get('help', '')}\n{self.flag}")
        self.editor.setObjectName(self.key)
        # what is wrong with the value, under it (hidden while it is fine)
        self.message = QLabel(parent)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.message.hide()
        self.widget = QWidget(parent)
        column = QVBoxLayout(self.widget)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.editor, 1)
        if meta.get("path"):
            browse = QPushButton("…", self.widget)
            browse.setToolTip("choose a file")
            browse.setFixedWidth(28)
            browse.clicked.connect(self._browse)
            row.addWidget(browse)
        column.addLayout(row)
        column.addWidget(self.message)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.widget, "Choose data", "",
                                              "Tables (*.csv *.tsv *.json *.jsonl *.parquet *.gz);;All files (*)")
        if path:
            self.set(path)

    def get(self) -> Any:
        e = self.editor
        if isinstance(e, QCheckBox):
            return e.isChecked()
        if isinstance(e, QComboBox):
            return e.currentText()
        if isinstance(e, QSpinBox):
            return e.value()
        return e.text().strip()

    def set(self, value: Any) -> None:
        e = self.editor
        if isinstance(e, QCheckBox):
            e.setChecked(bool(value))
        elif isinstance(e, QComboBox):
            e.setCurrentText(_format(value))
        elif isinstance(e, QSpinBox):
            e.setValue(int(value))
        else:
            e.setText(_format(value))

    def mark(self, problem: str | None) -> None:
        """Show ``problem`` under the field with a red border, or neither (None)."""
        self.editor.setStyleSheet(f"border: 1px solid {ERROR_COLOUR};" if problem else "")
        self.message.setText(problem or "")
        self.message.setVisible(bool(problem))

    def connect(self, slot) -> None:
        e = self.editor
        signal = (e.toggled if isinstance(e, QCheckBox) else e.currentTextChanged if isinstance(e, QComboBox)
                  else e.valueChanged if isinstance(e, QSpinBox) else e.textChanged)
        signal.connect(slot)


class ConfigForm(QWidget):
    """Backbone, training and task options for one task, with presets and live validation."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.task = None
        self.preset: str = NO_PRESET
        self.editors: dict[str, FieldEditor] = {}
        self._baseline: dict[str, Any] = {}
        self._loading = False
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        # the form's error as one line, with a link to its field: ``error_box``, which the window shows
        # above the form (at the bottom of 45 fields it was out of sight)
        self.error_box = QWidget(self)
        self.error_label = QLabel(self.error_box)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_link = QLabel(self.error_box)
        self.error_link.linkActivated.connect(self.show_field)
        row = QHBoxLayout(self.error_box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.error_label, 1)
        row.addWidget(self.error_link, 0, Qt.AlignmentFlag.AlignTop)
        self.error_box.hide()
        self.error_key: str | None = None  # the field the error is about, if one is
        #: the folder runs start in; set, the data paths are checked as a run would look for them
        self.workdir: str | None = None
        self._groups: list[QGroupBox] = []

    def set_task(self, task, preset: str | None = None, explicit: dict[str, Any] | None = None) -> None:
        for group in self._groups:
            group.deleteLater()
        self._groups, self.editors, self.task = [], {}, task
        for section, cls in (("backbone", BackboneConfig), ("train", TrainConfig), ("options", task.Config)):
            group = QGroupBox(SECTION_TITLES[section] if section != "options" else f"Task: {task.title}", self)
            form = QFormLayout(group)
            types = field_types(cls)
            for f in fields(cls):
                editor = FieldEditor(section, f, types[f.name], group)
                editor.connect(self._edited)
                label = QLabel(f.name.replace("_", " "), group)
                label.setToolTip(editor.editor.toolTip())
                form.addRow(label, editor.widget)
                self.editors[editor.key] = editor
            self._layout.addWidget(group)
            self._groups.append(group)
        self.set_preset(preset if preset is not None else (task.default_preset({}) or NO_PRESET), explicit)

    def set_preset(self, preset: str, explicit: dict[str, Any] | None = None) -> None:
        """Show the preset's settings, with ``explicit`` values (e.g. restored ones) on top."""
        self.preset = preset
        base = build_run_config(self.task, preset=preset).to_dict()
        self._baseline = {f"{s}.{k}": v for s in ("backbone", "train", "options") for k, v in base[s].items()}
        self._loading = True
        for key, editor in self.editors.items():
            editor.set(self._baseline[key])
        for key, value in (explicit or {}).items():
            if key in self.editors:
                self.editors[key].set(value)
        self._loading = False
        self._edited()

    def values(self) -> dict[str, Any]:
        return {key: editor.get() for key, editor in self.editors.items()}

    def explicit(self) -> dict[str, Any]:
        """The settings that differ from the preset: what the command line must say."""
        out = {}
        for key, value in self.values().items():
            base = self._baseline.get(key)
            if _format(value) != _format(base) and not (value == "" and base is None):
                out[key] = value
        return out

    def validate(self):
        """The resolved RunConfig, or raise the engine's error (and mark the field)."""
        for editor in self.editors.values():
            editor.mark(None)
        try:
            cfg = build_run_config(self.task, preset=self.preset, explicit=self.explicit())
            if self.workdir is not None:  # the data, as the run will look for it
                check_data_paths(cfg.options, self.workdir)
        except UserError as exc:
            self._show_error(exc)
            raise
        self._show_error(None)
        return cfg

    def _show_error(self, exc: UserError | None) -> None:
        self.error_key = None
        if exc is not None:
            field = getattr(exc, "field", "") or str(exc)
            for key, editor in self.editors.items():
                if _names(field, key, editor.flag):
                    # the message without the field's name, which the row already shows
                    editor.mark(str(exc).removeprefix(f"{field}: ") if str(exc).startswith(field) else str(exc))
                    self.error_key = self.error_key or key
        text = "" if exc is None else str(exc)
        self.error_label.setText(text)
        self.error_link.setText(f"<a href='{self.error_key}'>show the field</a>" if self.error_key else "")
        self.error_box.setVisible(bool(text))

    def show_field(self, key: str) -> None:
        """Scroll the form to the field ``key`` and put the cursor in it."""
        editor = self.editors.get(key)
        if editor is None:
            return
        scroll = self.parentWidget()
        while scroll is not None and not isinstance(scroll, QScrollArea):
            scroll = scroll.parentWidget()
        if scroll is not None:
            scroll.ensureWidgetVisible(editor.widget)
        editor.editor.setFocus()

    def cli_args(self) -> list[str]:
        args = ["--task", self.task.name, "--preset", self.preset]
        for key, value in self.explicit().items():
            flag = self.editors[key].flag
            if isinstance(value, bool):
                args.append(flag if value else "--no-" + flag[2:])
            else:
                args += [flag, _format(value)]
        return args

    def _edited(self, *_):
        if self._loading:
            return
        try:
            self.validate()
        except (ConfigError, UserError):
            pass
        self.changed.emit()

"""A settings form generated from a task's config dataclasses.

The same declarations that make the CLI flags make this form: the widget by type and choices, the
help as tooltip, the defaults from the chosen preset, and validation by the engine's own
``build_run_config``. A plugin's options therefore appear here with no GUI change.
"""

from __future__ import annotations

import os
import re
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QScrollArea, QSizePolicy, QSpinBox, QToolButton, QVBoxLayout,
                               QWidget)

from suite.config import (NO_PRESET, BackboneConfig, TrainConfig, build_run_config, data_root_default, field_flag,
                          field_group, field_types)
from suite.errors import ConfigError, UserError

from .data_check import check_data_paths
from .data_preview import DataPreview

SECTION_TITLES = {"backbone": "Backbone", "train": "Training", "options": "Task"}
ERROR_COLOUR = "#d9534f"
#: the main groups top to bottom: the task's own settings, then the network's, then training's
MAIN_ORDER = ("options", "backbone", "train")


def _names(text: str, key: str, flag: str) -> bool:
    """Whether ``text`` names the setting ``key`` or its ``flag`` as a whole word: train.lr is not
    train.lr_decay, and --lr is not --lr-decay."""
    return any(re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", text) for name in (key, flag))


def _format(value: Any) -> str:
    return "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))


def browse_start(value: str, workdir: str | None) -> str:
    """Where the "…" dialog opens: the data root, else the folder of the current value, else the working
    folder; the run looks a relative path up in the same places."""
    root = data_root_default()
    if root and Path(root).expanduser().is_dir():
        return str(Path(root).expanduser())
    base = Path(workdir or os.getcwd())
    if value:
        given = Path(value).expanduser()
        place = given if given.is_absolute() else base / given
        for folder in (place, place.parent):
            try:
                if folder.is_dir():
                    return str(folder)
            except OSError:
                continue
    return str(base)


class FieldEditor:
    """One field's widget, reading and writing plain Python values."""

    def __init__(self, section: str, f, tp, parent: QWidget, workdir: Callable[[], str | None] = lambda: None):
        self.key = f"{section}.{f.name}"
        self.flag = field_flag(f)
        self.type = tp
        self.group = field_group(f)
        self._workdir = workdir
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
        value = self.get()
        path, _ = QFileDialog.getOpenFileName(self.widget, "Choose data",
                                              browse_start(value if isinstance(value, str) else "", self._workdir()),
                                              "All files (*);;Tables (*.csv *.tsv *.json *.jsonl *.parquet *.gz)")
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
        self._groups: list[QWidget] = []
        # the data first: its settings, then what they read (the preview), then the settings that matter,
        # then the rarely changed ones, collapsed under one header that counts what is set in them
        self.preview = DataPreview(self)
        self.advanced_button = QToolButton(self)
        self.advanced_button.setObjectName("advanced_header")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.advanced_button.setStyleSheet("QToolButton { border: none; font-weight: bold; }")
        self.advanced_button.toggled.connect(self.set_advanced_open)
        self.advanced = QWidget(self)  # the Advanced group's body
        self._advanced_layout = QVBoxLayout(self.advanced)
        self._advanced_layout.setContentsMargins(0, 0, 0, 0)
        self.advanced.hide()
        self.advanced_button.hide()
        self._preview_args: list[str] | None = None
        self.advanced_keys: set[str] = set()
        self.data_keys: set[str] = set()

    def set_task(self, task, preset: str | None = None, explicit: dict[str, Any] | None = None) -> None:
        for group in self._groups:
            group.hide()  # out of sight and out of the layout now; deleted once the event loop is back
            group.deleteLater()
        self._groups, self.editors, self.task = [], {}, task
        classes = {"backbone": BackboneConfig, "train": TrainConfig, "options": task.Config}
        placed: dict[str, list[tuple[str, Any, Any]]] = {"data": [], "main": [], "advanced": []}
        for section in MAIN_ORDER:
            types = field_types(classes[section])
            for f in fields(classes[section]):
                placed[field_group(f)].append((section, f, types[f.name]))
        for item in (self.preview, self.advanced_button, self.advanced):
            self._layout.removeWidget(item)
        self._add_group("Data", placed["data"], self, self._layout)
        self._layout.addWidget(self.preview)
        self.preview.setVisible(bool(placed["data"]))
        if not placed["data"]:  # a task without data settings: nothing of the last task's is read on
            self.preview.shutdown()
        for section in MAIN_ORDER:
            title = SECTION_TITLES[section] if section != "options" else f"Task: {task.title}"
            self._add_group(title, [p for p in placed["main"] if p[0] == section], self, self._layout)
        self._layout.addWidget(self.advanced_button)
        self._layout.addWidget(self.advanced)
        for section in MAIN_ORDER:
            self._add_group(SECTION_TITLES[section], [p for p in placed["advanced"] if p[0] == section],
                            self.advanced, self._advanced_layout)
        # the command line keeps its own order (backbone, training, task; as --help lists them), not the form's
        self.editors = {f"{s}.{f.name}": self.editors[f"{s}.{f.name}"] for s in ("backbone", "train", "options")
                        for f in fields(classes[s])}
        self.advanced_keys = {f"{section}.{f.name}" for section, f, _ in placed["advanced"]}
        self.data_keys = {f"{section}.{f.name}" for section, f, _ in placed["data"]}
        self.advanced_button.setVisible(bool(placed["advanced"]))
        self.set_advanced_open(False)
        self._preview_args = None
        self.set_preset(preset if preset is not None else (task.default_preset({}) or NO_PRESET), explicit)

    def _add_group(self, title: str, items, parent: QWidget, layout: QVBoxLayout) -> None:
        if not items:
            return
        group = QGroupBox(title, parent)
        form = QFormLayout(group)
        for section, f, tp in items:
            editor = FieldEditor(section, f, tp, group, lambda: self.workdir)
            editor.connect(self._edited)
            label = QLabel(f.name.replace("_", " "), group)
            label.setToolTip(editor.editor.toolTip())
            form.addRow(label, editor.widget)
            self.editors[editor.key] = editor
        layout.addWidget(group)
        self._groups.append(group)

    def set_advanced_open(self, open_: bool) -> None:
        """Show or fold the Advanced group."""
        self.advanced_button.blockSignals(True)
        self.advanced_button.setChecked(open_)
        self.advanced_button.blockSignals(False)
        self.advanced_button.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)
        self.advanced.setVisible(open_)

    def advanced_open(self) -> bool:
        return self.advanced_button.isChecked()

    def _count_advanced(self) -> None:
        changed = sum(1 for key in self.explicit() if key in self.advanced_keys)
        self.advanced_button.setText(f"Advanced ({changed} changed)" if changed else "Advanced")
        self.advanced_button.setToolTip("rarely changed settings" + (
            f"; {changed} set here differ from the preset's" if changed else ""))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        """As wide as the Advanced group open, folded or not: opening it must not need a sideways scroll."""
        hint = super().minimumSizeHint()
        if not self.advanced.isVisible():
            margins = self._layout.contentsMargins()
            hint.setWidth(max(hint.width(), self.advanced.minimumSizeHint().width() + margins.left() + margins.right()))
        return hint

    def data_args(self) -> list[str]:
        """The command line's flags for the data settings alone: what the preview reads."""
        args = ["--task", self.task.name, "--preset", self.preset]
        for key, value in self.explicit().items():
            if key in self.data_keys:
                args += self._flag_args(key, value)
        return args

    def _update_preview(self) -> None:
        if not self.data_keys:
            return
        if self.error_key in self.data_keys:  # the form says what is wrong; reading it would only say it again
            self._preview_args = None
            self.preview.hold("no preview until the data setting is fixed: " + self.error_label.text())
            return
        args = self.data_args()
        if args != self._preview_args:
            self._preview_args = args
            self.preview.request(args, self.workdir or os.getcwd())

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
        key = self.error_key
        if key in self.advanced_keys and not self.advanced_open():
            # a folded field with an error (a preset's or a restored value): open its group and show it
            self.set_advanced_open(True)
            QTimer.singleShot(0, lambda: self.show_field(key, focus=False) if key in self.editors else None)

    def show_field(self, key: str, focus: bool = True) -> None:
        """Scroll the form to the field ``key`` (opening the Advanced group for one of its fields) and put
        the cursor in it."""
        editor = self.editors.get(key)
        if editor is None:
            return
        if key in self.advanced_keys and not self.advanced_open():
            self.set_advanced_open(True)
        scroll = self.parentWidget()
        while scroll is not None and not isinstance(scroll, QScrollArea):
            scroll = scroll.parentWidget()
        if scroll is not None:
            if scroll.widget() is not None and scroll.widget().layout() is not None:
                scroll.widget().layout().activate()  # an opened group: its fields placed before scrolling
            scroll.ensureWidgetVisible(editor.widget)
        if focus:
            editor.editor.setFocus()

    def cli_args(self) -> list[str]:
        args = ["--task", self.task.name, "--preset", self.preset]
        for key, value in self.explicit().items():
            args += self._flag_args(key, value)
        return args

    def _flag_args(self, key: str, value: Any) -> list[str]:
        flag = self.editors[key].flag
        if isinstance(value, bool):
            return [flag if value else "--no-" + flag[2:]]
        return [flag, _format(value)]

    def _edited(self, *_):
        if self._loading:
            return
        try:
            self.validate()
        except (ConfigError, UserError):
            pass
        self._count_advanced()
        self._update_preview()
        self.changed.emit()

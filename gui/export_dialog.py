"""Export… in the Runs tab: a format and a folder, for ``--checkpoint RUN --export FORMAT --output DIR``.

The export itself is the command line's, run as a child process like every run the window starts, so an
export from the window is the same as one typed in a shell (docs/EXPORT.md).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget)

from .process import cli_command

FORMATS = ("onnx", "torchscript")
FORMAT_HELP = {"onnx": "ONNX, run by onnxruntime: the exported predictor needs only numpy and onnxruntime",
               "torchscript": "TorchScript, run by PyTorch without this suite"}


def export_args(run_dir: str, fmt: str, folder: str) -> list[str]:
    return ["--checkpoint", str(run_dir), "--export", fmt, "--output", str(folder)]


def default_folder(workdir: str, run_dir: str, fmt: str) -> str:
    return str(Path(workdir) / "exports" / f"{Path(run_dir).name}-{fmt}")


class ExportDialog(QDialog):
    def __init__(self, run_dir: str, workdir: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export the run")
        self.run_dir, self.workdir = run_dir, workdir
        self.format = QComboBox(self)
        for fmt in FORMATS:
            self.format.addItem(fmt, fmt)
            self.format.setItemData(self.format.count() - 1, FORMAT_HELP[fmt], Qt.ItemDataRole.ToolTipRole)
        self.folder = QLineEdit(default_folder(workdir, run_dir, FORMATS[0]), self)
        self.folder.setMinimumWidth(420)
        self._suggested = self.folder.text()  # follows the format until the user types a folder
        browse = QPushButton("…", self)
        browse.setToolTip("choose a folder")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.command = QLabel(self)
        self.command.setWordWrap(True)
        self.command.setStyleSheet("color: gray;")
        self.error = QLabel(self)
        self.error.setStyleSheet("color: #d9534f;")
        self.error.hide()
        form = QFormLayout()
        form.addRow("Run", QLabel(str(run_dir), self))
        form.addRow("Format", self.format)
        form.addRow("Folder", folder_row)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.command)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.format.currentIndexChanged.connect(self._format_chosen)
        self.folder.textChanged.connect(self._show_command)
        self._show_command()

    def choice(self) -> tuple[str, str]:
        return self.format.currentData(), self.folder.text().strip()

    def args(self) -> list[str]:
        return export_args(self.run_dir, *self.choice())

    def accept(self) -> None:
        fmt, folder = self.choice()
        problem = None
        if not folder:
            problem = "choose a folder to write the export into"
        elif Path(folder).expanduser().exists() and not Path(folder).expanduser().is_dir():
            problem = f"{folder}: is a file; choose a folder"
        if problem:
            self.error.setText(problem)
            self.error.show()
            return
        super().accept()

    def _format_chosen(self) -> None:
        if self.folder.text() == self._suggested:
            self._suggested = default_folder(self.workdir, self.run_dir, self.format.currentData())
            self.folder.setText(self._suggested)
        self._show_command()

    def _show_command(self) -> None:
        self.error.hide()
        self.command.setText(shlex.join(cli_command(self.args())))

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Export into", self.folder.text() or self.workdir)
        if path:
            self.folder.setText(path)

    @classmethod
    def ask(cls, run_dir: str, workdir: str, parent: QWidget | None = None) -> list[str] | None:
        """The export's command-line arguments, or None if the user cancelled."""
        dialog = cls(run_dir, workdir, parent)
        return dialog.args() if dialog.exec() == QDialog.DialogCode.Accepted else None

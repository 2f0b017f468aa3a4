"""Export… in the Runs tab: the dialog, the command line it runs as a child, and what the user is told."""

from __future__ import annotations

import shlex

import pytest
from fake_process import FakeProcess
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from recorded_runs import write_recorded


def click(window, qtbot, text):
    (button,) = [b for b in window.runs_panel.findChildren(QPushButton) if b.text() == text]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_the_dialog_builds_the_command_line(qtbot, tmp_path):
    from gui.export_dialog import ExportDialog

    run = tmp_path / "runs" / "forecast" / "20261201-145701-cosine-sequence-rnn32-L500H1"
    dialog = ExportDialog(str(run), str(tmp_path))
    qtbot.addWidget(dialog)
    assert [dialog.format.itemText(i) for i in range(dialog.format.count())] == ["onnx", "torchscript"]
    folder = tmp_path / "exports" / f"{run.name}-onnx"
    assert dialog.args() == ["--checkpoint", str(run), "--export", "onnx", "--output", str(folder)]
    dialog.format.setCurrentIndex(1)  # the suggested folder follows the format
    assert dialog.args()[3:] == ["torchscript", "--output", str(tmp_path / "exports" / f"{run.name}-torchscript")]
    assert dialog.command.text() == shlex.join(["python", "-m", "suite", *dialog.args()])
    dialog.folder.setText(str(tmp_path / "mine"))
    dialog.format.setCurrentIndex(0)  # a folder the user typed stays
    assert dialog.args()[-1] == str(tmp_path / "mine")
    (tmp_path / "a-file").write_text("x")
    dialog.folder.setText(str(tmp_path / "a-file"))
    dialog.accept()
    assert dialog.result() == 0 and dialog.error.text() == f"{tmp_path / 'a-file'}: is a file; choose a folder"


@pytest.fixture
def exporting(fake_window, tmp_path, monkeypatch):
    from gui.export_dialog import ExportDialog, export_args

    run = write_recorded(tmp_path / "runs", "20261201-145701-cosine-sequence-rnn32-L500H1")
    out = tmp_path / "exported"
    monkeypatch.setattr(ExportDialog, "ask", classmethod(lambda cls, run_dir, workdir, parent=None:
                                                          export_args(run_dir, "onnx", str(out))))
    window = fake_window
    window.runs_panel.refresh()
    window.tabs.setCurrentWidget(window.runs_panel)
    window.runs_panel.table.selectRow(0)
    return window, run, out


def test_export_runs_the_command_line_as_a_child_and_says_how_it_went(exporting, qtbot):
    window, run, out = exporting
    click(window, qtbot, "Export…")
    proc = FakeProcess.made[-1]
    assert proc.args == ["--checkpoint", str(run), "--export", "onnx", "--output", str(out), "--events", "stdout"]
    assert proc.cwd == window.workdir
    assert window.runs_panel.notice.text() == f"exporting {run.name} as onnx…"
    proc.say(f"exported forecast as onnx to {out}: forecaster.onnx, predict.py")
    proc.say(f"predict with: python {out}/predict.py INPUT [--output FILE]")
    proc.end(0, "finished")
    said = f"exported forecast as onnx to {out}: forecaster.onnx, predict.py"
    assert window.runs_panel.notice.text() == said and window.state_label.text() == said
    assert f"predict with: python {out}/predict.py" in window.log.toPlainText()

    click(window, qtbot, "Export…")  # this time the command line refuses
    proc = FakeProcess.made[-1]
    message = "--export onnx needs onnx and onnxruntime: pip install rnn-suite[export]"
    proc.say(f"error: {message}")
    proc.emit("error", message=message)
    proc.end(2, "failed")
    assert window.runs_panel.notice.text() == f"export failed: {message}"
    assert window.log.toPlainText().count(message) == 1


def test_an_export_while_a_run_trains_leaves_the_runs_status_alone(exporting, qtbot):
    window, run, out = exporting
    window.start_run()
    training = FakeProcess.made[-1]
    training.emit("started", run_dir="/runs/live", max_epochs=3, monitor="val/mse", mode="min", device="cpu",
                  world_size=1, time=1.0)
    window.refresh_status()
    status, log = window.state_label.text(), window.log.toPlainText()
    click(window, qtbot, "Export…")
    export = FakeProcess.made[-1]
    assert export is not training and training.running()
    export.say(f"exported forecast as onnx to {out}: forecaster.onnx")
    export.end(0, "finished")
    assert window.runs_panel.notice.text() == f"exported forecast as onnx to {out}: forecaster.onnx"
    assert window.state_label.text() == status and window.log.toPlainText() == log
    assert window.process is training

"""The desktop application driven as a user would: pick, edit, run, stop, fail, compare, try."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from PySide6.QtCore import Qt

from suite.registry import GROUP

RUN_TIMEOUT = 180_000  # ms; a 2-epoch cosine run takes ~15 s on two idle cores


def edit(window, key: str, value) -> None:
    window.form.editors[key].set(value)


def start(window, qtbot, **settings) -> None:
    # one torch thread: the GUI and pytest share the cores with the child, and spinning threads collapse
    settings = {"train.threads": 1, **settings}
    for key, value in settings.items():
        edit(window, key, value)
    assert window.run_button.isEnabled(), window.form.error_label.text()
    qtbot.mouseClick(window.run_button, Qt.MouseButton.LeftButton)


def wait_ended(window, qtbot) -> None:
    qtbot.waitUntil(lambda: window.process is not None and not window.process.running()
                    and window.stop_button.isEnabled() is False, timeout=RUN_TIMEOUT)


def finished_runs(tmp_path: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/*/results.json")]


def test_task_picker_form_and_command(make_window):
    window = make_window()
    assert window.task_box.currentData() == "forecast"
    assert window.preset_box.currentData() == "seed"
    assert window.form.editors["backbone.cell"].get() == "rnn"       # the preset's values are shown
    assert window.form.editors["options.lookback"].get() == 500
    edit(window, "train.max_epochs", 2)
    assert window.command.text() == "python -m suite --task forecast --preset seed --max-epochs 2"
    edit(window, "train.threads", 1)
    assert window.command.text() == "python -m suite --task forecast --preset seed --max-epochs 2 --threads 1"
    edit(window, "train.lr", "-1")
    assert "train.lr (--lr): must be greater than 0.0" in window.form.error_label.text()
    assert not window.run_button.isEnabled()
    edit(window, "train.lr", "0.003")
    assert window.run_button.isEnabled()


def test_two_epoch_run_shows_curves_and_results(make_window, qtbot, tmp_path, monkeypatch):
    window = make_window()
    start(window, qtbot, **{"train.max_epochs": 2})
    wait_ended(window, qtbot)
    assert window.state_label.text().startswith("run finished"), window.log.toPlainText()
    (results,) = finished_runs(tmp_path)
    assert results["epochs_completed"] == 2
    for name in ("train/loss", "val/mse"):  # both curves were drawn from the live events
        curve = window.curves.curve(window.run_label, name)
        assert curve is not None and len(curve.getData()[0]) > 0, name
    assert window.progress.value() == 100
    assert "best" in window.metric_label.text()
    window.runs_panel.refresh()
    assert window.runs_panel.table.rowCount() == 1
    from gui.runs_panel import STATUS_COLUMN

    assert window.runs_panel.table.item(0, STATUS_COLUMN).text() == "finished"

    # the prediction panel answers for the trained run
    (run_dir,) = [p.parent for p in (tmp_path / "runs").glob("*/*/results.json")]
    assert window.process.run_dir == str(run_dir.resolve())  # from the started event, not scraped from a log
    shown = shlex.split(window.command.text())
    assert shown[0] == "python" and window.process.process.arguments() == [*shown[1:], "--events", "stdout"]
    window.try_run(str(run_dir))
    panel = window.predict_panel
    qtbot.waitUntil(lambda: panel.body is not None and panel.body.output is not None, timeout=60_000)
    output = panel.body.output
    assert output["targets"] == ["cos"] and len(output["forecast"]["cos"]) == 1
    panel.body.forecast(2600)
    qtbot.waitUntil(lambda: panel.body.output["origin"] == 2600, timeout=60_000)
    assert abs(panel.body.output["forecast"]["cos"][0] - panel.body.output["actual"]["cos"][0]) < 0.2
    panel.body.steps.setValue(24)  # the horizon-1 model rolled out 24 steps, feeding its forecasts back
    qtbot.waitUntil(lambda: panel.body.output["steps"] == 24, timeout=60_000)
    out = panel.body.output
    assert out["origin"] == 2600 and len(out["forecast"]["cos"]) == len(out["actual"]["cos"]) == 24

    # Export… runs the command line's --export on the run, as a child, and says what it wrote
    from gui.export_dialog import ExportDialog, export_args

    folder = tmp_path / "exported"
    monkeypatch.setattr(ExportDialog, "ask", classmethod(lambda cls, run, workdir, parent=None:
                                                          export_args(run, "torchscript", str(folder))))
    window.tabs.setCurrentWidget(window.runs_panel)
    window.runs_panel.table.selectRow(0)
    window.runs_panel.export_button.click()
    notice = window.runs_panel.notice
    qtbot.waitUntil(lambda: notice.text().startswith(("exported ", "export failed")), timeout=RUN_TIMEOUT)
    assert notice.text().startswith(f"exported forecast as torchscript to {folder}"), notice.text()
    assert (folder / "predict.py").is_file()


def test_stop_ends_gracefully_and_keeps_results(make_window, qtbot, tmp_path):
    window = make_window()
    start(window, qtbot, **{"train.max_epochs": 300})
    qtbot.waitUntil(lambda: window.progress.value() >= 1, timeout=RUN_TIMEOUT)
    qtbot.mouseClick(window.stop_button, Qt.MouseButton.LeftButton)
    wait_ended(window, qtbot)
    assert window.state_label.text().startswith("run stopped")
    (results,) = finished_runs(tmp_path)
    assert results["status"] == "stopped" and results["epochs_completed"] < 300


def test_bad_data_shows_the_error_once_and_the_window_still_works(make_window, qtbot, tmp_path):
    """A file the form cannot judge (it exists; only reading it shows it is empty): the child says why."""
    window = make_window()
    (tmp_path / "empty.csv").write_text("")
    start(window, qtbot, **{"options.data": "empty.csv", "options.lookback": 24, "options.horizon": 12})
    wait_ended(window, qtbot)
    expected = f"{tmp_path / 'empty.csv'}: file is empty"
    assert window.state_label.text() == f"run failed: {expected}"
    assert window.log.toPlainText().count(expected) == 1  # the child's line, not a second copy
    assert window.run_button.isEnabled() and not window.stop_button.isEnabled()
    assert finished_runs(tmp_path) == []
    edit(window, "options.data", "cosine")  # still fully usable
    assert window.run_button.isEnabled()


def test_settings_are_restored(make_window):
    first = make_window()
    edit(first, "backbone.hidden", 48)
    first.close()
    second = make_window()
    assert second.form.editors["backbone.hidden"].get() == 48


def test_a_plugin_task_appears_with_its_form(make_window, tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "demo_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "demo_plugin.py").write_text(
        "from dataclasses import dataclass\n"
        "from suite.config import option\nfrom suite.task import Task\n"
        "@dataclass\nclass DemoConfig:\n    width: int = option(7, 'how wide', min=1)\n"
        "class DemoTask(Task):\n    name = 'demo'\n    title = 'Demo plugin'\n"
        "    description = 'a task installed after the GUI was written'\n    Config = DemoConfig\n")
    (site / "demo_plugin-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: demo\nVersion: 0.1\n")
    (site / "demo_plugin-0.1.dist-info" / "entry_points.txt").write_text(f"[{GROUP}]\ndemo = demo_plugin:DemoTask\n")
    monkeypatch.syspath_prepend(str(site))
    window = make_window()
    index = window.task_box.findData("demo")
    assert index >= 0 and window.task_box.itemText(index) == "Demo plugin (demo)"
    window.task_box.setCurrentIndex(index)
    assert window.form.editors["options.width"].get() == 7
    assert "how wide" in window.form.editors["options.width"].editor.toolTip()
    assert window.command.text() == "python -m suite --task demo --preset none"


def test_queued_runs_follow_each_other_and_compare_side_by_side(make_window, qtbot, tmp_path):
    """The seeds' question, "RNN or GRU?", answered in one view: queue both, then compare them."""
    window = make_window()
    start(window, qtbot, **{"train.max_epochs": 1, "backbone.cell": "rnn"})
    edit(window, "backbone.cell", "gru")
    qtbot.mouseClick(window.queue_button, Qt.MouseButton.LeftButton)
    assert window.queue and "queued (1 waiting)" in window.state_label.text()
    qtbot.waitUntil(lambda: len(finished_runs(tmp_path)) == 2 and not window.process.running()
                    and not window.queue, timeout=2 * RUN_TIMEOUT)
    cells = sorted(r["config"]["backbone"]["cell"] for r in finished_runs(tmp_path))
    assert cells == ["gru", "rnn"]

    window.show()  # shortcuts go to the active window
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)  # the Runs tab
    assert window.tabs.currentWidget() is window.runs_panel
    panel = window.runs_panel
    panel.refresh()
    assert panel.table.rowCount() == 2
    panel.table.selectAll()
    assert sorted(panel.curves.runs()) == sorted(r.path.name for r in panel.runs)
    assert panel.diff.columnCount() == 2
    first_key = panel.diff.verticalHeaderItem(0).text()
    assert first_key == "cell"  # differences come first
    assert {panel.diff.item(0, c).text() for c in range(2)} == {"rnn", "gru"}
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 0

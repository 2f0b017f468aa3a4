"""Open (in the Runs tab) shows a run in the Training tab: its own curves, metric, log and status."""

from __future__ import annotations

from fake_process import FakeProcess
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from recorded_runs import METRICS_HEADER, seed_config, write_recorded
from run_damage import good_results


def music_run(root):
    rows = []
    for epoch in range(2):
        rows.append(f"{100 + epoch},{(epoch + 1) * 10},{epoch},train/loss,{2.0 - epoch / 2}")
        for name, value in (("val/accuracy", 0.3 + epoch / 10), ("val/loss", 1.9 - epoch / 4),
                            ("val/nll", 1.8 - epoch / 4)):
            rows.append(f"{100.5 + epoch},{(epoch + 1) * 10},{epoch},{name},{value}")
    results = good_results(task="music", monitor="nll", metrics={"val": {"nll": 1.55, "accuracy": 0.4},
                                                                   "test": {"nll": 1.6, "accuracy": 0.39}},
                           baseline={"name": "frequency", "val": {"nll": 2.5}, "test": {"nll": 2.6}})
    return write_recorded(root, "20261201-120000-bach-nade-lstm16", task="music",
                          config=seed_config("music", preset=None), results=results,
                          metrics=METRICS_HEADER + "".join(row + "\r\n" for row in rows))


def click_open(window, qtbot):
    (button,) = [b for b in window.runs_panel.findChildren(QPushButton) if b.text() == "Open"]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_a_run_of_another_task_opens_with_its_own_metric_log_and_status(fake_window, qtbot, tmp_path):
    window = fake_window
    run = music_run(tmp_path / "runs")
    assert window.form.task.name == "forecast"
    window.start_run()  # an earlier run in this window, whose log and status must go
    earlier = FakeProcess.made[-1]
    earlier.say("Epoch 1: the earlier run's own line")
    earlier.emit("started", run_dir="/runs/earlier", max_epochs=1, monitor="val/mse", mode="min", device="cpu",
                 world_size=1, time=1.0)
    earlier.emit("metric", name="val/mse", value=0.25, step=1, epoch=0, time=2.0)
    earlier.end(0, "finished")
    assert "0.25" in window.metric_label.text()

    window.runs_panel.refresh()
    window.tabs.setCurrentWidget(window.runs_panel)
    window.runs_panel.table.selectRow(0)
    click_open(window, qtbot)
    assert window.tabs.currentIndex() == 0
    assert window.curves.val_combo.currentText() == "val/nll"  # the music run's monitor, not the form's
    assert window.curves.runs() == [run.name]
    log = window.log.toPlainText()
    assert "earlier run" not in log and str(run) in log and "test nll 1.6" in log
    assert window.state_label.text() == f"showing the finished music run {run}"
    assert window.metric_label.text() == "val nll 1.55 (baseline 2.5)"
    assert window.progress.value() == 100


def test_open_while_a_run_trains_leaves_the_training_tab_to_that_run(fake_window, qtbot, tmp_path):
    window = fake_window
    write_recorded(tmp_path / "runs", "20261201-120000-cosine-sequence-rnn32-L500H1")
    window.runs_panel.refresh()
    window.start_run()
    live = FakeProcess.made[-1]
    live.emit("started", run_dir="/runs/live", max_epochs=3, monitor="val/mse", mode="min", device="cpu",
              world_size=1, time=1.0)
    live.say("the live run's line")
    window.tabs.setCurrentWidget(window.runs_panel)
    window.runs_panel.table.selectRow(0)
    click_open(window, qtbot)
    assert window.tabs.currentWidget() is window.runs_panel  # its overlay is here already
    assert "a run is training" in window.runs_panel.notice.text()
    assert window.runs_panel.notice.isVisible()
    assert "the live run's line" in window.log.toPlainText()
    assert window.curves.runs() == [] or window.run_label in window.curves.runs()

"""The status bar during and after runs, fed by fake child processes (see fake_process.py)."""

from __future__ import annotations

import pytest
from fake_process import FakeProcess, batches


@pytest.fixture
def window(fake_window):
    return fake_window


def started(proc, monitor="val/mse", mode="min", max_epochs=10, time=100.0):
    proc.emit("started", run_dir="/runs/x", epoch=0, step=0, max_epochs=max_epochs, device="cpu", world_size=1,
              monitor=monitor, mode=mode, time=time)


def status(window) -> str:
    window.refresh_status()  # what the 10 Hz timer shows next
    return window.state_label.text()


def test_the_metric_of_the_last_run_does_not_stay_for_the_next(window, qtbot):
    window.start_run()
    first = FakeProcess.made[-1]
    started(first, monitor="val/accuracy", mode="max", max_epochs=1)
    first.emit("metric", name="val/accuracy", value=0.5925, step=10, epoch=0, time=101.0)
    first.emit("epoch_end", epoch=0, step=10, metrics={"val/accuracy": 0.5925}, time=101.0)
    status(window)
    assert window.metric_label.text() == "val accuracy 0.5925 (best 0.5925)"
    first.end(0, "finished")
    assert window.metric_label.text() == "val accuracy 0.5925 (best 0.5925)"  # the finished run's result

    window.start_run()  # the next run (another task's, as far as its events say)
    second = FakeProcess.made[-1]
    assert window.metric_label.text() == ""
    started(second)
    status(window)
    assert "0.5925" not in window.metric_label.text()
    second.emit("error", message="data.csv: file not found")
    second.end(2, "failed")
    assert window.metric_label.text() == "" and window.progress.value() == 0
    assert window.state_label.text() == "run failed: data.csv: file not found"


def test_stopping_is_said_until_the_run_ends_and_progress_stays_where_it_stopped(window, qtbot):
    window.start_run()
    proc = FakeProcess.made[-1]
    started(proc, max_epochs=10)
    for epoch in range(4):
        batches(proc, epoch, 20, 20, t0=110.0 + epoch * 2, dt=0.1)
        proc.emit("epoch_end", epoch=epoch, step=(epoch + 1) * 20, metrics={"val/mse": 0.1}, time=112.0 + epoch * 2)
    assert status(window).startswith("training on cpu: epoch 4/10, step 80")
    assert window.progress.value() == 40
    window.stop_run()
    assert proc.stops == 1
    assert status(window).startswith("stopping after this batch")
    batches(proc, 4, 2, 20, t0=120.0, dt=0.1)  # the batch in flight still reports
    assert status(window).startswith("stopping after this batch")
    proc.emit("finished", status="stopped", run_dir="/runs/x", metrics={}, baseline={}, epochs_completed=4)
    proc.end(0, "stopped")
    assert window.progress.value() == 41  # where it stopped, not 100 %
    assert window.state_label.text() == "run stopped after 4 of 10 epochs: /runs/x"


def test_the_eta_comes_from_training_steps_not_from_the_start_up(window, qtbot):
    window.form.editors["train.max_epochs"].set(3)
    window.start_run()
    proc = FakeProcess.made[-1]
    started(proc, max_epochs=3, time=100.0)
    batches(proc, 0, 1, 10, t0=110.0, dt=0.2)
    assert "ETA" not in status(window)  # one step: no rate yet
    batches(proc, 0, 6, 10, t0=110.2, dt=0.2, start=2)  # 5 steps in 1 s: 24 steps left take 4.8 s
    assert "ETA 5 s" in status(window)
    window.queue_run()  # a run queued behind it starts when it ends, and its estimate is its own
    proc.emit("finished", status="finished", run_dir="/runs/x", metrics={}, baseline={}, epochs_completed=3)
    proc.end(0, "finished")
    queued = FakeProcess.made[-1]
    assert queued is not proc
    started(queued, max_epochs=3, time=500.0)
    batches(queued, 0, 6, 10, t0=530.0, dt=0.5)  # slower: 5 steps in 2.5 s, 24 left: 12 s
    assert "ETA 12 s" in status(window)


def test_a_crash_is_named_and_a_long_message_fits_the_status_bar(window, qtbot):
    window.resize(1024, 700)
    window.start_run()
    proc = FakeProcess.made[-1]
    proc.crash = "crashed (segmentation fault)"
    proc.end(-11, "crashed")
    assert window.state_label.text() == ("run crashed (segmentation fault); the log shows its last lines; Resume in "
                                         "the Runs tab continues it from its last checkpoint, if it saved one")
    window.start_run()
    long = "/data/" + "very-long-folder-name/" * 30 + "series.csv, line 12: not a number"
    FakeProcess.made[-1].emit("error", message=long)
    FakeProcess.made[-1].end(2, "failed")
    qtbot.wait(50)
    label = window.state_label
    assert window.width() == 1024
    assert label.geometry().right() <= window.statusBar().width()
    shown = label.shown_text()
    assert shown.endswith("…") and label.fontMetrics().horizontalAdvance(shown) <= label.width()
    assert label.text() == label.toolTip() == f"run failed: {long}"  # the whole line is there to read

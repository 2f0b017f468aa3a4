"""What the window shows before there is anything to show: what to do next, not empty 0-1 axes."""

from __future__ import annotations

from fake_process import FakeProcess
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication
from recorded_runs import seed_runs


def test_a_cold_start_says_what_to_do_in_each_tab(make_window):
    window = make_window()
    QApplication.processEvents()
    curves = window.curves
    assert curves.hint.isVisible() and "Run (Ctrl+R)" in curves.hint.text()
    assert not curves.graphics.isVisible()  # no empty 0-1 plots
    assert "output" in window.log.placeholderText()
    window.tabs.setCurrentWidget(window.runs_panel)
    QApplication.processEvents()
    panel = window.runs_panel
    assert panel.empty_label.isVisible() and "No runs yet" in panel.empty_label.text()
    assert panel.curves.hint.isVisible() and "Select" in panel.curves.hint.text()
    assert panel.diff_hint.isVisible()


def test_the_hints_give_way_to_what_they_announced(make_window, tmp_path):
    seed_runs(tmp_path / "runs")
    window = make_window()
    window.tabs.setCurrentWidget(window.runs_panel)
    panel = window.runs_panel
    assert not panel.empty_label.isVisible()
    panel.table.selectAll()
    QApplication.processEvents()
    assert not panel.curves.hint.isVisible() and panel.curves.graphics.isVisible()
    assert not panel.diff_hint.isVisible() and panel.diff.isVisible()
    panel.table.clearSelection()
    QApplication.processEvents()
    assert panel.curves.hint.isVisible() and panel.diff_hint.isVisible()


def test_a_live_run_is_named_by_what_was_set_not_by_the_clock(fake_window, qtbot):
    window = fake_window
    window.form.editors["backbone.cell"].set("gru")
    window.form.editors["train.max_epochs"].set(2)
    window.form.editors["train.threads"].set(1)
    window.start_run()
    proc = FakeProcess.made[-1]
    proc.emit("started", run_dir="/runs/x", max_epochs=2, monitor="val/mse", mode="min", device="cpu",
              world_size=1, time=1.0)
    proc.emit("metric", name="train/loss", value=0.5, step=1, epoch=0, batch=1, batches=20, time=2.0)
    assert "starting" in window.curves.hint.text() or not window.curves.hint.isVisible()
    window.curves.draw_pending()
    legend = [label.text for _, label in window.curves.train_plot.legend.items]
    assert legend == ["gru, epochs 2"]
    assert not window.curves.hint.isVisible()


def test_the_log_and_the_metric_columns_are_monospace(make_window, tmp_path):
    seed_runs(tmp_path / "runs")
    window = make_window()
    def monospace(font) -> bool:
        metrics = QFontMetrics(font)
        return metrics.horizontalAdvance("iiii") == metrics.horizontalAdvance("MMMM")

    assert monospace(window.log.font())  # the metrics table the run prints keeps its columns
    table = window.runs_panel.table
    from gui.runs_panel import METRIC_COLUMN

    for col in (METRIC_COLUMN, METRIC_COLUMN + 1):  # test metric, baseline
        assert monospace(table.item(0, col).font())

"""The training-curves widget: smoothing, throttled redraws, axes, runs overlay, baselines, exports."""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before any Qt import: tests run headless

import csv
import math
import time

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import QPointF  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gui.curves import X_LABELS, CurvesWidget, nearest_point  # noqa: E402
from gui.smoothing import ema  # noqa: E402

WAIT_MS = 2000  # generous: another process may be training on the same two cores


@pytest.fixture
def widget(qtbot):
    w = CurvesWidget()
    qtbot.addWidget(w)
    w.show()  # a hidden widget only buffers
    return w


def drawn(item):
    xs, ys = item.getOriginalDataset()
    return ([] if xs is None else list(xs)), ([] if ys is None else list(ys))


def wait_drawn(qtbot, w, done=0):
    """Wait until the widget has redrawn more than ``done`` times and has nothing left to draw."""
    qtbot.waitUntil(lambda: w.redraws > done and not w._timer.isActive(), timeout=WAIT_MS)


# ---- smoothing -------------------------------------------------------------------------------
def test_ema_matches_hand_computed_debiased_values():
    # w = 0.5: last = 0.5, 1.25, 2.125; debias by 1 - 0.5**n = 0.5, 0.75, 0.875
    assert ema([1.0, 2.0, 3.0], 0.5) == pytest.approx([1.0, 1.25 / 0.75, 2.125 / 0.875])
    out = ema([4.0, 0.0, 10.0, 2.0], 0.9)
    assert out[0] == 4.0  # debiased: the first smoothed value is the first raw value
    assert out[1] == pytest.approx((0.9 * 0.4 + 0.0) / (1 - 0.81))


def test_ema_passes_non_finite_through_without_updating():
    out = ema([1.0, math.nan, 3.0, math.inf], 0.5)
    assert out[0] == 1.0 and math.isnan(out[1]) and out[3] == math.inf
    assert out[2] == pytest.approx((0.5 * 0.5 + 0.5 * 3.0) / 0.75)  # the NaN did not count


def test_ema_weight_zero_constant_and_empty():
    values = [3.0, 1.0, 2.0]
    assert list(ema(values, 0.0)) == values
    assert list(ema([0.1] * 5, 0.9)) == [0.1] * 5  # a flat line stays exactly flat
    assert ema([], 0.6).size == 0


def test_nearest_point_measures_in_visible_spans():
    assert nearest_point([0, 10, 20], [1, 5, 1], 9, 4) == 1
    # x runs to 1000, y to 1: in data units x dominates; in screen units the y distance does too
    assert nearest_point([0, 1000], [0, 1], 400, 1) == 0
    assert nearest_point([0, 1000], [0, 1], 400, 1, x_span=1000, y_span=1) == 1
    assert nearest_point([0, 1, 2], [math.nan, 7, 7], 0, 7) == 1
    assert nearest_point([], [], 0, 0) == -1


# ---- redraw throttling -----------------------------------------------------------------------
def test_add_point_only_buffers_and_the_timer_draws(qtbot, widget):
    widget.add_point("a", "train/loss", 1, 0, 100.0, 1.0)
    assert widget.curve("a", "train/loss") is None and widget.redraws == 0
    wait_drawn(qtbot, widget)
    item = widget.curve("a", "train/loss")
    assert drawn(item)[0] == [1.0]
    done = widget.redraws
    widget.add_point("a", "train/loss", 2, 0, 101.0, 0.5)
    assert drawn(item)[0] == [1.0] and widget.redraws == done  # nothing drawn synchronously
    qtbot.waitUntil(lambda: drawn(item)[0] == [1.0, 2.0], timeout=WAIT_MS)
    assert widget.redraws == done + 1


def test_many_points_cause_a_bounded_number_of_redraws(qtbot, widget):
    for i in range(1000):  # a burst between two event-loop turns: one redraw
        widget.add_point("a", "train/loss", i, 0, 100.0 + i, 1.0 / (i + 1))
    wait_drawn(qtbot, widget)
    assert widget.redraws == 1
    started = time.monotonic()
    for i in range(1000, 1600):  # streaming while the event loop runs: at most ~15 Hz
        widget.add_point("a", "train/loss", i, 0, 100.0 + i, 1.0 / (i + 1))
        if i % 20 == 0:
            QApplication.processEvents()
    wait_drawn(qtbot, widget, done=1)
    elapsed = time.monotonic() - started
    assert widget.redraws - 1 <= elapsed / 0.066 + 2
    assert len(drawn(widget.curve("a", "train/loss"))[0]) == 1600


def test_hidden_curves_buffer_and_draw_when_shown(qtbot, widget):
    """Another tab in front: points are kept but not drawn (no CPU taken from training) until shown."""
    widget.hide()
    for i in range(50):
        widget.add_point("a", "train/loss", i, 0, 100.0 + i, 1.0)
    qtbot.wait(200)
    assert widget.redraws == 0 and widget.curve("a", "train/loss") is None
    widget.show()
    wait_drawn(qtbot, widget)
    assert widget.redraws == 1 and len(drawn(widget.curve("a", "train/loss"))[0]) == 50


def test_step_axis_grows_in_jumps_not_with_every_point(qtbot, widget):
    """Redrawing tick labels is what a live plot pays most for, so the x range moves rarely while
    points stream in, and fits the data once the run has ended."""
    widget.set_smoothing(0)
    ranges, lows = [], []
    for step in range(1, 121):
        widget.add_point("a", "train/loss", step, 0, 100.0 + step, 1.0 / step)
        if step % 5 == 0:
            widget.draw_pending()
            widget.train_plot.vb.updateAutoRange()
            (_, x_high), (y_low, _) = widget.train_plot.vb.viewRange()
            ranges.append(round(x_high, 3))
            lows.append(round(y_low, 4))
    for seen in (ranges, lows):  # without the anchor every one of the 24 redraws moves both
        assert sum(a != b for a, b in zip(seen, seen[1:])) <= len(seen) // 2
    assert all(low <= 1 / (5 * (i + 1)) for i, low in enumerate(lows))  # the falling loss stays in view
    assert all(r >= 5 * (i + 1) for i, r in enumerate(ranges))  # every point stays in view
    assert widget.hover_text(widget.train_plot, 120, 1 / 120).startswith("a · train/loss")
    assert ranges[-1] > 132  # room ahead while streaming ...
    widget.fit_axes()
    widget.draw_pending()
    widget.train_plot.vb.updateAutoRange()
    assert widget.train_plot.vb.viewRange()[0][1] < 130  # ... none once the run has ended
    widget.clear()
    assert widget._anchor_item.getData()[0] is None or len(widget._anchor_item.getData()[0]) == 0


# ---- axes ------------------------------------------------------------------------------------
def test_x_axis_modes(qtbot, widget):
    widget.set_smoothing(0)
    widget.add_point("a", "train/loss", 10, 0, 1000.0, 3.0)
    widget.add_point("a", "val/loss", 10, 0, 1000.5, 2.0)
    widget.add_point("a", "train/loss", 20, 1, 1002.5, 2.0)
    widget.add_point("a", "train/loss", 30, 1, 1010.0, 1.0)
    wait_drawn(qtbot, widget)
    train, val = widget.curve("a", "train/loss"), widget.curve("a", "val/loss")
    assert drawn(train) == ([10.0, 20.0, 30.0], [3.0, 2.0, 1.0]) and drawn(val)[0] == [10.0]
    for mode, xs, val_x in (("epoch", [0, 1, 1], 0.0), ("wall time", [0.0, 2.5, 10.0], 0.5)):
        done = widget.redraws
        widget.set_x_mode(mode)
        wait_drawn(qtbot, widget, done)
        assert drawn(train)[0] == xs and drawn(val)[0] == [val_x]
        assert widget.train_plot.getAxis("bottom").labelText == X_LABELS[mode]
    with pytest.raises(ValueError):
        widget.set_x_mode("minutes")


def test_log_scale_toggles_the_plots_log_mode(qtbot, widget):
    widget.add_point("a", "train/loss", 1, 0, 0.0, 10.0)
    wait_drawn(qtbot, widget)
    widget.set_log_y(True)
    for plot in (widget.train_plot, widget.val_plot):
        assert plot.getAxis("left").logMode
    assert widget.curve("a", "train/loss").opts["logMode"] == [False, True]
    widget.set_log_y(False)
    assert not widget.train_plot.getAxis("left").logMode


def test_smoothing_draws_raw_faint_and_smoothed_solid(qtbot, widget):
    values = [1.0, 3.0, 2.0, 5.0]
    for i, v in enumerate(values):
        widget.add_point("a", "train/loss", i, 0, 0.0, v)
    widget.set_smoothing(0.6)
    wait_drawn(qtbot, widget)
    raw, solid = widget._train_items[("a", "train/loss")]
    assert drawn(raw)[1] == values and raw.isVisible()
    assert drawn(solid)[1] == pytest.approx(list(ema(values, 0.6)))
    assert raw.opts["pen"].color().alpha() < solid.opts["pen"].color().alpha()


# ---- runs, baselines -------------------------------------------------------------------------
def test_two_runs_get_distinct_colours_and_legend_entries(qtbot, widget):
    for run in ("a", "b"):
        widget.add_point(run, "train/loss", 1, 0, 0.0, 1.0)
        widget.add_point(run, "val/loss", 1, 0, 0.0, 1.0)
    wait_drawn(qtbot, widget)
    ca, cb = widget.colour("a"), widget.colour("b")
    assert ca != cb
    assert widget.curve("a", "train/loss").opts["pen"].color().name() == ca
    assert widget.curve("b", "train/loss").opts["pen"].color().name() == cb
    for plot in (widget.train_plot, widget.val_plot):
        assert sorted(label.text for _, label in plot.legend.items) == ["a", "b"]
    widget.remove_run("a")
    assert [label.text for _, label in widget.train_plot.legend.items] == ["b"]
    assert widget.runs() == ["b"]
    widget.clear()
    assert widget.runs() == [] and widget.train_plot.legend.items == [] and widget.val_combo.count() == 0


def test_val_combo_default_and_baseline_follows_the_shown_metric(qtbot, widget):
    widget.add_point("a", "val/loss", 1, 0, 0.0, 0.9)
    widget.add_point("a", "val/rmse", 1, 0, 0.0, 0.8)
    assert widget.val_combo.currentText() == "val/loss"  # nothing monitored yet
    widget.set_monitor("mse")
    widget.add_point("a", "val/mse", 1, 0, 0.0, 0.6)
    assert widget.val_combo.currentText() == "val/mse"  # exact name before val/rmse's "mse"
    widget.set_baseline("a", "val/mse", 0.75)
    lines = [i for i in widget.val_plot.items if isinstance(i, pg.InfiniteLine)]
    assert len(lines) == 1 and lines[0].angle == 0 and lines[0].value() == 0.75
    assert lines[0].isVisible() and "0.75" in lines[0].label.toPlainText()
    widget.set_val_metric("val/loss")
    assert not lines[0].isVisible()
    widget.set_val_metric("val/mse")
    widget.set_log_y(True)
    wait_drawn(qtbot, widget)
    assert lines[0].isVisible() and lines[0].value() == pytest.approx(math.log10(0.75))
    widget.set_baseline("a", "val/mse", 0.5)  # replaces, does not add
    assert len([i for i in widget.val_plot.items if isinstance(i, pg.InfiniteLine)]) == 1


# ---- loading and export ----------------------------------------------------------------------
def test_load_rows_and_export_csv_round_trip(qtbot, widget, tmp_path):
    rows = [{"time": "100.5", "step": "1", "epoch": "0", "name": "train/loss", "value": "0.25"},
            {"time": 101.0, "step": 2, "epoch": 0, "name": "train/loss", "value": "nan"},
            {"time": "102", "step": "", "epoch": "0", "name": "val/mse", "value": "0.125"},
            {"time": "103", "step": "3", "epoch": "1", "name": "train/loss"}]  # truncated: skipped
    widget.load_rows("a", rows)
    widget.add_point("b", "train/loss", 7, 2, 200.25, 1e-7)
    path = tmp_path / "points.csv"
    widget.export_csv(path)
    with open(path, newline="") as handle:
        got = list(csv.reader(handle))
    assert got[0] == ["run", "name", "step", "epoch", "wall", "value"]
    assert got[1:] == [["a", "train/loss", "1", "0", "100.5", "0.25"],
                       ["a", "train/loss", "2", "0", "101.0", "nan"],
                       ["a", "val/mse", "0", "0", "102.0", "0.125"],
                       ["b", "train/loss", "7", "2", "200.25", "1e-07"]]


def test_export_png_writes_a_png(qtbot, widget, tmp_path):
    widget.add_point("a", "train/loss", 1, 0, 0.0, 1.0)
    widget.add_point("a", "train/loss", 2, 0, 1.0, 0.5)
    widget.add_point("a", "val/loss", 2, 0, 1.0, 0.7)
    path = tmp_path / "curves.png"
    widget.export_png(path)  # not shown yet: must still render
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    widget.resize(800, 400)
    widget.show()
    qtbot.waitExposed(widget)
    widget.export_png(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- hover -----------------------------------------------------------------------------------
def test_hover_reads_out_the_nearest_point(qtbot, widget):
    widget.set_smoothing(0)
    for step, value in ((10, 1.0), (20, 2.0), (30, 3.0)):
        widget.add_point("run1", "train/loss", step, 0, 0.0, value)
    widget.resize(800, 400)
    widget.show()
    qtbot.waitExposed(widget)
    wait_drawn(qtbot, widget)
    text = widget.hover_text(widget.train_plot, 19, 2.1)
    assert "run1" in text and "train/loss" in text and "step = 20" in text and "value = 2" in text
    assert widget.hover_text(widget.val_plot, 19, 2.1) == ""  # nothing on that plot
    # through the scene's mouse signal, as a real mouse move would arrive (once the view has ranged)
    qtbot.waitUntil(lambda: widget.train_plot.vb.viewRange()[1][1] >= 3.0, timeout=WAIT_MS)
    scene_pos = widget.train_plot.vb.mapViewToScene(QPointF(30, 3.0))
    widget.graphics.scene().sigMouseMoved.emit(scene_pos)
    assert "step = 30" in widget.hover_label.text()


# ---- log scale -------------------------------------------------------------------------------
def test_log_scale_says_what_it_cannot_draw(qtbot, widget):
    """A tagging run's validation score of 0 left an empty plot on a log scale, without a word."""
    widget.add_point("a", "train/loss", 1, 0, 0.0, 0.5)
    widget.add_point("a", "train/loss", 2, 0, 1.0, 0.25)
    widget.add_point("a", "val/score", 2, 0, 1.0, 0.0)
    widget.add_point("a", "val/score", 4, 1, 2.0, 0.0)
    widget.set_log_y(True)
    wait_drawn(qtbot, widget)
    assert widget.log_note.isVisible()
    assert widget.log_note.text() == "log scale: 2 values ≤ 0 of val/score are not drawn"
    widget.add_point("a", "val/score", 6, 2, 3.0, 0.2)
    wait_drawn(qtbot, widget, widget.redraws)
    assert widget.log_note.text() == "log scale: 2 values ≤ 0 of val/score are not drawn"
    widget.set_log_y(False)
    wait_drawn(qtbot, widget, widget.redraws)
    assert not widget.log_note.isVisible()


@pytest.mark.parametrize("low, high", [(0.0021, 0.0035), (0.5, 0.52), (0.01, 0.09), (1e-4, 0.3), (3.0, 3000.0)])
def test_a_log_axis_labels_at_least_three_ticks_in_any_range(qtbot, widget, low, high):
    widget.set_log_y(True)
    axis = widget.val_plot.getAxis("left")
    lo, hi = math.log10(low), math.log10(high)
    levels = axis.tickValues(lo, hi, 300)
    values = sorted(v for _, level in levels for v in level if lo <= v <= hi)
    labels = axis.tickStrings(values, 1.0, None)
    assert len(values) >= 3 and len(set(labels)) == len(labels) == len(values), (values, labels)
    assert len(values) <= 10  # and not a crowd
    for value, label in zip(values, labels):  # each label says its value
        assert float(label.replace("−", "-")) == pytest.approx(10 ** value, rel=0.05)

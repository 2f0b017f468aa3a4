"""The Insight tab (the selected runs' training diagnostics: heat map of ||dL/dh_t||, gates, clipping, verdicts)
and the verdicts as lines on the Training tab's curves. Runs are written by hand through the diagnostics store's
own writer, except one real tiny training seen end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from fake_process import FakeProcess
from PySide6.QtCore import Qt
from recorded_runs import seed_config, write_recorded
from run_damage import good_results

from suite.insight.store import FILE_NAME, DiagnosticsWriter
from suite.runs import list_runs

T = 20  # time steps of the hand-written curves

VANISHING = {"code": "vanishing_gradients", "epoch": 1,
             "message": "net.backbone.l0: the gradient reaching the first of 20 steps is 1e-20 of that at the last. "
                        "Try: --cell lstm or gru"}
OVERFITTING = {"code": "overfitting", "epoch": 1, "best_epoch": 0,
               "message": "validation mse has been worse than its best for 3 epochs. Try: --patience 3"}


def curve(low: float, high: float, steps: int = T) -> dict:
    """A layer's record: ||dL/dh_t|| rising geometrically from ``low`` at t=1 to ``high`` at t=steps."""
    grad = np.geomspace(low, high, steps).tolist() if low > 0 else [0.0] + np.geomspace(1e-20, high, steps - 1).tolist()
    return {"cell": "rnn_tanh", "steps": steps, "t": list(range(1, steps + 1)), "grad": grad,
            "gradient_ratio": grad[0] / grad[-1], "grad_first": grad[0], "grad_last": grad[-1],
            "gates": {"saturated": 0.4, "dead": 0.0}, "check": 1e-7}


def diagnosed_run(root: Path, name: str, cell: str, layers_per_record: list[dict], *, grad_clip: float = 1.0,
                  verdicts: list[dict] | None = None, in_results: bool = True) -> Path:
    """A finished run with diagnostics.jsonl: one record per entry of ``layers_per_record``, 10 steps apart."""
    results = good_results()
    if in_results:
        results["diagnostics"] = {"every": 10, "records": len(layers_per_record), "clipping_rate": 0.25,
                                  "layers": {k: {"gradient_ratio": v["gradient_ratio"]}
                                             for k, v in layers_per_record[-1].items()},
                                  "verdicts": verdicts or [], "notes": []}
    path = write_recorded(root, name, config=seed_config(**{"backbone.cell": cell}), results=results)
    writer = DiagnosticsWriter(path / FILE_NAME)
    writer.write({"kind": "start", "step": 0, "epoch": 0, "every": 10, "grad_clip": grad_clip, "version": 1})
    for i, layers in enumerate(layers_per_record):
        writer.write({"kind": "record", "step": 10 * i, "epoch": i // 2, "loss": 0.5, "grad_norm": 2.0,
                      "interval": {"steps": 10 if i else 1, "median": 1.5 / (i + 1), "max": 4.0 / (i + 1),
                                   "clipped": (10 - 3 * i if i else 1) if grad_clip else None, "nonfinite": 0},
                      "layers": layers})
    writer.write({"kind": "verdicts", "verdicts": verdicts or []})
    writer.close()
    return path


def rnn_and_lstm(root: Path) -> list[Path]:
    rnn = diagnosed_run(root, "20261201-100000-adding-rnn16", "rnn",
                        [{"net.backbone.l0": curve(1e-3, 0.1)}, {"net.backbone.l0": curve(0.0, 0.1)}],
                        verdicts=[VANISHING])
    lstm = diagnosed_run(root, "20261201-100100-adding-lstm16", "lstm",
                         [{"net.backbone.l0": curve(1e-2, 0.1)}, {"net.backbone.l0": curve(1e-3, 0.2)}])
    return [rnn, lstm]


def summaries(root: Path, order: list[Path]):
    found = {run.path.resolve(): run for run in list_runs(root)}
    return [found[path.resolve()] for path in order]


@pytest.fixture
def view(qtbot):
    from gui.insight_view import InsightView

    chosen: list = []
    widget = InsightView(lambda: chosen)
    widget.chosen = chosen
    qtbot.addWidget(widget)
    widget.resize(1000, 900)
    widget.show()
    return widget


def show(view, runs) -> None:
    view.chosen[:] = runs
    view.selection_changed()


# ---- the data -----------------------------------------------------------------------------------------------
def test_records_become_one_grid_per_layer_and_a_shorter_batch_is_not_stretched(tmp_path):
    from gui.insight_data import load, log_range

    long_, short = curve(1e-4, 1.0), curve(1e-2, 1.0, steps=10)
    run = diagnosed_run(tmp_path, "20261201-100000-x", "rnn", [{"l0": long_}, {"l0": short}], in_results=False,
                        verdicts=[OVERFITTING])
    found = load(run, results=json.loads((run / "results.json").read_text()))
    layer = found.layers["l0"]
    assert layer.grad.shape == (2, T) and list(layer.steps) == [0, 10]
    assert layer.grad[0] == pytest.approx(long_["grad"])
    assert layer.grad[1, :10] == pytest.approx(short["grad"], rel=1e-9)
    assert np.isnan(layer.grad[1, 10:]).all()  # its sequences had no step 11..20
    assert log_range([layer]) == pytest.approx((-4.0, 0.0))
    # clipping per window: 1 of the first step, 10 - 3 = 7 of the next 10
    assert list(found.window_steps) == [0, 10] and found.clip_rate == pytest.approx([1.0, 0.7])
    assert found.grad_clip == 1.0
    # results.json without a diagnostics summary: the last record's ratio, the file's verdicts
    assert found.gradient_ratio == {"l0": pytest.approx(1e-2)}
    assert [v["code"] for v in found.verdicts] == ["overfitting"]


def test_verdict_labels_and_advice():
    from gui.verdict_text import line_label, short_label, split_advice

    assert short_label(OVERFITTING) == "overfitting since epoch 1: the best checkpoint is epoch 0"
    assert short_label(VANISHING) == "vanishing gradients (epoch 1)"
    assert line_label([OVERFITTING, VANISHING]) == ("overfitting since epoch 1: the best checkpoint is epoch 0; "
                                                    "vanishing gradients (epoch 1)")
    assert split_advice(VANISHING["message"])[1] == "--cell lstm or gru"
    assert split_advice("no advice here") == ("no advice here", "")


# ---- the view -----------------------------------------------------------------------------------------------
def test_an_rnn_beside_an_lstm_on_one_colour_scale(view, tmp_path):
    rnn, lstm = rnn_and_lstm(tmp_path)
    show(view, summaries(tmp_path, [rnn, lstm]))
    assert view.pages.currentWidget() is view.scroll and not view.notice.isVisible()
    left, right = view.columns
    assert "rnn" in left.title.text() and "lstm" in right.title.text()
    # the shared range spans both runs: the RNN's 1e-20 at the bottom, the LSTM's 0.2 at the top
    low, high = left.heat.levels()
    assert (low, high) == pytest.approx((-20.0, math.log10(0.2)))
    assert right.heat.levels() == pytest.approx((low, high))
    # the RNN's exact 0 is not drawn as a colour, and the caption says what grey means
    image = left.heat.image.image
    assert image.shape == (T, 2) and np.isnan(image[0, 1])
    assert "exactly 0" in left.heat.caption.text()
    # the verdict as a banner with what to try; no verdict said as such
    (banner,) = left.banners
    assert "vanishing gradients" in banner.text() and "Try:" in banner.text() and "lstm or gru" in banner.text()
    assert right.banners == [] and "no verdict" in right.summary.text()
    assert "net.backbone.l0 0 (none reaches the first step)" in left.summary.text()
    assert "25% of steps" in left.summary.text() and "net.backbone.l0 0.005" in right.summary.text()
    # over training: gates, the clipped share per window, the gradient norm
    assert [item.name() for item in left.plots.gates.listDataItems()] == ["saturated", "stuck"]
    assert "|h| above 0.95" in left.plots.caption.text() and "forget" not in left.plots.caption.text()
    (clipped,) = left.plots.clipping.listDataItems()
    assert list(clipped.getData()[1]) == pytest.approx([1.0, 0.7])
    assert len(left.plots.norm.listDataItems()) == 2
    # a cell's value under the mouse
    assert left.heat.value_at(1.0, 0.5) == (0, 1, pytest.approx(1e-3))


def test_a_layer_chooser_for_stacked_and_bidirectional_layers(view, tmp_path):
    layers = {"net.backbone.l0": curve(1e-3, 0.1), "net.backbone.l0.reverse": curve(1e-6, 0.1)}
    run = diagnosed_run(tmp_path, "20261201-100000-bi", "gru", [layers, layers])
    show(view, summaries(tmp_path, [run]))
    (column,) = view.columns
    box = column.layer_box
    assert box.isEnabled() and [box.itemText(i) for i in range(box.count())] == list(layers)
    assert np.nanmin(column.heat.image.image) == pytest.approx(-3.0)
    box.setCurrentIndex(1)
    assert np.nanmin(column.heat.image.image) == pytest.approx(-6.0)
    assert column.plots.gates.titleLabel.text == "gates of net.backbone.l0.reverse"
    assert column.heat.levels() == pytest.approx((-6.0, -1.0))  # one scale for every layer of the run


def test_the_wheel_scrolls_the_page_not_the_plot_under_the_pointer(view, qtbot, tmp_path):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    show(view, summaries(tmp_path, rnn_and_lstm(tmp_path)))
    view.resize(900, 400)
    bar = view.scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    heat = view.columns[0].heat
    before = heat.plot.vb.viewRange()
    target = heat.graphics.viewport()
    centre = QPointF(target.rect().center())
    QApplication.sendEvent(target, QWheelEvent(centre, QPointF(target.mapToGlobal(centre.toPoint())), QPoint(0, 0),
                                               QPoint(0, -120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                                               Qt.ScrollPhase.NoScrollPhase, False))
    assert heat.plot.vb.viewRange() == before and bar.value() > 0


def test_empty_states_say_what_to_do(view, tmp_path):
    assert view.pages.currentWidget() is view.hint and "Select a run in the Runs tab" in view.hint.text()
    plain = write_recorded(tmp_path, "20261201-090000-old", config=seed_config(**{"train.diagnostics": False}))
    show(view, summaries(tmp_path, [plain]))
    (column,) = view.columns
    assert column.heat is None
    text = column.summary.text()
    assert "no training diagnostics" in text and "--no-diagnostics" in text and "Train it again" in text
    damaged = write_recorded(tmp_path, "20261201-091000-cut")
    (damaged / FILE_NAME).write_text('{"kind": "start"}\n["not", "an", "object"]\n')
    show(view, summaries(tmp_path, [damaged]))
    assert view.columns[0].summary.text() == ("its diagnostics cannot be read: diagnostics.jsonl, line 2: expected a "
                                              "JSON object with a 'kind', not a list")
    runs = rnn_and_lstm(tmp_path)
    show(view, summaries(tmp_path, [*runs, plain]))
    assert len(view.columns) == 2 and view.notice.isVisible()
    assert "3 runs are selected: the first 2 are shown" in view.notice.text()
    show(view, [])
    assert view.pages.currentWidget() is view.hint and not view.notice.isVisible()


def test_the_insight_tab_follows_the_runs_selection(make_window, qtbot, tmp_path):
    window = make_window()
    rnn_and_lstm(tmp_path / "runs")
    window.runs_panel.refresh()
    window.runs_panel.table.selectAll()
    window.activateWindow()  # shortcuts go to the active window
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_5, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.insight_view
    assert window.tabs.tabText(window.tabs.currentIndex()) == "Insight"
    assert len(window.insight_view.columns) == 2
    window.runs_panel.table.clearSelection()
    assert window.insight_view.pages.currentWidget() is window.insight_view.hint


# ---- verdicts on the Training tab's curves --------------------------------------------------------------------
def test_verdicts_mark_their_epochs_on_the_validation_plot(qtbot):
    from gui.curves import CurvesWidget

    widget = CurvesWidget()
    qtbot.addWidget(widget)
    widget.show()
    rows = [{"time": 1.0 + e, "step": 10 * (e + 1), "epoch": e, "name": "val/mse", "value": 1.0 / (e + 1)}
            for e in range(4)]
    widget.load_rows("run", rows)
    widget.draw_pending()
    widget.set_verdicts("run", [OVERFITTING, VANISHING, {**VANISHING, "epoch": 3, "code": "dead_units"}])
    first, last = widget.verdict_lines("run")
    assert first.label.toPlainText() == ("overfitting since epoch 1: the best checkpoint is epoch 0; "
                                         "vanishing gradients (epoch 1)")
    assert last.label.toPlainText() == "dead units (epoch 3)"
    assert first.value() == 20 and last.value() == 40  # the step of each epoch's validation point
    widget.set_x_mode("epoch")
    widget.draw_pending()
    assert first.value() == 1 and last.value() == 3
    widget.set_verdicts("run", [])
    assert widget.verdict_lines("run") == []
    widget.set_verdicts("run", [VANISHING])
    widget.clear()
    assert widget.verdict_lines("run") == [] and all(not isinstance(i, type(first)) for i in widget.val_plot.items)


def test_opened_and_live_runs_get_their_verdict_lines(fake_window, qtbot, tmp_path):
    window = fake_window
    rnn, _lstm = rnn_and_lstm(tmp_path / "runs")
    window.show_run(str(rnn))
    (line,) = window.curves.verdict_lines(rnn.name)
    assert line.label.toPlainText() == "vanishing gradients (epoch 1)"

    window.start_run()  # a live run: its verdict events, as they come
    proc = FakeProcess.made[-1]
    for epoch in range(3):
        proc.emit("metric", name="val/mse", value=0.1, step=10 * (epoch + 1), epoch=epoch, time=1.0 + epoch)
    proc.emit("verdict", **OVERFITTING)
    proc.emit("finished", status="finished", run_dir=str(tmp_path / "nowhere"), metrics={}, baseline={})
    (line,) = window.curves.verdict_lines(window.run_label)
    assert line.label.toPlainText().startswith("overfitting since epoch 1")
    proc.end(0, "finished")

    window.start_run()  # no verdict events: the finished run's results.json has them
    proc = FakeProcess.made[-1]
    proc.emit("metric", name="val/mse", value=0.1, step=10, epoch=1, time=1.0)
    proc.emit("finished", status="finished", run_dir=str(rnn), metrics={}, baseline={})
    (line,) = window.curves.verdict_lines(window.run_label)
    assert line.label.toPlainText() == "vanishing gradients (epoch 1)"
    proc.end(0, "finished")


def test_a_real_run_seen_inside(make_window, qtbot, tmp_path):
    """One epoch of the seed preset, a probe every 5 steps: its verdicts on the curves, its records in the tab."""
    from test_window import start, wait_ended

    window = make_window()
    start(window, qtbot, **{"train.max_epochs": 1, "train.diagnostics_every": 5, "options.plot": False})
    wait_ended(window, qtbot)
    assert window.state_label.text().startswith("run finished"), window.log.toPlainText()
    (results_path,) = (tmp_path / "runs").glob("*/*/results.json")
    verdicts = json.loads(results_path.read_text())["diagnostics"]["verdicts"]
    assert verdicts, "a tanh RNN over 500 steps: its gradient vanishes"
    assert len(window.curves.verdict_lines(window.run_label)) == len({v["epoch"] for v in verdicts})
    window.runs_panel.refresh()
    window.runs_panel.table.selectRow(0)
    window.tabs.setCurrentWidget(window.insight_view)
    (column,) = window.insight_view.columns
    records = [json.loads(line) for line in (results_path.parent / FILE_NAME).read_text().splitlines()]
    steps = [r["step"] for r in records if r["kind"] == "record"]
    assert list(column.heat.map.steps) == steps and len(steps) >= 4
    assert [b.verdict["code"] for b in column.banners] == [v["code"] for v in verdicts]

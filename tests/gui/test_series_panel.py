"""The forecast's Try it panel: a one-step forecast is seen, several steps can be rolled out, and the
origin follows the keyboard as it follows the mouse."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import Qt

from gui.panels import SeriesPanel


def answer(origin=2000, steps=1, rows=3000, lookback=500):
    values = [math.cos(i / 30) for i in range(rows)]
    return {"targets": ["cos"], "steps": steps, "origin": origin, "rows": rows, "time": None,
            "history": {"cos": values[origin - lookback:origin]},
            "forecast": {"cos": [v + 0.01 for v in values[origin:origin + steps]]},
            "actual": {"cos": values[origin:origin + steps]}}


class Asker:
    def __init__(self):
        self.requests: list[str] = []

    def __call__(self, raw, on_done, explain=False):
        self.requests.append(raw)
        source, _, origin = raw.rpartition("@")
        on_done(answer(origin=int(origin) if source else 2000))


@pytest.fixture
def panel(qtbot):
    asker = Asker()
    panel = SeriesPanel(asker)
    qtbot.addWidget(panel)
    panel.show()
    panel.start("cosine")
    return panel, asker


def items(panel) -> dict:
    return {item.name(): item for item in panel.plot.getPlotItem().listDataItems()}


def test_a_one_step_forecast_and_its_truth_are_drawn_as_points(panel):
    panel, _ = panel
    shown = items(panel)
    for name in ("forecast", "actual"):
        item = shown[name]
        xs, ys = item.getData()
        assert list(xs) == [2000] and len(ys) == 1
        assert item.opts["symbol"] is not None and item.opts["symbolSize"] >= 6, name  # a marker, not a 0-px line
    assert shown["history"].opts["symbol"] is None  # 500 points: a line


def test_several_steps_roll_out_through_the_runs_own_prediction_setting(panel, qtbot):
    panel, asker = panel
    asked = []
    panel.set_options = lambda options, then: (asked.append(options), then())
    assert panel.steps.value() == 0 and panel.steps.specialValueText() == "horizon"
    panel.steps.setValue(24)
    qtbot.waitUntil(lambda: asked == [{"predict_steps": 24}], timeout=2000)
    assert asker.requests[-1] == "cosine@2000"  # asked again, from the same origin


def test_the_origin_follows_the_keyboard(panel, qtbot):
    panel, asker = panel
    slider = panel.slider
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert panel.origin_label.text() == "row 2001 of 3000"  # at once, not on a mouse release
    qtbot.waitUntil(lambda: asker.requests[-1] == "cosine@2001", timeout=2000)
    qtbot.keyClick(slider, Qt.Key.Key_PageUp)
    assert panel.origin_label.text() == f"row {2001 + slider.pageStep()} of 3000"
    qtbot.waitUntil(lambda: asker.requests[-1] == f"cosine@{2001 + slider.pageStep()}", timeout=2000)
    before = len(asker.requests)
    for _ in range(5):  # held down: one forecast when the key rests, not one per step
        qtbot.keyClick(slider, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: asker.requests[-1] == f"cosine@{1996 + slider.pageStep()}", timeout=2000)
    assert len(asker.requests) - before <= 2


def test_a_long_forecast_is_a_line(panel):
    panel, _ = panel
    panel.receive(answer(steps=48))
    assert items(panel)["forecast"].opts["symbol"] is None

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


# --- a time axis and a choice of target (issue 19) ---------------------------------------------------------
ETT = ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]


def hourly(origin=10_000, steps=24, lookback=48, rows=17_420):
    """An answer as ETTh1's predict gives it: seven targets, hourly stamps for the window and the forecast."""
    import pandas as pd

    first = pd.Timestamp("2016-07-01 00:00:00")
    stamp = [str(first + pd.Timedelta(hours=r)) for r in range(origin - lookback, origin + steps)]
    series = {col: [float(j * 10 + math.sin(r / 5)) for r in range(origin - lookback, origin + steps)]
              for j, col in enumerate(ETT)}
    return {"targets": ETT, "steps": steps, "origin": origin, "rows": rows, "time": stamp[lookback:],
            "forecast": {c: [v + 0.5 for v in s[lookback:]] for c, s in series.items()},
            "history": {c: s[:lookback] for c, s in series.items()},
            "actual": {c: s[lookback:] for c, s in series.items()}, "history_time": stamp[:lookback]}


class Hourly(Asker):
    def __call__(self, raw, on_done, explain=False):
        self.requests.append(raw)
        source, _, origin = raw.rpartition("@")
        on_done(hourly(origin=int(origin) if source else 17_420 - 24))


def seconds(text: str) -> float:
    import pandas as pd

    return (pd.Timestamp(text) - pd.Timestamp("1970-01-01")).total_seconds()


@pytest.fixture
def dated(qtbot):
    asker = Hourly()
    panel = SeriesPanel(asker)
    qtbot.addWidget(panel)
    panel.show()
    panel.start("ETTh1.csv")
    panel.receive(hourly())
    return panel, asker


def test_a_series_with_a_time_column_is_drawn_over_its_dates(dated, qtbot):
    import pandas as pd
    import pyqtgraph as pg

    panel, asker = dated
    assert isinstance(panel.plot.getPlotItem().getAxis("bottom"), pg.DateAxisItem)
    shown = items(panel)
    xs, _ = shown["history"].getData()
    assert xs[0] == seconds("2017-08-19 16:00:00") and xs[-1] == seconds("2017-08-21 15:00:00")
    for name in ("forecast", "actual"):
        xs, _ = shown[name].getData()
        assert xs[0] == seconds("2017-08-21 16:00:00") and xs[1] - xs[0] == 3600, name
    assert panel.origin_label.text() == "2017-08-21 16:00 (row 10000 of 17420)"
    assert "2017-08-21 16:00" in panel.plot.getPlotItem().titleLabel.text
    panel.slider.setFocus()
    qtbot.keyClick(panel.slider, Qt.Key.Key_PageUp)  # beyond the answer's stamps: counted on by the hour
    row = 10_000 + panel.slider.pageStep()
    hour = pd.Timestamp("2017-08-21 16:00") + pd.Timedelta(hours=panel.slider.pageStep())
    assert panel.origin_label.text() == f"{hour:%Y-%m-%d %H:%M} (row {row} of 17420)"
    qtbot.waitUntil(lambda: asker.requests[-1] == f"ETTh1.csv@{row}", timeout=2000)


def test_without_a_time_column_the_axis_counts_rows(panel):
    import pyqtgraph as pg

    panel, _ = panel
    assert not isinstance(panel.plot.getPlotItem().getAxis("bottom"), pg.DateAxisItem)
    assert not panel.target.isVisibleTo(panel)  # one target: no choice to make
    panel.receive(hourly())  # the same panel given dated data, then undated again
    assert isinstance(panel.plot.getPlotItem().getAxis("bottom"), pg.DateAxisItem)
    panel.receive(answer())
    assert not isinstance(panel.plot.getPlotItem().getAxis("bottom"), pg.DateAxisItem)
    assert list(items(panel)["history"].getData()[0])[:2] == [1500, 1501]


def test_monthly_stamps_read_as_months(qtbot):
    panel = SeriesPanel(Asker())
    qtbot.addWidget(panel)
    months = [f"{1949 + m // 12}-{m % 12 + 1:02d}" for m in range(144)]
    values = [float(v) for v in range(144)]
    panel.receive({"targets": ["#Passengers"], "steps": 12, "origin": 120, "rows": 144, "time": None,
                   "history": {"#Passengers": values[96:120]}, "forecast": {"#Passengers": values[120:132]},
                   "actual": {"#Passengers": values[120:132]}, "history_time": months[96:120]})
    assert panel.origin_label.text() == "1959-01 (row 120 of 144)"
    xs, _ = items(panel)["forecast"].getData()  # no forecast stamps given: counted on by month
    assert xs[0] == seconds("1959-01-01") and xs[11] == seconds("1959-12-01")


def test_the_chosen_target_is_drawn_and_explained_and_remembered_for_the_run(dated, qtbot):
    panel, asker = dated
    assert panel.target.isVisibleTo(panel) and [panel.target.itemText(i) for i in range(7)] == ETT
    assert panel.target.currentText() == "HUFL"
    assert list(items(panel)["forecast"].getData()[1]) == hourly()["forecast"]["HUFL"]
    before = len(asker.requests)
    panel.target.setCurrentText("OT")
    assert list(items(panel)["forecast"].getData()[1]) == hourly()["forecast"]["OT"]
    assert list(items(panel)["history"].getData()[1]) == hourly()["history"]["OT"]
    assert panel.plot.getPlotItem().titleLabel.text.startswith("OT:")
    assert len(asker.requests) == before  # every target is in the answer at hand
    cells = {col: [[j + 0.1 * i, -0.1] for i in range(48)] for j, col in enumerate(ETT)}
    explanation = {"variables": ETT, "explained": [{"target": c, "step": 1, "attributions": cells[c]} for c in ETT],
                   "target": "each explained forecast value", "steps": 50, "completeness": {"holds": True}}
    panel.enable_attributions(None)
    panel.attributions.blockSignals(True)
    panel.attributions.setChecked(True)
    panel.attributions.blockSignals(False)
    panel.receive({**hourly(), "explanation": explanation})
    assert (panel.strip_values == cells["OT"]).all() and "attributions to OT" in panel.strip.getPlotItem().titleLabel.text
    rect = panel.strip_image.mapRectToParent(panel.strip_image.boundingRect())
    assert rect.left() == seconds("2017-08-19 16:00:00") and rect.width() == 48 * 3600  # under the history
    panel.target.setCurrentText("MULL")
    assert (panel.strip_values == cells["MULL"]).all()
    assert panel.memory == {"target": "MULL"}

    again = SeriesPanel(Hourly())  # the run chosen again: the Try it tab hands the new panel its memory
    qtbot.addWidget(again)
    again.memory = panel.memory
    again.receive(hourly())
    assert again.target.currentText() == "MULL" and list(items(again)["forecast"].getData()[1]) == \
        hourly()["forecast"]["MULL"]


def test_the_try_it_tab_keeps_each_runs_choices(qtbot):
    from gui.predict_panel import PredictPanel

    tab = PredictPanel()
    qtbot.addWidget(tab)

    class Loaded:  # what _loaded reads of a TrainedModel
        unexplainable = "not here"

        class task:
            output_kind, title, description = "series", "forecast", "a test"

            @staticmethod
            def example_input(cfg):
                return ""
        cfg = None

    def choose(run: str) -> dict:
        tab.run_dir = run
        tab._loaded(Loaded())  # a new panel for each run chosen, as the tab makes
        return tab.body.memory

    choose("runs/a")["target"] = "OT"
    assert choose("runs/b") == {}
    assert choose("runs/a") == {"target": "OT"}


@pytest.mark.realdata
def test_predict_gives_the_stamps_of_the_window_it_read(tmp_path, data_root):
    """The forecast task's own predict (an untrained model: stamps need no training) over AirPassengers."""
    from suite import api
    from suite.registry import get_task
    from suite.trained import Trained

    task = get_task("forecast")
    data = str(data_root / "forecast" / "air_passengers" / "AirPassengers.csv")
    cfg = api.resolve("forecast", data=data, lookback=24, horizon=6, hidden=4, split="96,24,24")
    datamodule = task.datamodule(cfg)
    datamodule.setup("fit")
    predictor = api.Predictor(Trained(task, cfg, datamodule, task.model(cfg, datamodule), tmp_path / "x.ckpt"))
    out = predictor.predict(f"{data}@120")
    assert out["history_time"] == [f"{1949 + m // 12}-{m % 12 + 1:02d}" for m in range(96, 120)]
    assert out["time"][0].startswith("1959-01-01")
    inline = predictor.predict("1 2 3 " * 10)  # inline values: no time column, no stamps
    assert inline["history_time"] is None


def test_stamps_are_read_as_dates_only_when_they_are_dates():
    from gui.panels.timeline import format_of, parse

    assert parse(["1", "2", "3"]) is None and parse(["0.5", "1.5"]) is None  # a step counter: rows
    assert parse(["2016-07-01", "not a date"]) is None and parse([]) is None
    assert format_of(parse(["1700", "1701", "1702"])) == "%Y"
    assert format_of(parse(["2016-07-01", "2016-07-02", "2016-07-03"])) == "%Y-%m-%d"
    assert format_of(parse(["2016-07-01 00:15:00", "2016-07-01 00:30:00"])) == "%Y-%m-%d %H:%M"

"""The Runs tab as the issue's user had it: the seed tutorial run once per cell, compared side by side."""

from __future__ import annotations

import shutil

from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QApplication
from recorded_runs import seed_runs

ROWS = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows


def runs_tab(make_window, tmp_path, width=1600, height=1000):
    if not (tmp_path / "runs").exists():
        seed_runs(tmp_path / "runs")
    window = make_window()
    window.resize(width, height)
    window.tabs.setCurrentWidget(window.runs_panel)
    window.runs_panel.refresh()
    return window


def settle(qtbot, curves):
    curves.draw_pending()
    QApplication.processEvents()
    qtbot.wait(50)


def legend_names(plot) -> list[str]:
    return sorted(label.text for _, label in plot.legend.items)


def test_the_overlay_legend_names_runs_by_what_differs_and_keeps_its_swatches(make_window, qtbot, tmp_path):
    window = runs_tab(make_window, tmp_path)
    panel = window.runs_panel
    panel.table.selectAll()
    curves = panel.curves
    settle(qtbot, curves)
    for plot in (curves.train_plot, curves.val_plot):
        assert legend_names(plot) == ["gru", "lstm", "rnn"]
        view = plot.vb.sceneBoundingRect()
        for sample, label in plot.legend.items:  # each swatch and its name lie inside the plot
            assert view.contains(sample.sceneBoundingRect()), label.text
            assert view.contains(label.sceneBoundingRect()), label.text
    # the settings diff heads its columns with the same short names, the folder in the tooltip
    heads = {panel.diff.horizontalHeaderItem(c).text(): panel.diff.horizontalHeaderItem(c).toolTip()
             for c in range(panel.diff.columnCount())}
    assert sorted(heads) == ["gru", "lstm", "rnn"]
    assert all(tip.endswith(f"-{name}32-L500H1") for name, tip in heads.items())


def test_short_names():
    from gui.names import own_name, short_names

    def cfg(**b):
        return {"task": "forecast", "preset": "seed", "backbone": {"cell": "rnn", "hidden": 32, "layers": 1,
                                                                   "dropout": 0.0, **b},
                "train": {"lr": 0.003, "threads": 0}, "options": {"data": "cosine"}}

    assert own_name("20261201-145701-cosine-sequence-rnn32-L500H1") == "cosine-sequence-rnn32-L500H1"
    assert own_name("0003-cell-gru-s42") == "0003-cell-gru-s42"
    one = {"a": cfg()}
    assert short_names(one, {"a": "cosine-rnn32"}) == {"a": "cosine-rnn32"}  # alone: its own name
    assert short_names({"a": cfg(), "b": cfg(cell="gru", hidden=64)}, {}) == {"a": "rnn, hidden 32",
                                                                               "b": "gru, hidden 64"}
    data = {"a": cfg(), "b": cfg()}
    data["b"]["options"] = {"data": "/data/forecast/ett/ETTh1.csv"}
    assert short_names(data, {}) == {"a": "cosine", "b": "ETTh1"}
    # what matters most comes first, and a long list is cut with a count of what was left out
    many = {"a": cfg(), "b": cfg(cell="gru", hidden=64, layers=2, dropout=0.1)}
    assert short_names(many, {})["b"] == "gru, hidden 64, layers 2 (+1)"
    # the same settings twice: told apart by their own names
    twins = short_names({"x": cfg(), "y": cfg()}, {"x": "cosine-rnn32", "y": "cosine-rnn32-2"})
    assert twins == {"x": "cosine-rnn32", "y": "cosine-rnn32-2"}
    # a setting older runs lack (added to the engine since) names nothing
    newer = {"a": cfg(), "b": cfg(cell="gru")}
    newer["b"]["train"] = {"lr": 0.003, "threads": 0, "diagnostics": True}
    assert short_names(newer, {}) == {"a": "rnn", "b": "gru"}
    # threads differ, and nothing else does: still a name that differs
    quiet = {"a": cfg(), "b": cfg()}
    quiet["b"]["train"] = {"lr": 0.003, "threads": 1}
    assert short_names(quiet, {}) == {"a": "threads 0", "b": "threads 1"}


def first_column_shown(table) -> bool:
    header = table.horizontalHeader()
    return table.columnCount() > 0 and header.sectionViewportPosition(0) + header.sectionSize(0) <= \
        table.viewport().width()


def test_the_settings_diff_has_room_and_its_splitter_stays_where_it_is_dragged(make_window, qtbot, tmp_path):
    from gui.runs_panel import DIFF_MIN_WIDTH

    for width, height, least in ((1600, 1000, 320), (1024, 700, 220)):
        window = runs_tab(make_window, tmp_path, width, height)
        panel = window.runs_panel
        panel.table.selectAll()
        settle(qtbot, panel.curves)
        assert panel.diff.width() >= least, (width, panel.diff.width())
        assert first_column_shown(panel.diff), width  # a value column, not only the settings' names
        split = panel.lower
        total = sum(split.sizes())
        for diff_width in (total // 2, DIFF_MIN_WIDTH + 20):  # dragged either way, it stays there
            split.moveSplitter(total - diff_width, 1)
            curves_width, shown = split.sizes()
            assert abs(shown - diff_width) <= 12, (width, diff_width, split.sizes())
            assert curves_width >= 250  # and the curves are not collapsed
        split.moveSplitter(10, 1)  # all the way left: the curves keep their least width
        assert split.sizes()[0] >= panel.curves.minimumSizeHint().width() > 0
        window.close()


def test_a_new_run_in_the_list_leaves_the_selection_on_the_run_that_was_selected(make_window, qtbot, tmp_path):
    from recorded_runs import metric_rows, seed_config, write_recorded

    rnn, gru, lstm = seed_runs(tmp_path / "runs")
    window = make_window()
    panel = window.runs_panel
    by_path = {run.path: row for row, run in enumerate(panel.runs)}
    panel.table.selectRow(by_path[lstm])  # the newest, on top
    assert [run.path for run in panel.selected()] == [lstm]
    newer = write_recorded(tmp_path / "runs", "20261201-150000-cosine-sequence-gru64-L500H1",
                           config=seed_config(**{"backbone.hidden": 64}), metrics=metric_rows(),
                           started=1_800_000_100)
    panel.refresh()  # as a run's end does: the new run comes first
    assert panel.runs[0].path == newer
    assert [run.path for run in panel.selected()] == [lstm]
    assert not panel.table.item(0, 0).isSelected()
    assert panel.curves.runs() == [lstm.name]
    assert panel.diff.horizontalHeaderItem(0).toolTip() == str(lstm)
    for row in (1, 2):  # several selected: all of them stay
        panel.table.selectionModel().select(panel.table.model().index(row, 0), ROWS)
    chosen = [run.path for run in panel.selected()]
    assert chosen == [lstm, gru]
    shutil.rmtree(gru)  # a run deleted elsewhere leaves the selection
    panel.refresh()
    assert [run.path for run in panel.selected()] == [lstm]
    assert panel.curves.runs() == [lstm.name]


def test_a_legend_name_too_long_for_a_narrow_plot_is_cut_and_keeps_its_swatch(make_window, qtbot, tmp_path):
    window = runs_tab(make_window, tmp_path, 1024, 700)
    panel = window.runs_panel
    panel.table.selectRow(0)  # alone: the run's own name, 28 characters
    settle(qtbot, panel.curves)
    for plot in (panel.curves.train_plot, panel.curves.val_plot):
        ((sample, label),) = plot.legend.items
        assert plot.vb.sceneBoundingRect().contains(sample.sceneBoundingRect())
        assert label.toolTip() == "cosine-sequence-lstm32-L500H1"
        assert "…" in label.text or label.text == label.toolTip()

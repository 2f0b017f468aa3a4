"""The Runs tab for many runs (issue 19): names, tags and notes kept in the run folder; sorting, filtering and
searching; the data column; Open folder; any metric overlaid; the scores compared as bars and as parallel
coordinates. Recorded run folders only: nothing is trained."""

from __future__ import annotations

import json

from PySide6.QtCore import QItemSelectionModel, QPoint, Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication, QLineEdit, QPushButton
from recorded_runs import METRICS_HEADER, metric_rows, seed_config, write_recorded
from run_damage import good_results

from gui.runs_panel import COLUMNS, DATA_COLUMN, METRIC_COLUMN, NAME_COLUMN, STATUS_COLUMN, TAGS_COLUMN

ROWS = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
ETTH1 = "/data/forecast/ett/ETTh1.csv"


def scored(test: float | None, val: float = 0.1) -> dict:
    metrics = {"val": {"mse": val, "mae": val * 2}}
    if test is not None:
        metrics["test"] = {"mse": test, "mae": test * 2}
    return good_results(metrics=metrics)


def many_runs(root):
    """Four runs: cells and sizes differ, one on ETTh1, one killed before it had results."""
    runs = {}
    for i, (cell, hidden, data, test) in enumerate((("rnn", 32, "cosine", 0.2), ("gru", 64, "cosine", 0.05),
                                                    ("lstm", 32, ETTH1, 1.5), ("gru", 32, "cosine", None))):
        name = f"20261201-1500{i:02d}-{cell}{hidden}"
        config = seed_config(**{"backbone.cell": cell, "backbone.hidden": hidden, "options.data": data})
        runs[name] = write_recorded(root, name, config=config, metrics=metric_rows(scale=1 + i),
                                    results=scored(test, val=0.1 * (i + 1)), started=1_800_000_000 + 60 * i)
    # the last one was killed in its second epoch: no results.json, its best val in metrics.csv
    (runs["20261201-150003-gru32"] / "results.json").unlink()
    return runs


def panel_of(make_window, tmp_path):
    runs = many_runs(tmp_path / "runs")
    window = make_window()
    window.resize(1600, 1000)
    window.tabs.setCurrentWidget(window.runs_panel)
    window.runs_panel.refresh()
    return window.runs_panel, runs


def row_of(panel, path) -> int:
    return [run.path for run in panel.runs].index(path)


def select(panel, *paths) -> None:
    panel.table.clearSelection()
    for path in paths:
        panel.table.selectionModel().select(panel.table.model().index(row_of(panel, path), 0), ROWS)


def cell(panel, path, column) -> str:
    return panel.table.item(row_of(panel, path), column).text()


def shown(panel) -> list[str]:
    return [run.path.name for row, run in enumerate(panel.runs) if not panel.table.isRowHidden(row)]


def button(panel, text) -> QPushButton:
    (found,) = [b for b in panel.findChildren(QPushButton) if b.text() == text]
    return found


def double_click(qtbot, panel, row, column) -> None:
    """As a user's: a press first (Qt's item views open nothing on a double-click that no press began)."""
    where = panel.table.visualRect(panel.table.model().index(row, column)).center()
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=where)
    qtbot.mouseDClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=where)


def type_name(qtbot, panel, text: str) -> None:
    """Into the name's editor, then Return (Qt commits it from the event loop)."""
    box = editor(panel)
    box.setText(text)
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.table.state() != QAbstractItemView.State.EditingState)


def editor(panel) -> QLineEdit:
    QApplication.processEvents()
    assert panel.table.state() == QAbstractItemView.State.EditingState
    (found,) = [e for e in panel.table.viewport().findChildren(QLineEdit) if e.isVisible()]
    return found


def test_a_name_given_in_place_is_kept_in_the_run_folder_and_names_the_run_in_legends(make_window, qtbot,
                                                                                      tmp_path):
    panel, runs = panel_of(make_window, tmp_path)
    rnn, gru = runs["20261201-150000-rnn32"], runs["20261201-150001-gru64"]
    assert cell(panel, rnn, NAME_COLUMN) == "rnn32"  # the folder's name, until the user gives one
    opened = []
    panel.open_run.connect(opened.append)
    row = row_of(panel, rnn)
    # a double-click on the name edits it; elsewhere on the row it opens the run, as before
    double_click(qtbot, panel, row, NAME_COLUMN)
    type_name(qtbot, panel, "first try")
    assert json.loads((rnn / "notes.json").read_text())["name"] == "first try"
    assert cell(panel, rnn, NAME_COLUMN) == "first try" and opened == []
    double_click(qtbot, panel, row, STATUS_COLUMN)
    assert opened == [str(rnn)]
    assert panel.window().curves.label(rnn.name) == "first try"  # the Training tab names it so too
    panel.window().tabs.setCurrentWidget(panel)  # Open went to the Training tab
    # F2 renames the selected run too
    select(panel, gru)
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_F2)
    type_name(qtbot, panel, "wide gru")
    assert json.loads((gru / "notes.json").read_text())["name"] == "wide gru"
    # the names survive a refresh (they are read from the folders), and legends use them
    panel.refresh()
    select(panel, rnn, gru)
    panel.curves.draw_pending()
    legend = sorted(label.text for _, label in panel.curves.train_plot.legend.items)
    assert legend == ["first try", "wide gru"]
    heads = sorted(panel.diff.horizontalHeaderItem(c).text() for c in range(panel.diff.columnCount()))
    assert heads == ["first try", "wide gru"]
    # the folder's name typed back: the run has no name of its own again
    select(panel, rnn)
    button(panel, "Rename").click()
    type_name(qtbot, panel, "rnn32")
    assert not (rnn / "notes.json").exists()


def test_tags_and_notes_are_saved_from_the_side_box_and_filter_the_table(make_window, qtbot, tmp_path):
    panel, runs = panel_of(make_window, tmp_path)
    rnn, gru, lstm = (runs[k] for k in ("20261201-150000-rnn32", "20261201-150001-gru64", "20261201-150002-lstm32"))
    box = panel.notes_box
    select(panel, rnn, gru)
    assert not box.isEnabled()  # several runs: which one's notes?
    select(panel, rnn)
    assert box.isEnabled() and box.name_edit.placeholderText() == "rnn32"
    box.tags_edit.setText("baseline, cosine")
    box.notes_edit.setPlainText("the RNN forgets the phase after 50 steps")
    qtbot.mouseClick(box.save_button, Qt.MouseButton.LeftButton)
    assert json.loads((rnn / "notes.json").read_text()) == {
        "name": "", "tags": ["baseline", "cosine"], "notes": "the RNN forgets the phase after 50 steps"}
    assert cell(panel, rnn, TAGS_COLUMN) == "baseline, cosine"
    # moving to another run saves what was typed for the one before
    box.tags_edit.setText("baseline")
    select(panel, gru)
    assert json.loads((rnn / "notes.json").read_text())["tags"] == ["baseline"]
    box.tags_edit.setText("wide")
    qtbot.keyClick(box.tags_edit, Qt.Key.Key_Return)
    assert json.loads((gru / "notes.json").read_text())["tags"] == ["wide"]
    # the tag filter offers the tags there are, and shows only the runs that have one
    tags = [panel.tag_filter.itemText(i) for i in range(panel.tag_filter.count())]
    assert tags == ["any tag", "baseline", "wide"]
    select(panel, rnn, gru, lstm)
    panel.tag_filter.setCurrentText("wide")
    assert shown(panel) == [gru.name]
    assert [run.path for run in panel.selected()] == [gru]  # hidden runs leave the selection
    assert panel.count_label.text() == "1 of 4 runs"
    panel.tag_filter.setCurrentText("any tag")
    # the search box looks in notes, settings and data, every word
    panel.search.setText("forgets phase")
    assert shown(panel) == [rnn.name]
    panel.search.setText("ETTh1")
    assert shown(panel) == [lstm.name]
    panel.search.setText("cell=gru")
    assert sorted(shown(panel)) == ["20261201-150001-gru64", "20261201-150003-gru32"]
    panel.search.setText("")
    panel.status_filter.setCurrentText("incomplete")
    assert shown(panel) == ["20261201-150003-gru32"]
    panel.status_filter.setCurrentText("any status")
    panel.task_filter.setCurrentText("forecast")
    assert len(shown(panel)) == 4
    # a run opened from elsewhere (a sweep's trial) is shown even where a filter hid it
    panel.search.setText("ETTh1")
    panel.window().open_trial_run(str(rnn))
    assert panel.search.text() == "" and [run.path for run in panel.selected()] == [rnn]
    # an error in what was typed is said in the box, and nothing is written
    select(panel, lstm)
    box.tags_edit.setText("x" * 70)
    assert not box.save() and "longer than 64" in box.said.text()
    assert not (lstm / "notes.json").exists()


def test_a_damaged_notes_file_is_reported_and_does_not_hide_the_run(make_window, qtbot, tmp_path):
    runs = many_runs(tmp_path / "runs")
    rnn = runs["20261201-150000-rnn32"]
    (rnn / "notes.json").write_text("{oops", encoding="utf-8")
    window = make_window()
    panel = window.runs_panel
    assert len(panel.runs) == 4
    assert cell(panel, rnn, TAGS_COLUMN) == "notes damaged"
    assert cell(panel, rnn, STATUS_COLUMN) == "finished"
    select(panel, rnn)
    assert panel.notice.text().startswith(f"{rnn.name}: notes.json: not valid JSON")
    assert panel.curves.runs() == [rnn.name]  # it is still compared
    assert "saving replaces it" in panel.notes_box.said.text()
    panel.notes_box.name_edit.setText("fixed")
    assert panel.notes_box.save()
    assert json.loads((rnn / "notes.json").read_text())["name"] == "fixed"
    assert cell(panel, rnn, TAGS_COLUMN) == ""


def test_headers_sort_scores_as_numbers_and_keep_rows_and_selection_together(make_window, qtbot, tmp_path):
    panel, runs = panel_of(make_window, tmp_path)
    assert [run.path.name[-6:] for run in panel.runs] == ["-gru32", "lstm32", "-gru64", "-rnn32"]  # newest first
    lstm = runs["20261201-150002-lstm32"]
    select(panel, lstm)
    header = panel.table.horizontalHeader()
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(header.sectionViewportPosition(METRIC_COLUMN) + 5, header.height() // 2))
    # by value, not as text ("mse 10" would come before "mse 2"); the run without a score last
    scores = [cell(panel, run.path, METRIC_COLUMN) for run in panel.runs]
    assert scores == ["mse 0.05", "mse 0.2", "mse 1.5", ""]
    assert [run.path for run in panel.selected()] == [lstm]  # the selection moved with its row
    for row, run in enumerate(panel.runs):  # row i is runs[i]: what Open, Export and the tests rely on
        assert panel.table.item(row, NAME_COLUMN).toolTip().startswith(str(run.path))
    panel.sort_by(METRIC_COLUMN)  # clicked again: the other way, and the unscored still last
    assert [cell(panel, run.path, METRIC_COLUMN) for run in panel.runs] == ["mse 1.5", "mse 0.2", "mse 0.05", ""]
    panel.sort_by(COLUMNS.index("started"), descending=False)
    assert [run.started for run in panel.runs] == sorted(run.started for run in panel.runs)
    panel.sort_by(NAME_COLUMN, descending=False)
    assert [cell(panel, run.path, NAME_COLUMN) for run in panel.runs] == ["gru32", "gru64", "lstm32", "rnn32"]
    panel.refresh()  # a refresh keeps the order chosen
    assert [cell(panel, run.path, NAME_COLUMN) for run in panel.runs] == ["gru32", "gru64", "lstm32", "rnn32"]


def test_the_data_column_and_open_folder(make_window, qtbot, tmp_path, monkeypatch):
    import gui.runs_panel

    panel, runs = panel_of(make_window, tmp_path)
    lstm = runs["20261201-150002-lstm32"]
    assert cell(panel, lstm, DATA_COLUMN) == "ETTh1.csv"
    assert panel.table.item(row_of(panel, lstm), DATA_COLUMN).toolTip() == ETTH1
    assert cell(panel, runs["20261201-150000-rnn32"], DATA_COLUMN) == "cosine"
    opened = []
    monkeypatch.setattr(gui.runs_panel.QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    select(panel, lstm)
    button(panel, "Open folder").click()
    assert [url.toLocalFile() for url in opened] == [str(lstm.resolve())]
    monkeypatch.setattr(gui.runs_panel.QDesktopServices, "openUrl", lambda url: False)
    button(panel, "Open folder").click()
    assert panel.notice.text() == f"no file manager opened {lstm}"


def test_any_logged_metric_can_be_overlaid(make_window, qtbot, tmp_path):
    root = tmp_path / "runs"
    rows = metric_rows().removeprefix(METRICS_HEADER).splitlines()
    extra = [f"{1000 + s / 10},{s},{(s - 1) // 20},train/grad_norm,{1 + s / 100}" for s in range(1, 41)]
    extra += ["1002.05,20,0,val/mae,0.3", "1004.1,40,1,val/mae,0.2"]
    write_recorded(root, "20261201-150000-a", metrics=METRICS_HEADER + "\r\n".join(rows + extra) + "\r\n")
    window = make_window()
    panel = window.runs_panel
    panel.table.selectRow(0)
    curves = panel.curves
    offered = [curves.val_combo.itemText(i) for i in range(curves.val_combo.count())]
    assert offered == ["val/mse", "val/mae", "train/grad_norm"]  # validation first; train/loss is on the left
    assert curves.val_combo.currentText() == "val/mse" and curves.val_label.text() == "Metric:"
    curves.set_val_metric("train/grad_norm")
    curves.draw_pending()
    xs, ys = curves.shown_metric("20261201-150000-a").getData()
    assert list(xs) == list(range(1, 41)) and ys[-1] == 1.4
    assert curves.val_plot.titleLabel.text == "train/grad_norm"
    curves.set_val_metric("val/mae")
    curves.draw_pending()
    assert list(curves.shown_metric("20261201-150000-a").getData()[1]) == [0.3, 0.2]
    # the Training tab's curves still offer validation metrics only
    assert window.curves.any_metric is False


def test_scores_compared_as_bars_and_parallel_coordinates(make_window, qtbot, tmp_path):
    panel, runs = panel_of(make_window, tmp_path)
    panel.compare_tabs.setCurrentWidget(panel.scalars)
    panel.table.selectAll()
    scalars = panel.scalars
    assert scalars.metric_combo.currentText() == "mse"
    assert scalars.pages.currentWidget() is scalars.bars
    by_label = {label: (s.value, s.split) for label, s in scalars.shown_scores}
    # labelled by the short names the legends use; the killed run by its best epoch's validation score
    assert by_label == {"lstm, hidden 32, ETTh1": (1.5, "test"), "gru, hidden 64, cosine": (0.05, "test"),
                        "rnn, hidden 32, cosine": (0.2, "test"), "gru, hidden 32, cosine": (0.02, "val")}
    ticks = [label for _, label in scalars.bars.plot.getAxis("bottom")._tickLevels[0]]
    assert len(ticks) == 4
    scalars.set_metric("mae")
    assert [s.value for _, s in scalars.shown_scores] == [None, 3.0, 0.1, 0.4]  # the killed run logged no mae
    assert scalars.bars.plot.getAxis("bottom")._tickLevels[0][0][1].endswith("(no score)")
    scalars.set_metric("mse")
    scalars.set_view("parallel coordinates")
    assert scalars.pages.currentWidget() is scalars.parallel
    axes = {axis.key: axis for axis in scalars.axes}
    assert list(axes) == ["backbone.cell", "backbone.hidden", "options.data", "mse"]
    order = [run.path.name for run in panel.selected()]
    cell_axis = dict(zip(order, axes["backbone.cell"].positions))
    assert cell_axis["20261201-150000-rnn32"] == 1.0 and cell_axis["20261201-150001-gru64"] == 0.0
    assert cell_axis["20261201-150002-lstm32"] == 0.5  # categories evenly spaced, in order
    assert [label for _, label in axes["backbone.cell"].ticks] == ["gru", "lstm", "rnn"]
    hidden = dict(zip(order, axes["backbone.hidden"].positions))
    assert hidden["20261201-150001-gru64"] == 1.0 and hidden["20261201-150000-rnn32"] == 0.0  # numbers, scaled
    metric = dict(zip(order, axes["mse"].positions))
    assert metric["20261201-150002-lstm32"] == 1.0 and metric["20261201-150003-gru32"] == 0.0
    assert axes["mse"].kind == "numeric"
    # coloured by the metric: the best run darkest, the worst lightest
    pens = {label.text.split(":")[0]: sample.item.opts["pen"].color().lightness()
            for sample, label in scalars.parallel.legend.items}
    best_to_worst = ["gru, hidden 32, cosine", "gru, hidden 64, cosine", "rnn, hidden 32, cosine",
                     "lstm, hidden 32, ETTh1"]
    assert sorted(pens, key=pens.get) == best_to_worst
    assert len(scalars.parallel.legend.items) == 4
    # a killed run alone: its scores are the validation ones its metrics.csv holds
    select(panel, runs["20261201-150003-gru32"])
    scalars.set_view("bars")
    assert scalars.metric_combo.currentText() == "mse"
    ((_, alone),) = scalars.shown_scores
    assert (alone.value, alone.split) == (0.02, "val")


def test_a_given_name_wins_and_two_alike_are_told_apart():
    from gui.names import short_names

    def cfg(cell):
        return {"task": "forecast", "backbone": {"cell": cell, "hidden": 32}, "options": {"data": "cosine"}}

    configs = {"a": cfg("rnn"), "b": cfg("gru"), "c": cfg("lstm")}
    assert short_names(configs, {}, {"a": "baseline", "b": ""}) == {"a": "baseline", "b": "gru", "c": "lstm"}
    assert short_names(configs, {}, {"a": "try", "b": "try"}) == {"a": "try (rnn)", "b": "try (gru)", "c": "lstm"}


def test_data_labels():
    from gui.runs_filter import data_label

    assert data_label("/work/shared/data/forecast/ett/ETTh1.csv") == "ETTh1.csv"
    assert data_label("C:\\data\\imdb\\") == "imdb"
    assert data_label("sentiment/imdb.csv.gz") == "imdb.csv.gz"
    assert data_label("stanfordnlp/imdb") == "stanfordnlp/imdb"  # a Hub name as written
    assert data_label("synthetic:adding") == "synthetic:adding"
    assert data_label("") == ""

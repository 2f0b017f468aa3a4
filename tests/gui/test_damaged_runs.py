"""A damaged run folder in the runs list: the window starts, lists it as "damaged: <reason>", shows the
reason when it is selected, and leaves it out of the curves, the settings diff, Open and Try it, while
every other run keeps working. (pytest-qt fails a test on an exception raised in any slot.)"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from run_damage import DAMAGES, METRICS_HEADER, good_results, write_damaged, write_run


def rows_by_name(window) -> dict[str, int]:
    panel = window.runs_panel
    return {panel.runs[row].path.name: row for row in range(panel.table.rowCount())}


def status_cell(window, row: int) -> str:
    from gui.runs_panel import STATUS_COLUMN

    return window.runs_panel.table.item(row, STATUS_COLUMN).text()


def click(window, qtbot, text: str) -> None:
    (button,) = [b for b in window.runs_panel.findChildren(QPushButton) if b.text() == text]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_the_window_starts_and_lists_each_damaged_run(make_window, qtbot, tmp_path, monkeypatch):
    monkeypatch.delenv("RNN_SUITE_RUNS", raising=False)
    root = tmp_path / "runs"
    write_run(root / "forecast" / "good")
    write_run(root / "forecast" / "nan", results=good_results(metrics={"val": {"mse": None}, "test": {"mse": None}}))
    for name in DAMAGES:  # the YAML bomb among them
        write_damaged(root, name)

    started = time.perf_counter()
    window = make_window()
    assert time.perf_counter() - started < 60  # the bomb is refused, not expanded: 387 million strings
    rows = rows_by_name(window)
    assert set(rows) == {"good", "nan", *DAMAGES}
    assert status_cell(window, rows["good"]) == "finished"
    from gui.runs_panel import METRIC_COLUMN

    assert window.runs_panel.table.item(rows["good"], METRIC_COLUMN).text() == "mse 0.2"
    assert window.runs_panel.table.item(rows["nan"], METRIC_COLUMN).text() == "mse n/a"  # a score that was not finite
    for name, (_, _, starts, words) in DAMAGES.items():
        text = status_cell(window, rows[name])
        assert text.startswith(f"damaged: {starts}") and words in text, (name, text)

    panel = window.runs_panel
    window.tabs.setCurrentWidget(panel)
    for name in DAMAGES:
        panel.table.clearSelection()
        panel.table.selectRow(rows[name])
        assert panel.selected()[0].path.name == name
        assert not panel.notice.isHidden() and f"{name}: damaged: {DAMAGES[name][2]}" in panel.notice.text()
        assert panel.diff.columnCount() == 0 and panel.curves._series == {}
        for button in ("Open", "Try it"):
            click(window, qtbot, button)
        assert window.predict_panel.run_dir is None  # Try it did not start loading the damaged run
        assert window.tabs.currentWidget() is panel  # neither Open nor Try it went anywhere

    # all at once: the good runs are overlaid and compared, the damaged ones named
    panel.table.selectAll()
    assert sorted(panel.curves._series) == ["good", "nan"]
    assert sorted(panel.diff.horizontalHeaderItem(c).text() for c in range(panel.diff.columnCount())) == ["good", "nan"]
    assert len(panel.notice.text().splitlines()) == len(DAMAGES)

    # and the good run still opens
    panel.table.clearSelection()
    panel.table.selectRow(rows["good"])
    assert panel.notice.isHidden()
    click(window, qtbot, "Open")
    assert window.tabs.currentIndex() == 0
    qtbot.waitUntil(lambda: window.curves.curve("good", "train/loss") is not None, timeout=5000)
    click(window, qtbot, "Refresh")
    assert set(rows_by_name(window)) == {"good", "nan", *DAMAGES}


def test_damage_found_only_when_the_run_is_selected_is_shown_then(make_window, qtbot, tmp_path, monkeypatch):
    monkeypatch.delenv("RNN_SUITE_RUNS", raising=False)
    rows = "".join(f"{i}.0,{i},0,train/loss,0.5\r\n" for i in range(5000))  # longer than the listing reads
    run_dir = write_run(tmp_path / "runs" / "forecast" / "long", metrics=METRICS_HEADER + rows)
    with open(run_dir / "metrics.csv", "ab") as handle:
        handle.write(b"\xff\xfe binary\n")
    window = make_window()
    assert status_cell(window, 0) == "finished"
    window.runs_panel.table.selectRow(0)
    assert status_cell(window, 0) == "damaged: metrics.csv, line 5002: not a text file (binary data)"
    assert "long: damaged: metrics.csv" in window.runs_panel.notice.text()
    window.show_run(str(run_dir))  # Open reached another way (the Runs tab refuses it now) says why, no traceback
    assert window.state_label.text().startswith("cannot open the run: ") and "metrics.csv" in window.state_label.text()

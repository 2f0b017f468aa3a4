"""The settings form says what is wrong where the user looks, before anything starts."""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication


def edit(window, key, value):
    window.form.editors[key].set(value)


def top_of(widget, window) -> int:
    return widget.mapTo(window, QPoint(0, 0)).y()


def test_an_invalid_value_is_said_beside_its_field_and_at_the_top_and_stops_queue_too(make_window, qtbot):
    window = make_window()
    window.resize(1280, 800)
    edit(window, "train.lr", "-0.01")
    QApplication.processEvents()
    assert not window.run_button.isEnabled() and not window.queue_button.isEnabled()
    lr = window.form.editors["train.lr"]
    assert lr.message.isVisible() and lr.message.text() == "must be greater than 0.0, got -0.01"
    banner = window.form.error_label
    assert banner.isVisible() and banner.text() == "train.lr (--lr): must be greater than 0.0, got -0.01"
    scroll = window.form_scroll
    assert top_of(banner, window) < top_of(scroll, window)  # above the 45 fields, not below them
    # the banner takes the user to the field, wherever the form was scrolled
    scroll.verticalScrollBar().setValue(scroll.verticalScrollBar().maximum())
    window.form.error_link.linkActivated.emit("train.lr")
    QApplication.processEvents()
    visible = scroll.viewport().rect()
    field = lr.editor.mapTo(scroll.viewport(), QPoint(0, 0))
    assert visible.contains(field), (field, visible)
    window.queue_run()  # Ctrl+R or a stray call: nothing starts
    assert window.process is None and not window.queue
    edit(window, "train.lr", "0.01")
    assert window.run_button.isEnabled() and window.queue_button.isEnabled()
    assert not lr.message.isVisible() and not banner.isVisible()


def test_a_missing_data_file_is_said_in_the_form_before_anything_starts(make_window, tmp_path, monkeypatch):
    monkeypatch.delenv("RNN_SUITE_DATA", raising=False)
    window = make_window()
    for key, value in (("options.lookback", 24), ("options.horizon", 12), ("options.data", "nowhere.csv")):
        edit(window, key, value)
    assert not window.run_button.isEnabled() and not window.queue_button.isEnabled()
    data = window.form.editors["options.data"]
    assert data.message.isVisible()
    assert data.message.text() == (f"nowhere.csv: file not found (looked for in the working folder {tmp_path}; "
                                   "no data root is set: $RNN_SUITE_DATA)")
    assert window.form.error_label.text().startswith("options.data (--data): nowhere.csv: file not found")
    (tmp_path / "nowhere.csv").write_text("t,v\n1,2\n")  # relative to the folder the run starts in
    edit(window, "options.data", "./nowhere.csv")
    assert window.run_button.isEnabled(), window.form.error_label.text()
    edit(window, "options.data", str(tmp_path / "gone" / "series.parquet"))
    assert "series.parquet: file not found" in data.message.text()
    root = tmp_path / "data"
    (root / "forecast").mkdir(parents=True)
    (root / "forecast" / "etth1.csv").write_text("t,v\n1,2\n")
    monkeypatch.setenv("RNN_SUITE_DATA", str(root))
    edit(window, "options.data", "forecast/etth1.csv")  # found under the data root, as the run will find it
    assert window.run_button.isEnabled(), window.form.error_label.text()
    edit(window, "options.data", "forecast/etth2.csv")
    assert data.message.text() == (f"forecast/etth2.csv: file not found (looked for in the working folder "
                                   f"{tmp_path} and the data root {root})")
    link = tmp_path / "broken.csv"
    link.symlink_to(tmp_path / "nothing-here.csv")
    edit(window, "options.data", "broken.csv")
    assert "broken.csv: is a broken symbolic link" in data.message.text()
    for name in ("cosine", "synthetic:adding"):  # built-in sources are no files
        edit(window, "options.data", name)
        assert not data.message.isVisible(), name


def test_an_error_the_child_prints_is_logged_once(fake_window):
    from fake_process import FakeProcess

    window = fake_window
    window.start_run()
    proc = FakeProcess.made[-1]
    proc.say("error: /data/bad.csv, line 3: not a number in column 'v'")
    proc.emit("error", message="/data/bad.csv, line 3: not a number in column 'v'")
    proc.end(2, "failed")
    assert window.log.toPlainText().count("not a number") == 1
    assert window.state_label.text() == "run failed: /data/bad.csv, line 3: not a number in column 'v'"
    window.start_run()  # a child that dies without a word: the window says what it knows, once
    FakeProcess.made[-1].end(1, "failed")
    assert window.log.toPlainText().count("error: the run exited with code 1") == 1


def test_the_window_works_at_1024_by_700_with_every_field_and_button_in_sight(make_window, qtbot):
    from PySide6.QtWidgets import QPushButton

    window = make_window()
    window.resize(900, 700)
    QApplication.processEvents()
    assert window.width() <= 960  # narrower than 1024 if asked (it could not go below 1199)
    window.resize(1024, 700)
    for task in ("forecast", "tagging", "translation"):  # forms of several widths and path fields
        window.task_box.setCurrentIndex(window.task_box.findData(task))
        QApplication.processEvents()
        assert (window.width(), window.height()) == (1024, 700)
        scroll = window.form_scroll
        assert not scroll.horizontalScrollBar().isVisible(), task
        width = scroll.viewport().width()
        browse = [b for b in window.form.findChildren(QPushButton) if b.text() == "…"]
        assert browse, task
        for button in browse + [e.editor for e in window.form.editors.values()]:
            right = button.mapTo(scroll.viewport(), QPoint(button.width(), 0)).x()
            assert right <= width, (task, button.objectName() or button.text(), right, width)
    for button in (window.run_button, window.queue_button, window.stop_button, window.kill_button):
        assert button.visibleRegion().boundingRect().width() == button.width()  # none cut off


def test_choosing_a_preset_keeps_what_the_user_set_and_reset_goes_back_to_the_preset(make_window, qtbot):
    from PySide6.QtCore import Qt

    window = make_window()
    assert window.preset_box.currentData() == "seed"
    for key, value in (("backbone.cell", "gru"), ("train.threads", 1), ("backbone.hidden", 48)):
        edit(window, key, value)
    window.preset_box.setCurrentIndex(window.preset_box.findData("none"))
    values = window.form.values()
    assert (values["backbone.cell"], values["train.threads"], values["backbone.hidden"]) == ("gru", 1, 48)
    assert values["options.lookback"] != 500  # the rest is the new preset's (no preset: the task's defaults)
    # gru is the plain defaults' cell too: no longer a setting of the user's
    assert window.command.text() == "python -m suite --task forecast --preset none --hidden 48 --threads 1"
    assert window.preset_note.isVisible()
    assert window.preset_note.text() == "kept what you set: hidden 48, threads 1 (Reset: the preset's own)"
    qtbot.mouseClick(window.reset_button, Qt.MouseButton.LeftButton)
    assert window.form.explicit() == {} and window.command.text() == "python -m suite --task forecast --preset none"
    assert not window.preset_note.isVisible()
    window.preset_box.setCurrentIndex(window.preset_box.findData("seed"))  # nothing set: nothing to keep
    assert window.form.values()["options.lookback"] == 500 and not window.preset_note.isVisible()


def test_an_error_marks_its_own_field_only(make_window):
    window = make_window()
    window.preset_box.setCurrentIndex(window.preset_box.findData("none"))
    edit(window, "train.lr_decay", "-2")  # its field is train.lr_decay (--lr-decay): not lr's
    editors = window.form.editors
    assert editors["train.lr_decay"].message.isVisible()
    assert not editors["train.lr"].message.isVisible()

"""The form puts the data first: the task's data settings, its preview, the settings that matter, then a
folded Advanced group that counts what is set in it and opens for an error (issue 19)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication, QGroupBox, QPushButton

from suite.config import BackboneConfig, TrainConfig, field_group, option

TASKS = ("forecast", "sentiment", "tagging", "translation", "music")


def top(widget, window) -> int:
    return widget.mapTo(window, QPoint(0, 0)).y()


def group_of(window, key):
    widget = window.form.editors[key].widget
    while widget is not None and not isinstance(widget, QGroupBox):
        widget = widget.parentWidget()
    return widget


def choose(window, task):
    window.task_box.setCurrentIndex(window.task_box.findData(task))
    QApplication.processEvents()


@pytest.mark.parametrize("task", TASKS)
def test_the_data_comes_first_then_the_settings_that_matter_then_advanced_folded(make_window, task):
    window = make_window()
    window.resize(1280, 800)
    choose(window, task)
    form = window.form
    data, lr, precision = (group_of(window, k) for k in ("options.data", "train.lr", "train.precision"))
    assert data.title() == "Data" and group_of(window, "backbone.cell").title() == "Backbone"
    titles = [g.title() for g in form.findChildren(QGroupBox) if g.isVisible()]
    assert titles[0] == "Data" and titles[1].startswith("Task: ") and titles[2:] == ["Backbone", "Training"], titles
    assert top(window.task_box, window) < top(data, window) < top(form.preview, window) < top(lr, window)
    assert top(lr, window) < top(form.advanced_button, window)
    # the rarely changed settings are folded away, under one header
    assert not precision.isVisible() and form.advanced_button.isVisible()
    assert form.advanced_button.text() == "Advanced"
    for key in ("train.precision", "train.devices", "train.strategy", "train.threads", "train.num_workers",
                "train.grad_clip", "train.lr_decay", "train.log_every", "train.diagnostics"):
        assert key in form.advanced_keys, key
    for key in ("backbone.cell", "backbone.hidden", "backbone.layers", "backbone.bidirectional",
                "backbone.dropout", "train.lr", "train.max_epochs", "train.batch_size", "train.seed"):
        assert key not in form.advanced_keys and form.editors[key].editor.isVisible(), key
    assert "options.data" in form.data_keys
    window.form.advanced_button.click()
    QApplication.processEvents()
    assert precision.isVisible() and top(form.advanced_button, window) < top(precision, window)


def test_each_task_marks_how_its_data_is_read_as_data(make_window):
    window = make_window()
    expected = {"forecast": {"options.time_column", "options.target", "options.covariates", "options.split"},
                "sentiment": {"options.text_column", "options.label_column", "options.val_fraction"},
                "tagging": {"options.train", "options.val", "options.test", "options.format", "options.tag_column"},
                "translation": {"options.source_lang", "options.target_lang", "options.pair_columns"},
                "music": {"options.step", "options.split", "options.max_files"}}
    for task, keys in expected.items():
        choose(window, task)
        assert keys <= window.form.data_keys, (task, keys - window.form.data_keys)
        assert not window.form.data_keys & window.form.advanced_keys


def test_a_plugin_without_markers_gets_its_data_first_and_the_rest_in_sight():
    @dataclass
    class PluginConfig:
        data: str = option("x.csv", "the data", path=True)
        width: int = option(3, "how wide")
        rare: int = option(0, "rarely changed", group="advanced")

    assert [field_group(f) for f in fields(PluginConfig)] == ["data", "main", "advanced"]
    with pytest.raises(ValueError, match="option group must be one of data, main, advanced"):
        option(1, "bad", group="hidden")
    # the engine's own sections are all placed
    assert {field_group(f) for cls in (BackboneConfig, TrainConfig) for f in fields(cls)} == {"main", "advanced"}


def test_the_folded_header_counts_what_is_set_in_it(make_window):
    window = make_window()
    form = window.form
    form.editors["train.threads"].set(1)
    form.editors["train.precision"].set("64")
    form.editors["train.lr"].set("0.01")  # not in Advanced: not counted
    assert form.advanced_button.text() == "Advanced (2 changed)"
    assert not form.advanced_open()
    form.editors["train.precision"].set("32")  # back to the preset's value
    assert form.advanced_button.text() == "Advanced (1 changed)"
    window.preset_box.setCurrentIndex(window.preset_box.findData("none"))  # kept through a preset change
    assert form.advanced_button.text() == "Advanced (1 changed)"
    window.reset_button.click()
    assert form.advanced_button.text() == "Advanced"


def test_an_error_in_a_folded_field_opens_the_group_and_shows_the_field(make_window, qtbot):
    window = make_window()
    window.resize(1024, 700)
    QApplication.processEvents()
    form = window.form
    devices = form.editors["train.devices"]
    assert not devices.editor.isVisible()
    devices.set("two")  # as a restored setting or a preset would put it there, out of sight
    assert form.advanced_open() and devices.editor.isVisible()
    assert devices.message.isVisible() and "expected a count" in devices.message.text()
    scroll = window.form_scroll

    def in_sight():
        field = devices.editor.mapTo(scroll.viewport(), QPoint(0, 0))
        return scroll.viewport().rect().contains(field)
    qtbot.waitUntil(in_sight, timeout=2000)
    devices.set("auto")
    form.set_advanced_open(False)
    scroll.verticalScrollBar().setValue(0)
    form.error_link.linkActivated.emit("train.devices")  # the banner's link opens it too
    form.show_field("train.devices")
    assert form.advanced_open() and in_sight()


def test_the_form_fits_at_1024_by_700_with_advanced_open(make_window):
    window = make_window()
    window.resize(1024, 700)
    for task in TASKS:
        choose(window, task)
        window.form.set_advanced_open(True)
        QApplication.processEvents()
        scroll = window.form_scroll
        assert not scroll.horizontalScrollBar().isVisible(), task
        width = scroll.viewport().width()
        browse = [b for e in window.form.editors.values() for b in e.widget.findChildren(QPushButton)]
        assert browse, task
        for widget in browse + [e.editor for e in window.form.editors.values()]:
            assert widget.isVisible(), (task, widget.objectName())
            right = widget.mapTo(scroll.viewport(), QPoint(widget.width(), 0)).x()
            assert right <= width, (task, widget.objectName() or widget.text(), right, width)


def test_the_file_dialog_starts_at_the_data_root(make_window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda parent, caption, folder, filters: (asked.append(folder), ("", ""))[1]))
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("RNN_SUITE_DATA", str(root))
    window = make_window()
    data = window.form.editors["options.data"]
    browse = next(b for b in data.widget.findChildren(QPushButton) if b.text() == "…")
    browse.click()
    assert asked[-1] == str(root)
    monkeypatch.delenv("RNN_SUITE_DATA")
    (tmp_path / "series").mkdir()
    data.set("series/sales.csv")  # no data root: the current value's folder, from the working folder
    browse.click()
    assert asked[-1] == str(tmp_path / "series")
    data.set("cosine")  # no folder in it: the working folder
    browse.click()
    assert asked[-1] == str(tmp_path)
    chosen = str(tmp_path / "series" / "sales.csv")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a: (chosen, "")))
    browse.click()
    assert data.get() == chosen

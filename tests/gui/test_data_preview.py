"""The data preview under the form's Data group: the first rows or sentences, the columns or tags found and
which ones a run would use, and the split sizes, read by a child so the window never waits (issue 19)."""

from __future__ import annotations

import json
import time

import pytest
from PySide6.QtCore import Qt, QTimer

from suite.config import build_run_config
from suite.preview import preview_data, render
from suite.registry import get_task

WAIT_MS = 120_000  # the child imports pandas and torch: seconds on two busy cores


@pytest.fixture
def data_window(make_window, data_root, monkeypatch):
    monkeypatch.setenv("RNN_SUITE_DATA", str(data_root))
    return make_window()


def wait_preview(window, qtbot):
    preview = window.form.preview
    qtbot.waitUntil(lambda: not preview.busy() and (preview.preview is not None or preview.error.isVisible()),
                    timeout=WAIT_MS)
    return preview


def test_the_preview_shows_rows_columns_used_and_splits_and_says_a_wrong_column(data_window, qtbot, monkeypatch,
                                                                                 tmp_path):
    import gui.data_preview

    window = data_window
    requests = []
    real = gui.data_preview.QProcess

    class Counted(real):
        def write(self, data):
            requests.append(json.loads(bytes(data)))
            return super().write(data)
    monkeypatch.setattr(gui.data_preview, "QProcess", Counted)
    form = window.form
    form.editors["options.split"].set("8640,2880,2880")
    for partial in ("forecast/", "forecast/ett/", "forecast/ett/ETTh1", "forecast/ett/ETTh1.csv"):
        form.editors["options.data"].set(partial)  # typed: the field rests only at the end
    # the event loop keeps ticking while the worker reads: timed from the loop's first turn, since what comes
    # before it (the debounced request, the worker's process started) is not the reading (on a 2-core machine
    # shared with a second test worker, starting the process once held the first turn 0.34 s)
    ticks, gaps = [], []

    def tick():
        now = time.perf_counter()
        if ticks:
            gaps.append(now - ticks[-1])
        ticks.append(now)
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    preview = wait_preview(window, qtbot)
    timer.stop()
    assert not preview.error.isVisible(), preview.error.text()
    assert len(requests) == 1 and "forecast/ett/ETTh1.csv" in requests[0]["args"], requests
    assert preview.preview.source.endswith("forecast/ett/ETTh1.csv")
    table = preview.table
    assert table.isVisible() and table.rowCount() == 5 and table.columnCount() == 8
    assert [table.horizontalHeaderItem(c).text() for c in (0, 7)] == ["date", "OT"]
    assert table.item(0, 0).text() == "2016-07-01 00:00:00" and table.item(0, 7).text() == "30.531"
    text = preview.summary.text()
    assert "<b>date</b> (time)" in text and "<b>OT</b> (target)" in text
    assert "train 8,640 rows (2016-07-01 00:00:00 to 2017-06-25 23:00:00" in text
    assert "test 2,880 rows (2017-10-24 00:00:00 to 2018-02-20 23:00:00" in text
    assert len(gaps) > 10 and max(gaps) < 0.25, max(gaps)  # a busy test machine: a stall is seconds

    # another task, a wrong column: said before any run starts, by the same worker
    window.task_box.setCurrentIndex(window.task_box.findData("sentiment"))
    form.editors["options.data"].set("sentiment/sst2")
    form.editors["options.label_column"].set("stars")
    preview = wait_preview(window, qtbot)
    assert preview.error.isVisible() and not preview.table.isVisible()
    assert preview.error.text().endswith("sst2/train.tsv: no label column 'stars' (--label-column); columns: "
                                         "sentence, label")
    form.editors["options.label_column"].set("label")
    preview = wait_preview(window, qtbot)
    assert not preview.error.isVisible() and "<b>sentence</b> (text), <b>label</b> (label)" in preview.summary.text()
    assert "splits: train 67,349 examples (train.tsv) · val 872 examples (dev.tsv)" in preview.summary.text()
    sent = len(requests)
    form.editors["options.data"].set("sentiment/nowhere.csv")  # the form's own check: nothing sent
    assert not preview.busy() and preview.error.text().startswith("no preview until the data setting is fixed: "
                                                                  "options.data (--data): sentiment/nowhere.csv")
    qtbot.wait(gui.data_preview.DEBOUNCE_MS + 100)
    assert len(requests) == sent

    # a file of the user's, changed on disk: "Read again" reads it anew
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("body,stars\ngood film,5\nbad film,1\n")
    form.editors["options.label_column"].set("stars")
    form.editors["options.data"].set("./reviews.csv")
    preview = wait_preview(window, qtbot)
    assert preview.table.item(0, 0).text() == "good film" and "<b>body</b> (text)" in preview.summary.text()
    reviews.write_text("body,stars\ndull film,2\nfine film,4\nfun film,5\n")
    qtbot.mouseClick(preview.again, Qt.MouseButton.LeftButton)
    preview = wait_preview(window, qtbot)
    assert preview.table.item(0, 0).text() == "dull film" and preview.preview.found == {"2": 1, "4": 1, "5": 1}


def preview_of(task_name, data_root, monkeypatch, **explicit):
    monkeypatch.setenv("RNN_SUITE_DATA", str(data_root))
    task = get_task(task_name)
    return preview_data(task, build_run_config(task, explicit=explicit), rows=2)


def test_tagging_previews_sentences_with_their_tags(data_root, monkeypatch):
    preview = preview_of("tagging", data_root, monkeypatch, **{"options.data": "tagging/wnut17"})
    assert preview.kind == "sentences" and len(preview.rows) == 2
    assert preview.rows[0][0].startswith("@paulwalk/O It/O 's/O the/O view/O")
    assert "B-location" in preview.rows[0][0]
    assert set(preview.found) == {"O", *(f"{b}-{t}" for b in "BI" for t in (
        "person", "location", "group", "corporation", "product", "creative-work"))}
    assert [(s.name, s.size, s.origin) for s in preview.splits] == [
        ("train", 3394, "wnut17train.conll"), ("val", 1009, "emerging.dev.conll"),
        ("test", 1287, "emerging.test.annotated")]


def test_class_files_translation_pairs_and_music_rolls(data_root, monkeypatch):
    texts = preview_of("sentiment", data_root, monkeypatch,
                       **{"options.data": "sentiment/rt_polarity", "options.encoding": "latin-1"})
    assert [row[0] for row in texts.rows] == ["neg", "pos"] and texts.found == {"neg": 5331, "pos": 5331}
    assert [(s.name, s.size) for s in texts.splits] == [("train", 8530), ("val", 2132), ("test", 0)]
    pairs = preview_of("translation", data_root, monkeypatch)
    assert pairs.header == ["de", "en"] and pairs.rows[0][1].startswith("Two young, White males are outside")
    assert [(s.name, s.size, s.origin) for s in pairs.splits] == [
        ("train", 29000, "train.de/.en"), ("val", 1014, "val.de/.en"), ("test", 1000, "test_2016_flickr.de/.en")]
    rolls = preview_of("music", data_root, monkeypatch,
                       **{"options.data": "music/jsb_chorales/jsb-chorales-quarter.json"})
    assert [(s.name, s.size) for s in rolls.splits] == [("train", 229), ("val", 76), ("test", 77)]
    assert rolls.rows[0][0] == "train[0]" and int(rolls.rows[0][1]) > 0
    assert "train: 229 pieces" in render(rolls)


def test_a_hub_name_is_named_not_downloaded(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    task = get_task("sentiment")
    preview = preview_data(task, build_run_config(task, explicit={"options.data": "someone/reviews"}))
    assert preview.kind == "hub" and not preview.rows
    assert preview.notes == ["Hugging Face dataset someone/reviews: previewed when a run loads it (not in the local "
                             "cache)"]


def test_a_training_run_keeps_the_worker_from_starting_until_it_ends_or_read_again(data_window, qtbot, monkeypatch):
    """The worker imports torch: started under a run, it took a fifth of that run's throughput on two cores."""
    import gui.data_preview

    started = []

    class Worker:
        def write(self, line):
            pass

    def start(self, cwd):
        started.append(cwd)
        self._worker = Worker()
    monkeypatch.setattr(gui.data_preview.DataPreview, "_start_worker", start)
    preview = data_window.form.preview
    preview._end_worker()
    preview._timer.stop()  # the form's own request, not this test's
    training = [True]
    preview.training = lambda: training[0]
    preview._wanted = preview._last = (["--task", "forecast", "--data", "cosine"], str(data_window.workdir))
    preview._send()
    assert started == [] and "waits for the training run" in preview.status.text()
    training[0] = False
    preview.run_ended()
    assert len(started) == 1  # the run ended: the waiting preview is read
    started.clear()
    preview._worker, preview._sent = None, 0
    preview._deadline.stop()
    training[0] = True
    preview.read_again()  # asked for: read now, run or not
    assert len(started) == 1
    preview._worker, preview._sent = None, 0  # nothing real to end when the window closes
    preview._deadline.stop()

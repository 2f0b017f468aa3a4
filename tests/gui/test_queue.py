"""The queue as a list under Run and Queue: its runs by name and command, reordered with Up and Down, taken out
with Cancel; the order it shows is the order they start in; Kill empties it and says so."""

from __future__ import annotations

from fake_process import FakeProcess
from PySide6.QtCore import Qt


def queue_cells(window, *cells: str) -> None:
    for cell in cells:
        window.form.editors["backbone.cell"].set(cell)
        window.queue_run()


def shown(window) -> list[str]:
    view = window.queue_view.list
    return [view.item(i).text() for i in range(view.count())]


def test_queued_runs_are_listed_reordered_and_cancelled_and_start_in_the_shown_order(fake_window, qtbot):
    window = fake_window
    view = window.queue_view
    assert not view.isVisible()  # nothing waits: the form keeps the room
    window.start_run()
    running = FakeProcess.made[-1]
    queue_cells(window, "gru", "lstm", "rnn")
    assert view.isVisible() and len(window.queue) == 3
    lines = shown(window)
    assert [line.split("  ·  ")[0] for line in lines] == ["1. gru", "2. lstm", "3. forecast seed"]  # rnn: the preset's own
    assert lines[0].endswith("python -m suite --task forecast --preset seed --cell gru")
    assert view.title.text().startswith("Queue: 3 waiting")

    view.list.setCurrentRow(2)  # the seed's rnn first
    assert not view.down_button.isEnabled()
    qtbot.mouseClick(view.up_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(view.up_button, Qt.MouseButton.LeftButton)
    assert [line.split("  ·  ")[0] for line in shown(window)] == ["1. forecast seed", "2. gru", "3. lstm"]
    assert view.list.currentRow() == 0 and not view.up_button.isEnabled()
    view.list.setCurrentRow(1)  # gru out
    qtbot.mouseClick(view.cancel_button, Qt.MouseButton.LeftButton)
    assert [line.split("  ·  ")[0] for line in shown(window)] == ["1. forecast seed", "2. lstm"]
    assert [label for _, label in window.queue] == ["forecast seed", "lstm"]  # the list is the window's queue

    running.end(0, "finished")
    started = FakeProcess.made[-1]
    assert started is not running and "--cell" not in started.args  # rnn is the seed preset's own cell
    assert window.run_label == "forecast seed" and shown(window)[0].startswith("1. lstm")
    view.list.setCurrentRow(0)
    view.list.setFocus()
    qtbot.keyClick(view.list, Qt.Key.Key_Delete)  # Delete cancels too
    assert not window.queue and not view.isVisible()
    started.end(0, "finished")
    assert FakeProcess.made[-1] is started  # nothing was left to start


def test_kill_empties_the_queue_and_says_what_it_cancelled(fake_window):
    window = fake_window
    window.start_run()
    proc = FakeProcess.made[-1]
    queue_cells(window, "gru", "lstm")
    window.kill_run()
    assert not window.queue and FakeProcess.made[-1] is proc  # nothing queued starts after a Kill
    view = window.queue_view
    assert view.isVisible() and view.note.text() == "Kill also cancelled the 2 queued runs: gru, lstm"
    assert not view.list.isVisible()
    assert window.state_label.text() == ("run killed; the 2 queued runs cancelled; its directory can be resumed "
                                         "from the Runs tab")
    window.start_run()  # the next run: the note has said its piece
    assert not view.isVisible()


def test_a_resume_waits_in_the_queue_by_its_runs_name(fake_window, tmp_path):
    window = fake_window
    window.start_run()
    window.resume_run(str(tmp_path / "runs" / "forecast" / "20261201-145710-cosine-sequence-gru32-L500H1"))
    assert shown(window) == ["1. resume cosine-sequence-gru32-L500H1  ·  python -m suite --resume "
                             f"{tmp_path}/runs/forecast/20261201-145710-cosine-sequence-gru32-L500H1"]


def test_the_next_queued_run_is_not_shown_with_the_last_ones_results(fake_window, tmp_path):
    """The results are filled in the event loop's next turn; by then a queued run may have taken the pane."""
    from PySide6.QtWidgets import QApplication

    window = fake_window
    window.start_run()
    first = FakeProcess.made[-1]
    queue_cells(window, "gru")
    first.emit("finished", run_dir=str(tmp_path / "gone"), status="finished", epochs_completed=1, time=1.0)
    first.end(0, "finished")
    QApplication.processEvents()
    assert FakeProcess.made[-1] is not first  # the queued run started
    assert window.lower_tabs.currentWidget() is window.log_pane
    assert "training" in window.results_view.message.text()

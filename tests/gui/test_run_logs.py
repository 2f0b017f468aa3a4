"""Each run started in the window keeps its own log: shown by choosing the run above the log, saved in its
folder as window.log (the lines before the folder was known too), shown again when the run is opened, and
written elsewhere with Save log…."""

from __future__ import annotations

from fake_process import FakeProcess
from PySide6.QtCore import Qt
from recorded_runs import write_recorded


def started(proc: FakeProcess, run_dir) -> None:
    proc.emit("started", run_dir=str(run_dir), max_epochs=2, monitor="val/mse", mode="min", device="cpu",
              world_size=1, time=1.0)


def test_each_run_keeps_its_own_log_saved_in_its_folder(fake_window, tmp_path):
    window = fake_window
    first_dir = write_recorded(tmp_path / "runs", "20261201-100000-first")
    second_dir = write_recorded(tmp_path / "runs", "20261201-100100-second")
    window.start_run()
    first = FakeProcess.made[-1]
    first.say(f"run: {first_dir}")  # before the started event: kept, then saved with the rest
    started(first, first_dir)
    first.say("the first run's summary")
    window.form.editors["backbone.cell"].set("gru")
    window.queue_run()
    first.end(0, "finished")
    second = FakeProcess.made[-1]
    started(second, second_dir)
    second.say("the second run's line")

    pane = window.log_pane
    log = window.log.toPlainText()
    assert "the second run's line" in log and "first run" not in log
    assert pane.chooser.count() == 2 and pane.chooser.currentText() == "2. gru (running)"
    pane.chooser.setCurrentIndex(1)
    assert pane.chooser.currentText() == "1. forecast seed (finished)"
    assert window.log.toPlainText() == (f"$ python -m suite --task forecast --preset seed\nrun: {first_dir}\n"
                                        "the first run's summary")
    assert pane.where.text() == f"saved in {first_dir / 'window.log'}"
    second.say("a later line of the second run")  # heard while the first run's log is shown
    assert "later line" not in window.log.toPlainText()
    pane.chooser.setCurrentIndex(0)
    assert window.log.toPlainText().endswith("the second run's line\na later line of the second run")

    saved = (first_dir / "window.log").read_text(encoding="utf-8")
    assert saved == f"$ python -m suite --task forecast --preset seed\nrun: {first_dir}\nthe first run's summary\n"
    assert (second_dir / "window.log").read_text(encoding="utf-8").endswith("a later line of the second run\n")
    second.end(0, "finished")

    # opened from the Runs tab: the run's saved log, not its results' lines
    window.show_run(str(first_dir))
    assert window.log.toPlainText() == saved.rstrip("\n")
    assert pane.chooser.currentText() == "opened: first"


def test_a_run_folder_that_is_not_there_is_not_made_and_a_resume_appends(fake_window, tmp_path):
    window = fake_window
    window.start_run()
    proc = FakeProcess.made[-1]
    started(proc, tmp_path / "nowhere")
    proc.end(0, "finished")
    assert not (tmp_path / "nowhere").exists()
    assert "warning: " in window.log.toPlainText() and "not saved there" in window.log.toPlainText()

    run = write_recorded(tmp_path / "runs", "20261201-100000-again")
    (run / "window.log").write_text("the first session\n", encoding="utf-8")
    window.resume_run(str(run))
    proc = FakeProcess.made[-1]
    started(proc, run)
    proc.say("resumed line")
    proc.end(0, "finished")
    text = (run / "window.log").read_text(encoding="utf-8").splitlines()
    assert text[0] == "the first session" and text[1].endswith(": run again from the window ---")
    assert text[2:] == [f"$ python -m suite --resume {run}", "resumed line"]


def test_save_log_writes_the_shown_log(fake_window, tmp_path, monkeypatch):
    import gui.log_view

    window = fake_window
    run = write_recorded(tmp_path / "runs", "20261201-100000-saved")
    window.start_run()
    proc = FakeProcess.made[-1]
    started(proc, run)
    proc.say("a line to keep")
    proc.end(0, "finished")
    target = tmp_path / "kept.log"
    asked = []

    def answer(parent, title, suggested, filters):
        asked.append(suggested)
        return str(target), filters

    monkeypatch.setattr(gui.log_view.QFileDialog, "getSaveFileName", staticmethod(answer))
    from PySide6.QtTest import QTest

    QTest.mouseClick(window.log_pane.save_button, Qt.MouseButton.LeftButton)
    assert asked == [str(tmp_path / f"{run.name}.log")]
    assert target.read_text(encoding="utf-8").endswith("a line to keep\n")
    assert window.state_label.text() == f"log saved: {target}"
    # a folder that cannot be written: said in the status line, no traceback
    target = tmp_path / "missing" / "kept.log"
    QTest.mouseClick(window.log_pane.save_button, Qt.MouseButton.LeftButton)
    assert window.state_label.text().startswith(f"cannot save the log: {target}: ")

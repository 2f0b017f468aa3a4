"""The Sweeps tab driven as a user would: vary settings of the form, see the command line's own errors beside
them, run a real tiny sweep from the tab (stopped, continued to its end, killed), compare cells in one click,
and open a trial's run in the Runs tab. Trials start through the forkserver launcher, as the engine's sweep
tests do."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from helpers import one_line_error
from suite.sweeps.spec import LAUNCHER_ENV

SWEEP_TIMEOUT = 120_000  # ms


@pytest.fixture
def fast(monkeypatch):
    monkeypatch.setenv(LAUNCHER_ENV, "forkserver")


def edit(window, **settings) -> None:
    for key, value in settings.items():
        window.form.editors[key].set(value)


TINY = {"backbone.hidden": 4, "train.max_epochs": 1, "train.threads": 1, "options.plot": False}


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def table(view) -> list[dict[str, str]]:
    model = view.model()
    titles = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    return [{t: model.index(r, c).data() for c, t in enumerate(titles)} for r in range(model.rowCount())]


def wait_ended(panel, qtbot) -> None:
    qtbot.waitUntil(lambda: panel.process is not None and not panel.running()
                    and not panel.kill_button.isEnabled(), timeout=SWEEP_TIMEOUT)


def test_values_are_checked_by_the_command_lines_parser(make_window, capsys):
    window = make_window()
    panel = window.sweeps_panel
    cell = panel.add_field("cell")
    assert cell.text == "rnn,lstm,gru"  # a choice starts as all its choices
    assert panel.start_button.isEnabled() and panel.mode_label.text().startswith("grid: cell=rnn,lstm,gru")
    lr = panel.add_field("lr")
    assert lr.text == "0.003"  # the form's value, to be made a list or a range
    lr.edit.setText("0.001,abc")
    expected = one_line_error(capsys, "--task", "forecast", "--sweep", "lr=0.001,abc")
    assert lr.error.text() == expected and "--sweep lr" in expected  # the same line, beside its field
    assert cell.error.text() == "" and not panel.start_button.isEnabled()
    lr.edit.setText("0.01:0.001")  # a range: the sweep is a search, and the lists become choices
    assert lr.error.text() == one_line_error(capsys, "--task", "forecast", "--search", "2", "--space", "lr=0.01:0.001")
    assert "LOW must be below HIGH" in lr.error.text()
    lr.edit.setText("1e-4:1e-2:log")
    assert lr.error.text() == "" and panel.trials.isEnabled()
    assert panel.error_label.text() == "--search 0: needs at least 1 trial"  # a search needs its count
    panel.trials.setValue(4)
    assert panel.error_label.text() == "" and panel.start_button.isEnabled()
    assert panel.mode_label.text().startswith("search: 4 trials")
    panel.remove_field("cell")
    panel.equal_params.setChecked(True)
    assert panel.error_label.text() == one_line_error(capsys, "--task", "forecast", "--search", "4", "--space",
                                                      "lr=1e-4:1e-2:log", "--equal-params")
    assert not panel.start_button.isEnabled()
    panel.equal_params.setChecked(False)
    window.form.editors["train.lr"].set("-1")  # the form's own error stops a sweep too
    assert panel.error_label.text().startswith("the settings: ") and not panel.start_button.isEnabled()


def test_the_command_line_is_built_from_the_form(make_window, tmp_path):
    window = make_window()
    panel = window.sweeps_panel
    edit(window, **{"backbone.cell": "gru", "train.max_epochs": 2, "train.threads": 1, "options.plot": False})
    panel.add_field("cell", "rnn, gru")
    panel.add_field("batch-size", "32,64")
    panel.seeds.setValue(2)
    panel.folder.setText(str(tmp_path / "mine"))
    # the form's cell is what the sweep varies: it is left out (a setting given and varied is refused)
    assert panel.build_args() == ["--task", "forecast", "--preset", "seed", "--max-epochs", "2", "--threads", "1",
                                  "--no-plot", "--sweep", "cell=rnn, gru", "--sweep", "batch-size=32,64",
                                  "--seeds", "2", "--sweep-dir", str(tmp_path / "mine")]
    assert panel.command.text() == ("python -m suite --task forecast --preset seed --max-epochs 2 --threads 1 "
                                    f"--no-plot --sweep 'cell=rnn, gru' --sweep batch-size=32,64 --seeds 2 "
                                    f"--sweep-dir {tmp_path / 'mine'}")
    panel.folder.clear()  # no folder: a new one under the runs folder, named as the command line names them
    args = panel.build_args()
    folder = Path(args[-1])
    assert args[-2] == "--sweep-dir" and folder.parent == tmp_path / "runs" / "forecast" / "sweeps"
    assert folder.name.endswith("-grid-cell-batch-size")
    assert "--sweep-dir" not in panel.command.text()  # shown without: as typed, it picks its own folder
    panel.remove_field("batch-size")
    panel.add_field("lr", "1e-4:1e-1:log")
    panel.trials.setValue(6)
    panel.parallel.setValue(min(2, os.cpu_count() or 1))
    expected = ["--search", "6", "--space", "cell=rnn, gru", "--space", "lr=1e-4:1e-1:log", "--seeds", "2"]
    if (os.cpu_count() or 1) >= 2:
        expected += ["--parallel", "2"]
    assert panel.build_args()[9:-2] == expected
    assert panel.prune.isEnabled() and panel.prune.isChecked()  # a search prunes by the median by default
    panel.prune.setChecked(False)
    assert panel.build_args()[9:-2] == [*expected[:8], "--pruner", "none", *expected[8:]]
    assert panel.start_button.isEnabled()
    panel.remove_field("lr")  # a grid is never pruned: the choice is not offered, nor passed
    assert not panel.prune.isEnabled() and "--pruner" not in panel.build_args()


def test_a_tiny_sweep_stopped_continued_to_its_end_and_a_trial_opened(make_window, qtbot, tmp_path, fast):
    window = make_window()
    panel = window.sweeps_panel
    window.tabs.setCurrentWidget(panel)
    edit(window, **TINY)
    panel.add_field("cell", "rnn,gru")
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert panel.running() and panel.stop_button.isEnabled() and not panel.start_button.isEnabled()
    folder = panel.sweep_dir
    assert panel.process.args == [*panel.build_args(sweep_dir=str(folder)), "--events", "stdout"]

    def first_running() -> bool:
        panel.poll()
        return [r["status"] for r in table(panel.trials_view)][:1] == ["RUNNING"]

    qtbot.waitUntil(first_running, timeout=SWEEP_TIMEOUT)  # the table fills in as trials start
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert panel.stop_button.text() == "Stop now"
    wait_ended(panel, qtbot)
    assert panel.state_label.text() == "sweep stopped: 1 trial not run yet; Continue runs them", panel.log.toPlainText()
    assert [(r["cell"], r["status"]) for r in table(panel.trials_view)] == [("rnn", "COMPLETE"), ("gru", "WAITING")]
    first_finished = csv_rows(folder / "trials.csv")[0]["finished"]

    assert panel.continue_button.isEnabled()
    qtbot.mouseClick(panel.continue_button, Qt.MouseButton.LeftButton)
    assert panel.process.args[:-2] == panel.last_args and panel.sweep_dir == folder  # the same command, folder
    wait_ended(panel, qtbot)
    assert panel.state_label.text().startswith("sweep finished: best cell="), panel.log.toPlainText()
    trials = csv_rows(folder / "trials.csv")
    shown = table(panel.trials_view)
    assert [(r["#"], r["cell"], r["status"]) for r in shown] == [("0", "rnn", "COMPLETE"), ("1", "gru", "COMPLETE")]
    assert [r["val mse"] for r in shown] == [f"{float(t['val_mse']):.4g}" for t in trials]
    assert trials[0]["finished"] == first_finished  # not run again
    summary = csv_rows(folder / "summary.csv")
    ranked = table(panel.summary_view)
    assert [r["rank"] for r in ranked] == ["1 ★", "2"] and ranked[0]["cell"] == summary[0]["cell"]
    assert ranked[0]["val mse"] == f"{float(summary[0]['val_mse_mean']):.4g}"
    assert panel.note_label.text().startswith("note: one seed per configuration")
    assert panel.progress.value() == panel.progress.maximum() == 2
    assert set(panel.plots.trial_curves) == {0, 1} and all(len(xs) == 1 for xs, _ in panel.plots.trial_curves.values())
    assert panel.plots.by_setting.plot.listDataItems() and panel.plots.curves.plot.listDataItems()

    # sorting by the metric keeps the rows whole; a refresh keeps the selection on its trial
    panel.trials_view.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    worst = table(panel.trials_view)[0]["#"]
    panel.select_trial(int(worst))
    panel._trials_file._stamp = None  # as if rewritten
    panel.poll()
    assert panel.selected_trials() == [int(worst)]

    # a trial opens as its run in the Runs tab
    panel.trials_view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    panel.select_trial(1)
    rect = panel.trials_view.visualRect(panel.trials_view.model().index(0, 1))
    qtbot.mouseClick(panel.trials_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(panel.trials_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.tabs.currentWidget() is window.runs_panel
    (chosen,) = window.runs_panel.selected()
    assert chosen.path.resolve() == (folder / trials[0]["run_dir"]).resolve()


def test_kill_ends_the_sweep_and_its_trials_at_once_and_continue_repeats_it(make_window, qtbot, fast):
    window = make_window()
    panel = window.sweeps_panel
    edit(window, **{**TINY, "train.max_epochs": 200})
    panel.add_field("cell", "rnn,gru")
    assert panel.start()

    def training() -> bool:
        panel.poll()
        rows = panel.trials_model.records
        return bool(rows and rows[0]["run_dir"] and (panel.sweep_dir / rows[0]["run_dir"] / "metrics.csv").exists())

    qtbot.waitUntil(training, timeout=SWEEP_TIMEOUT)
    group = panel.process.group
    assert group and group != os.getpgid(0)  # its own process group, never the window's
    qtbot.mouseClick(panel.kill_button, Qt.MouseButton.LeftButton)
    wait_ended(panel, qtbot)
    assert panel.state_label.text().startswith("sweep killed; Continue runs the rest")
    assert table(panel.trials_view)[0]["status"] == "LOST"  # running when killed: it runs again

    def group_gone() -> bool:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        return False

    qtbot.waitUntil(group_gone, timeout=10_000)  # the trial and the forkserver went with it
    first = list(panel.last_args)
    panel.resume()
    assert panel.process.args == [*first, "--events", "stdout"]
    panel.kill()
    wait_ended(panel, qtbot)


def test_compare_cells_runs_the_three_cells_at_equal_parameters(make_window, qtbot, tmp_path, monkeypatch):
    from gui.sweep_process import SweepProcess

    started = []
    monkeypatch.setattr(SweepProcess, "start", lambda self: started.append(self.args))
    window = make_window()
    panel = window.sweeps_panel
    edit(window, **{"backbone.cell": "lstm", "train.max_epochs": 3})
    panel.add_field("lr", "0.001,0.01")  # whatever was there is replaced
    qtbot.mouseClick(window.compare_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is panel
    (args,) = started
    folder = Path(args[args.index("--sweep-dir") + 1])
    assert args == ["--task", "forecast", "--preset", "seed", "--max-epochs", "3", "--sweep", "cell=rnn,lstm,gru",
                    "--seeds", "3", "--equal-params", "--sweep-dir", str(folder), "--events", "stdout"]
    assert folder.parent == tmp_path / "runs" / "forecast" / "sweeps" and folder.name.endswith("-grid-cell")
    assert list(panel.rows) == ["cell"] and panel.seeds.value() == 3 and panel.equal_params.isChecked()
    assert panel.mode_label.text() == "grid: cell=rnn,lstm,gru (3 configurations), 3 seeds each = 9 trials"


def test_the_tables_follow_rewritten_files_and_keep_the_selection(make_window, tmp_path):
    """trials.csv and summary.csv as the sweep rewrites them: rows added, reordered, a file cut short."""
    window = make_window()
    panel = window.sweeps_panel
    folder = tmp_path / "sweep"
    folder.mkdir()
    header = ("number,cell,seed,status,val_mse,test_mse,best_epoch,epochs,fit_seconds,parameters,run_dir,error,"
              "started,finished,retry_of\n")
    summary_header = ("rank,best,cell,n,failed,pruned,val_mse_mean,val_mse_std,test_mse_mean,test_mse_std,"
                      "parameters,trials\n")

    def write(trials: list[str], summary: list[str]) -> None:
        (folder / "trials.csv").write_text(header + "".join(t + "\n" for t in trials))
        (folder / "summary.csv").write_text(summary_header + "".join(s + "\n" for s in summary))

    from gui.sweep_files import CsvTable

    panel.sweep_dir, panel.last_args = folder, ["--sweep", "cell=rnn,gru,lstm"]
    panel.trials_model.set_live(True)  # as while its process runs
    panel._trials_file, panel._summary_file = CsvTable(folder / "trials.csv"), CsvTable(folder / "summary.csv")
    write(["0,rnn,42,COMPLETE,0.5,0.6,0,1,1.0,33,,,,,", "1,gru,42,RUNNING,,,,,,,,,,,", "2,lstm,42,WAITING,,,,,,,,,,,"],
          ["1,*,rnn,1,0,0,0.5,,0.6,,33,0", ",,gru,0,0,0,,,,,,1", ",,lstm,0,0,0,,,,,,2"])
    panel.poll()
    assert [r["status"] for r in table(panel.trials_view)] == ["COMPLETE", "RUNNING", "WAITING"]
    assert panel.trials_title.text() == "Trials: 1 of 3 ended (1 complete), 1 running"
    panel.select_trial(1)
    panel.trials_view.sortByColumn(4, Qt.SortOrder.AscendingOrder)  # val mse: numbers first, blanks last
    write(["0,rnn,42,COMPLETE,0.5,0.6,0,1,1.0,33,,,,,", "1,gru,42,COMPLETE,0.25,0.3,0,1,1.0,89,,,,,",
           "2,lstm,42,FAIL,,,,,,,,out of memory,,,"],
          ["1,*,gru,1,0,0,0.25,,0.3,,89,1", "2,,rnn,1,0,0,0.5,,0.6,,33,0", ",,lstm,0,1,0,,,,,,2"])
    os.utime(folder / "trials.csv", ns=(1, 1))  # a new time, whatever the clock's resolution
    os.utime(folder / "summary.csv", ns=(1, 1))
    panel.poll()
    shown = table(panel.trials_view)
    assert [r["#"] for r in shown] == ["1", "0", "2"] and shown[2]["error"] == "out of memory"
    assert panel.selected_trials() == [1]  # the same trial, now on another row
    assert [r["rank"] for r in table(panel.summary_view)] == ["1 ★", "2", "-"]
    (folder / "trials.csv").write_text(header + "0,rnn,42,COMPL")  # cut short: what was read stays
    panel.poll()
    assert len(table(panel.trials_view)) == 3
    (folder / "trials.csv").unlink()
    panel.poll()
    assert len(table(panel.trials_view)) == 3
    write(["0,rnn,42,COMPLETE,0.5,0.6,0,1,1.0,33,,,,,", "1,gru,42,RUNNING,,,,,,,,,,,"], [])
    panel.poll()
    panel.trials_model.set_live(False)  # its process ended with the trial still running: lost, to run again
    assert [r["status"] for r in table(panel.trials_view)] == ["COMPLETE", "LOST"]


def test_the_wheel_changes_a_setting_only_once_it_has_the_focus(make_window, qtbot):
    window = make_window()
    panel = window.sweeps_panel
    window.tabs.setCurrentWidget(panel)
    window.activateWindow()
    spin = panel.seeds
    form_spin = window.form.editors["train.max_epochs"].editor
    for box in (spin, form_spin):
        before = box.value()
        centre = QPointF(box.rect().center())
        turn = QWheelEvent(centre, QPointF(box.mapToGlobal(box.rect().center())), QPoint(0, 0), QPoint(0, 120),
                           Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                           False)
        QApplication.sendEvent(box, turn)
        assert box.value() == before and box.focusPolicy() == Qt.FocusPolicy.StrongFocus
        box.setFocus()
        qtbot.waitUntil(box.hasFocus, timeout=2000)
        QApplication.sendEvent(box, turn)
        assert box.value() == before + 1


def test_a_trial_outside_the_runs_folder_opens_in_the_training_curves(make_window, tmp_path):
    window = make_window()
    run = tmp_path / "elsewhere" / "trials" / "0000-cell-rnn-s42"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("task: forecast\n")
    (run / "metrics.csv").write_text("time,step,epoch,name,value\n1.0,1,0,train/loss,0.5\n2.0,2,0,val/mse,0.4\n")
    window.open_trial_run(str(run))
    assert window.tabs.currentIndex() == 0 and window.curves.runs() == [run.name]


def test_a_trials_curve_is_read_as_it_is_appended(tmp_path):
    from gui.sweep_files import CurveTail

    path = tmp_path / "metrics.csv"
    tail = CurveTail(path, "val/mse")
    assert not tail.read() and tail.curve() == ([], [])  # no file yet
    path.write_text("time,step,epoch,name,value\n1,10,0,train/loss,0.9\n2,10,0,val/mse,0.5\n3,20,1,val/m")
    assert tail.read() and tail.curve() == ([1], [0.5])  # the unfinished last line waits
    with open(path, "a") as handle:
        handle.write("se,0.25\n4,30,2,val/mse,nan\n")
    assert tail.read() and tail.curve() == ([1, 2], [0.5, 0.25])  # from where it stopped; NaN is no point
    assert not tail.read()
    path.write_text("time,step,epoch,name,value\n1,10,0,val/mse,0.7\n")  # replaced: read again from the start
    assert tail.read() and tail.curve() == ([1], [0.7])


def test_where_a_settings_values_go_on_the_x_axis():
    from gui.sweep_plots import determined, positions, y_range

    assert positions(["rnn", "lstm", "gru"]) == ([0.0, 1.0, 2.0], [(0.0, "rnn"), (1.0, "lstm"), (2.0, "gru")],
                                                 "category")
    xs, ticks, how = positions(["0.0001", "0.01"])  # a grid's numbers spanning 100x: log10, each labelled
    assert how == "log" and xs == [-4.0, -2.0] and ticks == [(-4.0, "0.0001"), (-2.0, "0.01")]
    xs, ticks, how = positions(["0.000139277", "0.0226482", "0.00650486"], label_each=False)  # a search: decades
    assert how == "log" and [label for _, label in ticks] == ["0.0001", "0.001", "0.01", "0.1"]
    assert positions(["0.002", "0.02"], label_each=False)[2] == "linear"
    assert positions(["0.002", "0.02"], label_each=False, log=True)[2] == "log"  # a :log range stays log
    assert positions(["32", "64"]) == ([32.0, 64.0], [(32.0, "32"), (64.0, "64")], "linear")
    rows = [{"cell": "rnn", "hidden": "32"}, {"cell": "gru", "hidden": "18"}, {"cell": "rnn", "hidden": "32"}]
    assert determined(rows, "cell", "hidden")  # --equal-params: one line, not one per hidden size
    assert not determined(rows + [{"cell": "rnn", "hidden": "16"}], "cell", "hidden")
    assert y_range([0.5], [0.5], floor=0.0) == pytest.approx((0.485, 0.515))  # one point: not ±0.5 around it
    assert y_range([0.0001], [0.02], floor=0.0)[0] == 0.0


def test_a_search_shows_its_history_and_the_best_so_far(qtbot):
    from gui.sweep_plots import SweepPlots

    plots = SweepPlots()
    qtbot.addWidget(plots)
    trials = [{"number": str(i), "lr": lr, "status": status, "val_mse": value}
              for i, (lr, status, value) in enumerate([("0.001", "COMPLETE", "0.5"), ("0.01", "COMPLETE", "0.2"),
                                                       ("0.0001", "PRUNED", "0.9"), ("0.003", "COMPLETE", "0.3")])]
    summary = [{"rank": "1", "best": "*", "lr": "0.01", "n": "1", "val_mse_mean": "0.2", "val_mse_std": ""},
               {"rank": "2", "best": "", "lr": "0.003", "n": "1", "val_mse_mean": "0.3", "val_mse_std": ""},
               {"rank": "3", "best": "", "lr": "0.001", "n": "1", "val_mse_mean": "0.5", "val_mse_std": ""}]
    plots.set_data(metric="mse", mode="search", direction="minimize", names=["lr"], trials=trials, summary=summary,
                   curves={0: ([1, 2], [0.7, 0.5]), 2: ([1], [0.9])}, log_x={"lr"})
    assert not plots.history.isHidden()
    points, best = plots.history.plot.listDataItems()
    assert list(points.getData()[0]) == [0, 1, 3]  # complete trials only
    assert list(best.getData()[0]) == [0, 1, 1, 3, 3]  # the best so far, as stairs
    assert list(best.getData()[1]) == [0.5, 0.5, 0.2, 0.2, 0.2]
    assert [label.text for _, label in plots.history.legend.items] == ["trial", "best so far"]
    assert len(plots.curves.plot.listDataItems()) == 2  # each trial's curve; the pruned one dashed
    assert plots.curves.plot.listDataItems()[1].opts["pen"].style() == Qt.PenStyle.DashLine
    plots.set_data(metric="mse", mode="grid", direction="minimize", names=["lr"], trials=trials, summary=summary,
                   curves={})
    assert plots.history.isHidden()

"""The main window: settings on the left; training curves, run history and predictions on the right."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QApplication, QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QMainWindow,
                               QMessageBox, QProgressBar, QPushButton, QScrollArea, QSplitter,
                               QTabWidget, QVBoxLayout, QWidget)

from suite.config import NO_PRESET
from suite.errors import UserError
from suite.registry import all_tasks
from suite.runs import runs_root

from .curves import CurvesWidget
from .elided import ElidedLabel
from .form import ConfigForm
from .log_view import LogPane
from .names import describe, ordered, own_name, part
from .predict_panel import PredictPanel
from .process import RunProcess, cli_command
from .queue_view import QueueView, RunQueue
from .results_view import ResultsView
from .run_status import RunStatus
from .runs_panel import RunsPanel
from .sweeps_panel import SweepsPanel
from .insight_view import InsightView
from .wheel import guard_wheel

STATUS_MS = 100
RESULTS_HEIGHT = 300  # px the Results tab gets when a run's scores come up
COLD_HINT = ("No run yet. Press Run (Ctrl+R) to train with the settings on the left: its training loss and "
             "validation metric are drawn here as it learns. Open a run in the Runs tab (Ctrl+2) to see its curves.")


def _flat(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class MainWindow(QMainWindow):
    def __init__(self, workdir: str | None = None, settings: QSettings | None = None):
        super().__init__()
        self.setWindowTitle("RNN Suite")
        self.workdir = workdir or os.getcwd()
        self.settings = settings or QSettings("rnn-suite", "desktop")
        self.tasks = {task.name: task for task in all_tasks()}
        self.process: RunProcess | None = None
        self.queue = RunQueue(self)  # (arguments, the run's name in the curves): what starts next, in order
        self.run_log = None  # the current run's RunLog (log_view.py)
        self.run_label = ""
        self.status = RunStatus()  # the current run's; a new one for each run
        self._status_dirty = False
        self._epochs_completed: int | None = None
        self._said: set[str] = set()

        # --- left: what to run ------------------------------------------------------------------------
        self.task_box = QComboBox(self)
        for task in self.tasks.values():
            self.task_box.addItem(f"{task.title} ({task.name})", task.name)
        self.preset_box = QComboBox(self)
        for box in (self.task_box, self.preset_box):
            # a plugin's long title must not set the window's width
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(16)
        self.form = ConfigForm(self)
        self.form.workdir = self.workdir
        self.form.preview.training = self._is_running
        self.command = QLineEdit(self)
        self.command.setReadOnly(True)
        copy = QPushButton("Copy", self)
        copy.clicked.connect(lambda: QApplication.clipboard().setText(self.command.text()))
        self.run_button = QPushButton("Run", self)
        self.queue_button = QPushButton("Queue", self)
        self.stop_button = QPushButton("Stop", self)
        self.kill_button = QPushButton("Kill", self)
        self.run_button.setToolTip("start training (Ctrl+R)")
        self.stop_button.setToolTip("stop gracefully: the best checkpoint is tested and kept (Ctrl+.)")
        self.kill_button.setToolTip("end the run at once")
        self.run_button.clicked.connect(self.start_run)
        self.queue_button.clicked.connect(self.queue_run)
        self.stop_button.clicked.connect(self.stop_run)
        self.kill_button.clicked.connect(self.kill_run)
        self.compare_button = QPushButton("Compare cells", self)
        self.compare_button.setToolTip("run RNN, LSTM and GRU at equal parameter counts, 3 seeds each, on these "
                                       "settings, in the Sweeps tab (Ctrl+Shift+C)")
        self.compare_button.clicked.connect(self.compare_cells)

        self.reset_button = QPushButton("Reset", self)
        self.reset_button.setToolTip("the preset's own values: forget what was set in the form")
        self.reset_button.clicked.connect(self._reset_to_preset)
        preset_row = QHBoxLayout()
        preset_row.addWidget(self.preset_box, 1)
        preset_row.addWidget(self.reset_button)
        # which of the user's settings a newly chosen preset did not replace
        self.preset_note = QLabel(self)
        self.preset_note.setWordWrap(True)
        self.preset_note.hide()
        head = QFormLayout()
        head.addRow("Task", self.task_box)
        head.addRow("Preset", preset_row)
        head.addRow(self.preset_note)
        self.form_scroll = scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        # the form is made to fit (its minimum width, see _fit_form): a sideways scroll bar hid the "…" buttons
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.form)
        command_row = QHBoxLayout()
        command_row.addWidget(self.command, 1)
        command_row.addWidget(copy)
        buttons = QHBoxLayout()
        for button in (self.run_button, self.queue_button, self.stop_button, self.kill_button):
            buttons.addWidget(button)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(head)
        left_layout.addWidget(self.form.error_box)
        left_layout.addWidget(scroll, 1)
        left_layout.addWidget(QLabel("Command", self))
        left_layout.addLayout(command_row)
        left_layout.addLayout(buttons)
        self.queue_view = QueueView(self.queue, self)
        left_layout.addWidget(self.queue_view)
        left_layout.addWidget(self.compare_button)

        # --- right: watching and using runs -------------------------------------------------------
        self.curves = CurvesWidget(self)
        self.curves.set_hint(COLD_HINT)
        # below the curves: each run's log, and the results of the run that ended or was opened
        self.log_pane = LogPane(lambda: self.workdir, self)
        self.log_pane.said.connect(lambda text: self.state_label.setText(text))
        self.log = self.log_pane.view  # the shown run's log
        self.results_view = ResultsView(self)
        self.lower_tabs = QTabWidget(self)
        self.lower_tabs.addTab(self.log_pane, "Log")
        self.lower_tabs.addTab(self.results_view, "Results")
        self.training_split = training = QSplitter(Qt.Orientation.Vertical, self)
        training.addWidget(self.curves)
        training.addWidget(self.lower_tabs)
        training.setSizes([500, 180])
        self.runs_panel = RunsPanel(lambda: Path(self.workdir) / runs_root(), self)
        self.runs_panel.open_run.connect(self.show_run)
        self.runs_panel.resume_run.connect(self.resume_run)
        self.runs_panel.try_run.connect(self.try_run)
        self.runs_panel.export_run.connect(self.export_run)
        self.export_process: RunProcess | None = None
        self.predict_panel = PredictPanel(self)
        self.sweeps_panel = SweepsPanel(self.form, lambda: self.workdir, self)
        self.sweeps_panel.open_run.connect(self.open_trial_run)
        self.sweeps_panel.ended.connect(self.runs_panel.refresh)  # its trials are runs too
        self.tabs = QTabWidget(self)
        self.tabs.addTab(training, "Training")
        self.tabs.addTab(self.runs_panel, "Runs")
        self.tabs.addTab(self.predict_panel, "Try it")
        self.tabs.addTab(self.sweeps_panel, "Sweeps")
        # the runs selected in the Runs tab, looked inside (Ctrl+5: the shortcuts follow the tabs' count)
        self.insight_view = InsightView(self.runs_panel.selected, self)
        self.runs_panel.table.itemSelectionChanged.connect(self.insight_view.selection_changed)
        self.tabs.addTab(self.insight_view, "Insight")

        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(left)
        split.addWidget(self.tabs)
        split.setSizes([420, 860])
        self.setCentralWidget(split)

        # --- status -------------------------------------------------------------------------------
        self.state_label = ElidedLabel("ready", self)
        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(220)
        self.metric_label = QLabel(self)
        self.statusBar().addWidget(self.state_label, 1)
        self.statusBar().addPermanentWidget(self.metric_label)
        self.statusBar().addPermanentWidget(self.progress)
        # the status line follows a run at 10 Hz, however often it reports: relaying out the status bar
        # per event costs the training CPU
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(STATUS_MS)
        self._status_timer.timeout.connect(self.refresh_status)

        self._shortcuts()
        self.task_box.currentIndexChanged.connect(self._task_chosen)
        self.preset_box.currentIndexChanged.connect(self._preset_chosen)
        self.form.changed.connect(self._update_command)
        self._restore()
        self._set_running(False)
        self.runs_panel.refresh()

    # --- settings ------------------------------------------------------------------------------------
    def _shortcuts(self) -> None:
        def action(keys, slot):
            act = QAction(self)
            act.setShortcut(QKeySequence(keys))
            act.triggered.connect(slot)
            self.addAction(act)
            return act
        action("Ctrl+R", self.start_run)
        action("Ctrl+.", self.stop_run)
        self.compare_action = action("Ctrl+Shift+C", self.compare_cells)
        self.compare_action.setText("Compare cells")
        for i in range(self.tabs.count()):
            # triggered(bool) passes 'checked' first; it must not land in i
            action(f"Ctrl+{i + 1}", lambda _checked=False, i=i: self.tabs.setCurrentIndex(i))

    def _restore(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        name = self.settings.value("task", "")
        index = max(0, self.task_box.findData(name))
        self.task_box.setCurrentIndex(index)
        self._task_chosen(index)

    def _saved_explicit(self, task_name: str) -> tuple[str | None, dict]:
        raw = self.settings.value(f"tasks/{task_name}", "")
        try:
            data = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            data = {}
        return data.get("preset"), data.get("explicit", {})

    def _save(self) -> None:
        if self.form.task is not None:
            self.settings.setValue("task", self.form.task.name)
            self.settings.setValue(f"tasks/{self.form.task.name}",
                                   json.dumps({"preset": self.form.preset, "explicit": self.form.explicit()}))
        self.settings.setValue("geometry", self.saveGeometry())

    def _task_chosen(self, index: int) -> None:
        task = self.tasks[self.task_box.itemData(index)]
        preset, explicit = self._saved_explicit(task.name)
        self.preset_box.blockSignals(True)
        self.preset_box.clear()
        self.preset_box.addItem("none (task defaults)", NO_PRESET)
        for name in task.presets:
            self.preset_box.addItem(name, name)
            self.preset_box.setItemData(self.preset_box.count() - 1, task.preset_help.get(name, ""),
                                        Qt.ItemDataRole.ToolTipRole)
        self.preset_note.hide()
        chosen = preset or task.default_preset({}) or NO_PRESET
        self.preset_box.setCurrentIndex(max(0, self.preset_box.findData(chosen)))
        self.preset_box.blockSignals(False)
        self.form.set_task(task, chosen, explicit)
        guard_wheel(self.form)  # its new boxes: scrolling the form must not change a setting
        self._fit_form()

    def _fit_form(self) -> None:
        """The left side at least as wide as this task's form and the scroll bar beside it."""
        scroll = self.form_scroll
        self.form.adjustSize()
        scroll.setMinimumWidth(self.form.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width()
                               + 2 * scroll.frameWidth())

    def _preset_chosen(self, index: int) -> None:
        """The new preset's values, with what the user set on top: choosing one must not discard edits."""
        kept = self.form.explicit()
        self.form.set_preset(self.preset_box.itemData(index), kept)
        still = self.form.explicit()  # a value the new preset has anyway is no longer the user's
        parts = [part(key, _flat(still[key])) for key in ordered(still)]
        self.preset_note.setText(f"kept what you set: {', '.join(parts)} (Reset: the preset's own)" if parts else "")
        self.preset_note.setVisible(bool(parts))

    def _reset_to_preset(self) -> None:
        self.form.set_preset(self.form.preset)
        self.preset_note.hide()

    def _update_command(self) -> None:
        self.command.setText(shlex.join(cli_command(self.form.cli_args())))
        self.command.setCursorPosition(0)  # its start says what runs; the end is a scroll away
        self._set_running(self._is_running())

    # --- runs -----------------------------------------------------------------------------------------
    def _is_running(self) -> bool:
        return self.process is not None and self.process.running()

    def _validated_args(self) -> list[str] | None:
        try:
            self.form.validate()
        except UserError as exc:
            self.state_label.setText(f"cannot start: {exc}")
            return None
        return self.form.cli_args()

    def _live_label(self) -> str:
        """The form's run named by what the user set (cell, data), not by the time it started."""
        explicit = {key: _flat(value) for key, value in self.form.explicit().items()}
        return describe(explicit, explicit) or f"{self.form.task.name} {self.form.preset}".replace(
            f" {NO_PRESET}", "")

    def start_run(self) -> None:
        args = self._validated_args()
        if args is None:
            return
        if self._is_running():
            self.queue_run()
            return
        self._launch(args, label=self._live_label())

    def queue_run(self) -> None:
        args = self._validated_args()
        if args is None:
            return
        self.queue.append((args, self._live_label()))
        if not self._is_running():
            self._launch(*self.queue.pop(0))
        else:
            self.state_label.setText(f"queued ({len(self.queue)} waiting)")

    def resume_run(self, run_dir: str) -> None:
        entry = (["--resume", run_dir], f"resume {own_name(Path(run_dir).name)}")
        if self._is_running():
            self.queue.append(entry)
            self.state_label.setText(f"queued ({len(self.queue)} waiting)")
            return
        self._launch(*entry)

    def _launch(self, args: list[str], label: str) -> None:
        self._save()
        self.curves.clear()
        self.curves.set_hint("Starting the run: its curves appear with its first training step (the start-up "
                             "reads the data and imports the libraries first).")
        # the run's own log, saved in its folder once the run names it (_log_folder)
        self.run_log = self.log_pane.start(label, "$ " + shlex.join(cli_command(args)))
        self.lower_tabs.setCurrentWidget(self.log_pane)
        self.results_view.clear("The run is training: its results appear here when it ends.")
        self.queue_view.forget_note()
        self._killed_queue: list = []
        self.run_label = label
        task = self.tasks.get(args[1]) if args[:1] == ["--task"] and len(args) > 1 else None
        self.status = RunStatus(monitor=task.monitor if task is not None else "loss")
        self.curves.set_monitor(self.status.monitor)  # until the run's started event names its own
        self._status_dirty = False
        self._epochs_completed = None
        self._verdicts: list[dict] = []  # the run's verdict events, drawn on its curves as they come
        self.metric_label.setText("")
        self.progress.setValue(0)
        self.process = RunProcess(args, cwd=self.workdir, parent=self)
        self.process.event.connect(self._on_event)
        self.process.log.connect(self._on_log)
        self._said = set()  # the child's own error lines, not to be repeated when it ends
        self.process.ended.connect(self._on_ended)
        self.process.event.connect(self._log_folder)
        self.process.start()
        self._set_running(True)
        self.state_label.setText("starting…")
        self.tabs.setCurrentIndex(0)

    def stop_run(self) -> None:
        if self._is_running():
            self.process.stop()
            self.status.stopping = True
            self._status_dirty = True
            self.refresh_status()

    def kill_run(self) -> None:
        if self._is_running():
            self._killed_queue = self.queue.clear()  # Kill ends the evening's plan, not just this run
            if self._killed_queue:
                n = len(self._killed_queue)
                self.queue_view.say(f"Kill also cancelled the {n} queued run{'s' if n > 1 else ''}: "
                                    + ", ".join(label for _, label in self._killed_queue))
            self.process.kill()

    def _set_running(self, running: bool) -> None:
        if running:
            self._status_timer.start()
        else:
            self._status_timer.stop()
        self.stop_button.setEnabled(running)
        self.kill_button.setEnabled(running)
        valid = not self.form.error_label.text()
        self.run_button.setEnabled(valid and not running)
        self.queue_button.setEnabled(valid)  # while a run trains, Queue adds to the queue

    def _on_event(self, event: dict) -> None:
        kind = event.get("event")
        status = self.status
        if kind == "metric":
            self.curves.add_point(self.run_label, event["name"], event.get("step", 0), event.get("epoch", 0),
                                  event.get("time", 0.0), event["value"])
            status.metric(event)
        elif kind == "started":
            status.started(event)
            # the run's own monitor: a queued run may belong to another task than the form shows
            self.curves.set_monitor(status.monitor)
        elif kind == "epoch_end":
            status.epoch_end(event)
        elif kind == "stopping":
            status.stopping = True
        elif kind == "finished":
            self._epochs_completed = event.get("epochs_completed")
            baseline = event.get("baseline") or {}
            value = (baseline.get("val") or {}).get(status.monitor)
            if value is not None:
                self.curves.set_baseline(self.run_label, f"val/{status.monitor}", value)
            if not self._verdicts and event.get("run_dir"):  # the finished event does not carry them
                from .insight_data import results_verdicts

                self.curves.set_verdicts(self.run_label, results_verdicts(Path(event["run_dir"])))
        elif kind == "verdict":  # judged as the run ends, before its finished event (or its error)
            self._verdicts.append(event)
            self.curves.set_verdicts(self.run_label, self._verdicts)
        self._status_dirty = True

    def _on_log(self, line: str) -> None:
        if line.startswith("error: "):
            self._said.add(line)
        self.log_pane.add(self.run_log, line)

    def _log_folder(self, event: dict) -> None:
        """Once the run names its folder, its log is saved there too (the lines so far, then each new one)."""
        if event.get("event") in ("started", "finished") and self.process is not None and self.process.run_dir:
            self.log_pane.attach(self.run_log, self.process.run_dir)

    def refresh_status(self) -> None:
        """Show the run's progress, ETA and metric as they are now (the timer calls this at 10 Hz)."""
        if not self._status_dirty or not self.status.max_epochs:
            return
        self._status_dirty = False
        status = self.status
        self.progress.setValue(int(status.fraction * 100))
        self.state_label.setText(status.line())
        self.metric_label.setText(status.metric_line())

    def _on_ended(self, code: int, how: str) -> None:
        self._status_dirty = True
        self.refresh_status()  # the last events, before the line says how the run ended
        self.curves.fit_axes()
        process = self.process
        self._set_running(False)
        if how == "finished":
            self.progress.setValue(100)
            self.state_label.setText(f"run finished: {process.run_dir}")
        elif how == "stopped":  # the bar stays where training stopped
            done = self._epochs_completed
            epochs = f" after {done} of {self.status.max_epochs} epochs" if done is not None else ""
            self.state_label.setText(f"run stopped{epochs}: {process.run_dir}")
        elif how == "crashed":
            self.state_label.setText(f"run {process.crash}; the log shows its last lines; Resume in the Runs tab "
                                     "continues it from its last checkpoint, if it saved one")
            self.log_pane.add(self.run_log, f"error: the run {process.crash}" + (f" after: {process.error}"
                                                                                  if process.error else ""))
        elif how in ("killed", "interrupted"):
            cancelled = len(self._killed_queue) if how == "killed" else 0
            also = f"; the {cancelled} queued run{'s' if cancelled > 1 else ''} cancelled" if cancelled else ""
            self.state_label.setText(f"run {how}{also}; its directory can be resumed from the Runs tab")
        else:
            message = process.error or f"the run exited with code {code}; see the log below"
            self.state_label.setText(f"run failed: {message}")
            if f"error: {message}" not in self._said:  # the child printed it already
                self.log_pane.add(self.run_log, f"error: {message}")
        self.log_pane.attach(self.run_log, process.run_dir)  # a run that failed before its started event
        self.log_pane.ended(self.run_log, how)
        # the results panel, then the Runs table, each in its own turn of the event loop: done here with the
        # end's other work and its repaint, a run's end stalled the window past 50 ms (bench/gui_latency.py)
        # (not once a queued run has started in its place: its pane says it is training)
        QTimer.singleShot(0, lambda: self._show_results(process.run_dir, how) if self.process is process else None)
        QTimer.singleShot(0, self.runs_panel.refresh)
        if self.queue:
            self._launch(*self.queue.pop(0))
        else:
            self.form.preview.run_ended()

    def show_run(self, run_dir: str) -> None:
        """The run in the Training tab: its curves with its own task's metric, its results as the log, and
        a status line naming it. While a run trains, the Training tab stays with that run."""
        from suite.runs import Run, summarise

        from .run_record import record
        from .runs_panel import read_metric_rows

        if self._is_running():
            self.runs_panel.tell("a run is training: the Training tab follows it until it ends; this run's "
                                 "curves are shown here")
            return
        try:
            rows = read_metric_rows(Path(run_dir))
        except UserError as exc:  # a damaged metrics.csv: say so, and keep the curves shown
            self.state_label.setText(f"cannot open the run: {exc}")
            return
        summary = summarise(Run(run_dir))
        task = self.tasks.get(summary.task)
        shown = record(summary, task.monitor if task is not None else None)
        name = Path(run_dir).name
        self.curves.clear()
        self.curves.set_monitor(shown.monitor)
        self.curves.load_rows(name, rows)
        self.curves.set_labels({name: summary.notes.name or own_name(name)})  # the name the user gave it wins
        if shown.baseline is not None:
            self.curves.set_baseline(name, f"val/{shown.monitor}", shown.baseline)
        from .insight_data import verdicts_of

        self.curves.set_verdicts(name, verdicts_of(summary.results))
        self.log_pane.show_opened(run_dir, shown.lines)
        self._show_results(run_dir, summary.status)
        self.state_label.setText(shown.status)
        self.metric_label.setText(shown.metric)
        self.progress.setValue(round(shown.fraction * 100))
        self.tabs.setCurrentIndex(0)

    def _show_results(self, run_dir: str | None, how: str) -> None:
        """The run's results in the Results tab, brought to the front for a run with scores; for one without,
        the Log stays in front and Results says why there are none."""
        if not run_dir:
            ended = {"killed": "was killed", "interrupted": "was interrupted"}.get(how, how)
            what = ("The Log tab says why; fix what it names and run again." if how in ("failed", "crashed")
                    else "Nothing of it was kept; Run starts it again.")
            self.results_view.clear(f"No results: the run {ended} before it made its run folder. {what}")
            return
        if self.results_view.load(run_dir, self.tasks) and how in ("finished", "stopped"):
            self.lower_tabs.setCurrentWidget(self.results_view)
            sizes = self.training_split.sizes()
            if sizes[1] < RESULTS_HEIGHT <= sum(sizes) - RESULTS_HEIGHT:  # the scores need room; the curves keep theirs
                self.training_split.setSizes([sum(sizes) - RESULTS_HEIGHT, RESULTS_HEIGHT])
        else:
            self.lower_tabs.setCurrentWidget(self.log_pane)

    def compare_cells(self) -> None:
        """RNN, LSTM and GRU at equal parameters, 3 seeds each, on the form's settings: in the Sweeps tab."""
        self._save()
        self.tabs.setCurrentWidget(self.sweeps_panel)
        self.sweeps_panel.compare_cells()

    def open_trial_run(self, run_dir: str) -> None:
        """A sweep's trial, selected in the Runs tab (its curves and settings there); a trial outside the runs
        folder (a --sweep-dir elsewhere) is not listed there: its curves open in the Training tab."""
        target = Path(run_dir).resolve()
        self.runs_panel.refresh()
        for row, run in enumerate(self.runs_panel.runs):
            if run.path.resolve() == target:
                self.runs_panel.clear_filters()  # a filter that hides the trial would show nothing
                self.runs_panel.table.selectRow(row)
                self.runs_panel.table.scrollTo(self.runs_panel.table.model().index(row, 0))
                self.tabs.setCurrentWidget(self.runs_panel)
                return
        self.show_run(run_dir)

    def export_run(self, run_dir: str) -> None:
        """Export… : the format and folder asked, then the command line's --export in a child process."""
        from .export_dialog import ExportDialog

        if self.export_process is not None and self.export_process.running():
            self.runs_panel.tell("an export is running; wait for it to end")
            return
        args = ExportDialog.ask(run_dir, self.workdir, self)
        if args is None:
            return
        fmt = args[args.index("--export") + 1]
        process = self.export_process = RunProcess(args, cwd=self.workdir, parent=self)
        lines: list[str] = []
        quiet = self._is_running()  # the Training tab's log and status belong to the run training there

        def line(text: str) -> None:
            lines.append(text)
            if not quiet:
                self.log.appendPlainText(text)

        def ended(code: int, how: str) -> None:
            if code == 0 and how != "crashed":
                said = next((t for t in lines if t.startswith("exported ")), f"exported {Path(run_dir).name}")
            else:
                said = f"export failed: {process.error or process.crash or f'the command exited with code {code}'}"
                if not quiet and f"error: {process.error}" not in lines:
                    self.log.appendPlainText(f"error: {said.removeprefix('export failed: ')}")
            self.runs_panel.tell(said)
            if not quiet:
                self.state_label.setText(said)
            self.runs_panel.export_button.setEnabled(True)

        process.log.connect(line)
        process.ended.connect(ended)
        if not quiet:
            self.log.clear()
            self.log.appendPlainText("$ " + shlex.join(cli_command(args)))
        self.runs_panel.tell(f"exporting {Path(run_dir).name} as {fmt}…")
        self.runs_panel.export_button.setEnabled(False)
        process.start()

    def try_run(self, run_dir: str) -> None:
        self.predict_panel.set_run(run_dir)
        self.tabs.setCurrentIndex(2)

    def changeEvent(self, event) -> None:
        if event.type() in (QEvent.Type.ApplicationPaletteChange, QEvent.Type.PaletteChange):
            from .theme import recolour_plots

            recolour_plots(self)  # the system switched between light and dark while we run
        super().changeEvent(event)

    def closeEvent(self, event) -> None:
        if self._is_running():
            answer = QMessageBox.question(self, "A run is training",
                                          "Stop the run gracefully and close? (Its best checkpoint is kept.)")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            self.process.stop()
            if not self.process.process.waitForFinished(30000):
                self.process.kill()
        if self.sweeps_panel.running():
            answer = QMessageBox.question(self, "A sweep is running",
                                          "End the sweep's running trials and close? (Finished trials are kept; "
                                          "Continue in the Sweeps tab runs the rest.)")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            self.sweeps_panel.shutdown()
        if self.export_process is not None and self.export_process.running():
            self.export_process.kill()  # an export is quick to run again; a half-written one is no use
        self.predict_panel.shutdown()  # a prediction still running would abort the process on exit
        self.form.preview.shutdown()  # a data preview still reading is of no use once the window is gone
        self._save()
        event.accept()

"""The main window: settings on the left; training curves, run history and predictions on the right."""

from __future__ import annotations

import json
import os
import shlex
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QApplication, QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QMainWindow,
                               QMessageBox, QPlainTextEdit, QProgressBar, QPushButton, QScrollArea, QSplitter,
                               QTabWidget, QVBoxLayout, QWidget)

from suite.config import NO_PRESET
from suite.errors import UserError
from suite.registry import all_tasks
from suite.runs import runs_root

from .curves import CurvesWidget
from .form import ConfigForm
from .predict_panel import PredictPanel
from .process import RunProcess, cli_command
from .runs_panel import RunsPanel
from .sweeps_panel import SweepsPanel
from .wheel import guard_wheel

STATUS_MS = 100  # the status line follows a run at 10 Hz, however often it reports


class MainWindow(QMainWindow):
    def __init__(self, workdir: str | None = None, settings: QSettings | None = None):
        super().__init__()
        self.setWindowTitle("RNN Suite")
        self.workdir = workdir or os.getcwd()
        self.settings = settings or QSettings("rnn-suite", "desktop")
        self.tasks = {task.name: task for task in all_tasks()}
        self.process: RunProcess | None = None
        self.queue: list[list[str]] = []
        self.run_label = ""
        self.started_at = 0.0
        self._status_at = 0.0  # when the status line was last rewritten
        self.max_epochs = 0
        self.best: float | None = None
        self.monitor = "loss"
        self.monitor_mode = "min"

        # --- left: what to run ------------------------------------------------------------------------
        self.task_box = QComboBox(self)
        for task in self.tasks.values():
            self.task_box.addItem(f"{task.title} ({task.name})", task.name)
        self.preset_box = QComboBox(self)
        self.form = ConfigForm(self)
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

        head = QFormLayout()
        head.addRow("Task", self.task_box)
        head.addRow("Preset", self.preset_box)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
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
        left_layout.addWidget(scroll, 1)
        left_layout.addWidget(QLabel("Command", self))
        left_layout.addLayout(command_row)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.compare_button)

        # --- right: watching and using runs -------------------------------------------------------
        self.curves = CurvesWidget(self)
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        training = QSplitter(Qt.Orientation.Vertical, self)
        training.addWidget(self.curves)
        training.addWidget(self.log)
        training.setSizes([520, 140])
        self.runs_panel = RunsPanel(lambda: Path(self.workdir) / runs_root(), self)
        self.runs_panel.open_run.connect(self.show_run)
        self.runs_panel.resume_run.connect(self.resume_run)
        self.runs_panel.try_run.connect(self.try_run)
        self.predict_panel = PredictPanel(self)
        self.sweeps_panel = SweepsPanel(self.form, lambda: self.workdir, self)
        self.sweeps_panel.open_run.connect(self.open_trial_run)
        self.sweeps_panel.ended.connect(self.runs_panel.refresh)  # its trials are runs too
        self.tabs = QTabWidget(self)
        self.tabs.addTab(training, "Training")
        self.tabs.addTab(self.runs_panel, "Runs")
        self.tabs.addTab(self.predict_panel, "Try it")
        self.tabs.addTab(self.sweeps_panel, "Sweeps")

        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(left)
        split.addWidget(self.tabs)
        split.setSizes([420, 860])
        self.setCentralWidget(split)

        # --- status -------------------------------------------------------------------------------
        self.state_label = QLabel("ready", self)
        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(220)
        self.metric_label = QLabel(self)
        self.statusBar().addWidget(self.state_label, 1)
        self.statusBar().addPermanentWidget(self.metric_label)
        self.statusBar().addPermanentWidget(self.progress)

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
        chosen = preset or task.default_preset({}) or NO_PRESET
        self.preset_box.setCurrentIndex(max(0, self.preset_box.findData(chosen)))
        self.preset_box.blockSignals(False)
        self.form.set_task(task, chosen, explicit)
        guard_wheel(self.form)  # its new boxes: scrolling the form must not change a setting
        self.curves.set_monitor(task.monitor)

    def _preset_chosen(self, index: int) -> None:
        self.form.set_preset(self.preset_box.itemData(index))

    def _update_command(self) -> None:
        self.command.setText(shlex.join(cli_command(self.form.cli_args())))
        self.run_button.setEnabled(not self.form.error_label.text() and not self._is_running())

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

    def start_run(self) -> None:
        args = self._validated_args()
        if args is None:
            return
        if self._is_running():
            self.queue.append(args)
            self.state_label.setText(f"queued ({len(self.queue)} waiting)")
            return
        self._launch(args, label=f"{self.form.task.name} {time.strftime('%H:%M:%S')}")

    def queue_run(self) -> None:
        args = self._validated_args()
        if args is not None:
            self.queue.append(args)
            if not self._is_running():
                self._launch(self.queue.pop(0), label=f"queued {time.strftime('%H:%M:%S')}")
            else:
                self.state_label.setText(f"queued ({len(self.queue)} waiting)")

    def resume_run(self, run_dir: str) -> None:
        if self._is_running():
            self.queue.append(["--resume", run_dir])
            return
        self._launch(["--resume", run_dir], label=f"resume {Path(run_dir).name}")

    def _launch(self, args: list[str], label: str) -> None:
        self._save()
        self.curves.clear()
        self.log.clear()
        self.best, self.max_epochs, self.run_label = None, 0, label
        self.started_at = time.monotonic()
        self.process = RunProcess(args, cwd=self.workdir, parent=self)
        self.process.event.connect(self._on_event)
        self.process.log.connect(self.log.appendPlainText)
        self.process.ended.connect(self._on_ended)
        self.log.appendPlainText("$ " + shlex.join(cli_command(args)))
        self.process.start()
        self._set_running(True)
        self.state_label.setText("starting…")
        self.tabs.setCurrentIndex(0)

    def stop_run(self) -> None:
        if self._is_running():
            self.process.stop()
            self.state_label.setText("stopping after this batch…")

    def kill_run(self) -> None:
        if self._is_running():
            self.queue.clear()
            self.process.kill()

    def _set_running(self, running: bool) -> None:
        self.stop_button.setEnabled(running)
        self.kill_button.setEnabled(running)
        self.run_button.setEnabled(not running and not self.form.error_label.text())

    def _on_event(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "metric":
            self.curves.add_point(self.run_label, event["name"], event.get("step", 0), event.get("epoch", 0),
                                  event.get("time", 0.0), event["value"])
            if event["name"] == f"val/{self.monitor}":
                value = event["value"]
                better = max if self.monitor_mode == "max" else min
                self.best = value if self.best is None else better(self.best, value)
            # at most every STATUS_MS: relaying out the status bar per event costs the training CPU
            if "batch" in event and self.max_epochs and time.monotonic() - self._status_at >= STATUS_MS / 1000:
                self._progress(event["epoch"] + event["batch"] / max(1, event["batches"]), event)
        elif kind == "started":
            self.max_epochs = event.get("max_epochs") or 0
            # the run's own monitor: a queued run may belong to another task than the form shows
            self.monitor = (event.get("monitor") or "val/loss").removeprefix("val/")
            self.monitor_mode = event.get("mode") or "min"
            self.curves.set_monitor(self.monitor)
            self.state_label.setText(f"training on {event.get('device')} (world size {event.get('world_size')})")
        elif kind == "epoch_end":
            self._progress(event["epoch"] + 1, event)
        elif kind == "finished":
            baseline = event.get("baseline") or {}
            value = (baseline.get("val") or {}).get(self.monitor)
            if value is not None:
                self.curves.set_baseline(self.run_label, f"val/{self.monitor}", value)

    def _progress(self, done_epochs: float, event: dict) -> None:
        self._status_at = time.monotonic()
        fraction = min(1.0, done_epochs / self.max_epochs)
        self.progress.setValue(int(fraction * 100))
        elapsed = time.monotonic() - self.started_at
        eta = elapsed / fraction * (1 - fraction) if fraction > 0 else 0
        current = (event.get("metrics") or {}).get(f"val/{self.monitor}")
        parts = [f"epoch {int(done_epochs)}/{self.max_epochs}", f"step {event.get('step', 0)}",
                 f"ETA {eta:.0f} s"]
        self.state_label.setText("training: " + ", ".join(parts))
        if current is not None or self.best is not None:
            now = f"{current:.4g}" if current is not None else "-"
            best = f"{self.best:.4g}" if self.best is not None else "-"
            self.metric_label.setText(f"val {self.monitor} {now} (best {best})")

    def _on_ended(self, code: int, how: str) -> None:
        self.curves.fit_axes()
        process = self.process
        self._set_running(False)
        if how in ("finished", "stopped"):
            self.progress.setValue(100)
            self.state_label.setText(f"run {how}: {process.run_dir}")
        elif how in ("killed", "interrupted"):
            self.state_label.setText(f"run {how}; its directory can be resumed from the Runs tab")
        else:
            message = process.error or f"the run exited with code {code}; see the log below"
            self.state_label.setText(f"run failed: {message}")
            self.log.appendPlainText(f"error: {message}")
        self.runs_panel.refresh()
        if self.queue:
            self._launch(self.queue.pop(0), label=f"queued {time.strftime('%H:%M:%S')}")

    def show_run(self, run_dir: str) -> None:
        from .runs_panel import read_metric_rows

        try:
            rows = read_metric_rows(Path(run_dir))
        except UserError as exc:  # a damaged metrics.csv: say so, and keep the curves shown
            self.state_label.setText(f"cannot open the run: {exc}")
            return
        self.curves.clear()
        self.curves.load_rows(Path(run_dir).name, rows)
        self.tabs.setCurrentIndex(0)

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
                self.runs_panel.table.selectRow(row)
                self.runs_panel.table.scrollTo(self.runs_panel.table.model().index(row, 0))
                self.tabs.setCurrentWidget(self.runs_panel)
                return
        self.show_run(run_dir)

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
        self.predict_panel.shutdown()  # a prediction still running would abort the process on exit
        self._save()
        event.accept()

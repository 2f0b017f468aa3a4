"""The Sweeps tab: vary settings of the form beside it, run the sweep as a child process, follow its files.

The sweep is ``python -m suite --task T <the form's settings> --sweep ... --sweep-dir D --events stdout``
(gui/sweep_process.py), the command the tab shows. While it runs, a timer reads the files it rewrites as
trials start and end (trials.csv, summary.csv) and each trial's metrics.csv (gui/sweep_files.py) into the
tables (gui/sweep_models.py) and plots (gui/sweep_plots.py); its output lines feed the status line. **Stop**
lets the running trials finish (twice: ends them too), **Kill** ends everything now, **Continue** runs the
same command on the same folder (the sweep resumes: finished trials are not run again).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from collections.abc import Callable

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QCheckBox, QComboBox, QGridLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPlainTextEdit, QProgressBar,
                               QPushButton, QSpinBox, QSplitter, QTableView, QToolButton, QVBoxLayout, QWidget)

from suite.runs import runs_root
from suite.sweeps.spec import task_settings

from .flow import FlowLayout, group
from .process import cli_command
from .sweep_files import CsvTable, CurveTail, number
from .sweep_models import KEY_ROLE, SortProxy, SummaryModel, TrialsModel, metric_of, varied_names
from .sweep_plots import SweepPlots
from .sweep_process import SweepProcess
from .sweep_spec import (COMPARE_CELLS, COMPARE_SEEDS, NOTHING_VARIED, SweepForm, check, default_sweep_dir, default_values,
                         run_flags, setting_names, sweep_args)
from .wheel import guard_wheel

POLL_MS = 1000  # how often a running sweep's files are looked at
ERROR_STYLE = "color: #d9534f;"
ENDED = ("COMPLETE", "PRUNED", "FAIL")
MAX_COLUMN = 240  # px: a long error or setting does not push the rest out of view


class FieldRow:
    """One varied setting: its name, its values (``a,b,c`` or ``low:high[:log]``), its error, a remove button."""

    def __init__(self, name: str, text: str, help_text: str, parent: QWidget):
        self.name = name
        self.label = QLabel(name, parent)
        self.label.setToolTip(help_text)
        self.edit = QLineEdit(text, parent)
        self.edit.setObjectName(f"sweep-values-{name}")
        self.edit.setPlaceholderText("a,b,c  or  low:high[:log]")
        self.edit.setToolTip(f"{help_text}\nvalues a,b,c (a grid), or a range low:high or low:high:log (a search)")
        self.error = QLabel(parent)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.remove = QToolButton(parent)
        self.remove.setText("✕")
        self.remove.setToolTip(f"stop varying {name}")

    @property
    def text(self) -> str:
        return self.edit.text()

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.edit.setStyleSheet("border: 1px solid #d9534f;" if message else "")

    def widgets(self) -> list[QWidget]:
        return [self.label, self.edit, self.error, self.remove]


def fit_columns(view: QTableView, shrink: bool = False) -> None:
    """Widen each column to its contents (up to MAX_COLUMN), never narrower than the user made it unless
    ``shrink`` (new columns): a refresh neither cuts a value short nor undoes the user's widths."""
    header = view.horizontalHeader()
    last = header.count() - 1
    for col in range(header.count()):
        if col == last and header.stretchLastSection():
            continue
        wanted = min(MAX_COLUMN, max(view.sizeHintForColumn(col), header.sectionSizeHint(col), 40))
        if shrink or wanted > header.sectionSize(col):
            header.resizeSection(col, wanted)


def _table(model, parent: QWidget) -> tuple[QTableView, SortProxy]:
    proxy = SortProxy(parent)
    proxy.setSourceModel(model)
    view = QTableView(parent)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(22)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    return view, proxy


class SweepsPanel(QWidget):
    """``open_run(run_dir)``: a trial's run was asked for; ``ended()``: a sweep's process ended."""

    open_run = Signal(str)
    ended = Signal()

    def __init__(self, form, workdir: Callable[[], str] | str, parent: QWidget | None = None):
        super().__init__(parent)
        self.form = form
        self._workdir = workdir
        self.rows: dict[str, FieldRow] = {}
        self.process: SweepProcess | None = None
        self.sweep_dir: Path | None = None
        self.last_args: list[str] | None = None  # what Continue runs again
        self.task = None  # the task of the sweep shown
        self._task_name = None
        self._ended_before: set[str] = set()
        self._trials_file: CsvTable | None = None
        self._summary_file: CsvTable | None = None
        self._tails: dict[int, CurveTail] = {}
        self._final: set[int] = set()  # ended trials whose curve has been read since they ended

        # --- what varies ------------------------------------------------------------------------------
        self.setting_box = QComboBox(self)
        self.setting_box.setToolTip("a setting of the form to vary")
        self.setting_box.setMinimumContentsLength(14)
        self.add_button = QPushButton("Vary", self)
        self.add_button.setToolTip("add the chosen setting to the sweep")
        self.add_button.clicked.connect(lambda: self.add_field(self.setting_box.currentText()))
        hint = QLabel("values <b>a,b,c</b> make a grid; a range <b>low:high</b> or <b>low:high:log</b> makes a "
                      "search", self)
        hint.setWordWrap(True)
        self.fields_grid = QGridLayout()
        self.fields_grid.setColumnStretch(1, 2)
        self.fields_grid.setColumnStretch(2, 3)
        pick = QHBoxLayout()
        pick.addWidget(self.setting_box)
        pick.addWidget(self.add_button)
        pick.addWidget(hint, 1)

        self.seeds = QSpinBox(self)
        self.seeds.setRange(1, 1000)
        self.seeds.setToolTip("run every configuration N times: seeds --seed, --seed+1, ... (--seeds)")
        self.trials = QSpinBox(self)
        self.trials.setRange(0, 100000)
        self.trials.setToolTip("a search: how many trials to sample (--search N)")
        self.parallel = QSpinBox(self)
        self.parallel.setRange(1, max(1, os.cpu_count() or 1))
        self.parallel.setToolTip("trials at once on this machine, the CPU threads shared among them (--parallel)")
        self.prune = QCheckBox("prune", self)
        self.prune.setChecked(True)
        self.prune.setToolTip("a search: stop a trial whose validation metric at an epoch is worse than the median "
                              "of the earlier trials' there (Optuna's MedianPruner, after its startup trials and "
                              "warm-up epochs); off: every trial runs to its end (--pruner none)")
        self.equal_params = QCheckBox("equal parameters", self)
        self.equal_params.setToolTip("with cell varied: size each cell's hidden units to the first cell's "
                                     "parameter count, within 5% (--equal-params)")
        self.folder = QLineEdit(self)
        self.folder.setPlaceholderText("a new folder under runs/<task>/sweeps/")
        self.folder.setToolTip("the sweep's folder (--sweep-dir); an existing sweep's folder continues it")
        # wraps when narrow: in one row these set the window's least width
        options = FlowLayout()
        for label, widget in (("Seeds", self.seeds), ("Trials", self.trials), ("At once", self.parallel)):
            options.addWidget(group(QLabel(label, self), widget, parent=self))
        options.addWidget(group(self.prune, self.equal_params, parent=self))
        self.folder.setMinimumWidth(240)
        options.addWidget(group(QLabel("Folder", self), self.folder, parent=self))

        self.mode_label = QLabel(self)
        self.error_label = QLabel(self)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.command = QLineEdit(self)
        self.command.setReadOnly(True)
        copy = QPushButton("Copy", self)
        copy.clicked.connect(lambda: QApplication.clipboard().setText(self.command.text()))
        command_row = QHBoxLayout()
        command_row.addWidget(self.command, 1)
        command_row.addWidget(copy)

        self.start_button = QPushButton("Start", self)
        self.stop_button = QPushButton("Stop", self)
        self.kill_button = QPushButton("Kill", self)
        self.continue_button = QPushButton("Continue", self)
        self.open_button = QPushButton("Open run", self)
        self.start_button.setToolTip("start the sweep in a new folder")
        self.stop_button.setToolTip("let the running trials finish and start no new one; "
                                    "again: end the running trials too, at their next batch")
        self.kill_button.setToolTip("end the sweep and its trials now (Continue runs the killed trials again)")
        self.continue_button.setToolTip("run the same command on the same folder: trials that ended are kept "
                                        "(a search samples its trial count again)")
        self.open_button.setToolTip("show the selected trial's run in the Runs tab (or double-click it)")
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.kill_button.clicked.connect(self.kill)
        self.continue_button.clicked.connect(self.resume)
        self.open_button.clicked.connect(self.open_selected)
        self.state_label = QLabel("no sweep yet", self)
        self.state_label.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(200)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.stop_button, self.kill_button, self.continue_button):
            buttons.addWidget(button)
        buttons.addWidget(self.state_label, 1)
        buttons.addWidget(self.progress)

        spec_box = QGroupBox("Sweep", self)
        spec_layout = QVBoxLayout(spec_box)
        spec_layout.addLayout(pick)
        spec_layout.addLayout(self.fields_grid)
        spec_layout.addLayout(options)
        spec_layout.addWidget(self.mode_label)
        spec_layout.addWidget(self.error_label)
        spec_layout.addLayout(command_row)
        spec_layout.addLayout(buttons)

        # --- what it did ------------------------------------------------------------------------------
        self.trials_model = TrialsModel(self)
        self.trials_view, self.trials_proxy = _table(self.trials_model, self)
        self.trials_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.trials_view.doubleClicked.connect(lambda _index: self.open_selected())
        self.trials_view.selectionModel().selectionChanged.connect(self._trials_selected)
        self.summary_model = SummaryModel(self)
        self.summary_view, self.summary_proxy = _table(self.summary_model, self)
        self.summary_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.summary_view.selectionModel().selectionChanged.connect(self._summary_selected)
        self.note_label = QLabel(self)
        self.note_label.setWordWrap(True)
        self.trials_title = QLabel("Trials", self)
        trials_box = QWidget(self)
        trials_layout = QVBoxLayout(trials_box)
        trials_layout.setContentsMargins(0, 0, 0, 0)
        title_row = QHBoxLayout()
        title_row.addWidget(self.trials_title, 1)
        title_row.addWidget(self.open_button)
        trials_layout.addLayout(title_row)
        trials_layout.addWidget(self.trials_view)
        summary_box = QWidget(self)
        summary_layout = QVBoxLayout(summary_box)
        summary_layout.setContentsMargins(0, 0, 0, 0)
        summary_layout.addWidget(QLabel("Configurations, ranked: mean ± std over the seeds; ★ the best", self))
        summary_layout.addWidget(self.summary_view, 1)
        summary_layout.addWidget(self.note_label)
        tables = QSplitter(Qt.Orientation.Horizontal, self)
        tables.addWidget(trials_box)
        tables.addWidget(summary_box)
        tables.setSizes([480, 620])
        self.plots = SweepPlots(self)
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setPlaceholderText("the sweep's output")
        lower = QSplitter(Qt.Orientation.Vertical, self)
        lower.addWidget(tables)
        lower.addWidget(self.plots)
        lower.addWidget(self.log)
        lower.setSizes([230, 330, 60])
        lower.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.addWidget(spec_box)
        layout.addWidget(lower, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        for widget in (self.seeds, self.trials, self.parallel):
            widget.valueChanged.connect(self.validate)
        self.equal_params.toggled.connect(self.validate)
        self.prune.toggled.connect(self.validate)
        self.folder.textChanged.connect(self.validate)
        form.changed.connect(self._form_changed)
        guard_wheel(self)
        self._form_changed()
        self._set_running(False)

    # --- the specification -----------------------------------------------------------------------------
    @property
    def workdir(self) -> str:
        return self._workdir() if callable(self._workdir) else self._workdir

    def _form_changed(self) -> None:
        task = self.form.task
        if task is None:
            return
        if task.name != self._task_name:  # another task: its own settings
            self._task_name = task.name
            known = set(setting_names(task))
            for name in [n for n in self.rows if n not in known]:
                self.remove_field(name)
            self.setting_box.clear()
            settings = task_settings(task)
            for setting in settings.values():
                self.setting_box.addItem(setting.name, setting.key)
                self.setting_box.setItemData(self.setting_box.count() - 1, setting.field.metadata.get("help", ""),
                                             Qt.ItemDataRole.ToolTipRole)
            self.setting_box.setCurrentIndex(max(0, self.setting_box.findText("cell")))
        self.validate()

    def add_field(self, name: str, text: str | None = None) -> FieldRow | None:
        task = self.form.task
        if not name or task is None:
            return None
        if name in self.rows:
            row = self.rows[name]
            if text is not None:
                row.edit.setText(text)
            row.edit.setFocus()
            return row
        settings = {s.name: s for s in task_settings(task).values()}
        setting = settings.get(name)
        if setting is None:
            return None
        if text is None:
            text = default_values(task, name, self.form.values().get(setting.key))
        row = FieldRow(name, text, setting.field.metadata.get("help", ""), self)
        line = self.fields_grid.rowCount()
        for col, widget in enumerate(row.widgets()):
            self.fields_grid.addWidget(widget, line, col)
        row.edit.textChanged.connect(self.validate)
        row.remove.clicked.connect(lambda: self.remove_field(name))
        self.rows[name] = row
        self.validate()
        return row

    def remove_field(self, name: str) -> None:
        row = self.rows.pop(name, None)
        if row is None:
            return
        for widget in row.widgets():
            self.fields_grid.removeWidget(widget)
            widget.deleteLater()
        self.validate()

    def clear_fields(self) -> None:
        for name in list(self.rows):
            self.remove_field(name)

    def sweep_form(self) -> SweepForm:
        return SweepForm(values={name: row.text for name, row in self.rows.items()}, seeds=self.seeds.value(),
                         trials=self.trials.value(), parallel=self.parallel.value(),
                         equal_params=self.equal_params.isChecked(), sweep_dir=self.folder.text().strip(),
                         prune=self.prune.isChecked())

    def validate(self, *_) -> bool:
        """Check what is entered as the command line would; errors beside their fields. True if it can run."""
        task = self.form.task
        if task is None:
            return False
        entered = self.sweep_form()
        errors, general, spec = check(task, entered)
        for name, row in self.rows.items():
            row.show_error(errors.get(name, ""))
        self.trials.setEnabled(entered.mode == "search")
        self.prune.setEnabled(entered.mode == "search")
        if not general and self.form.error_label.text():
            general = f"the settings: {self.form.error_label.text()}"
        hint = ""
        if general == NOTHING_VARIED:  # not an error: what to do first
            hint, general = general, ""
        self.error_label.setText(general)
        self.error_label.setVisible(bool(general))
        if spec is not None:
            count = f" = {len(spec.points()) * spec.seeds} trials" if spec.mode == "grid" else ""
            self.mode_label.setText(f"{spec.describe()}{count}")
        else:
            self.mode_label.setText(hint)
        ok = spec is not None and not general
        # without a folder given the command line picks a new one itself: the shown command runs as it is
        self.command.setText(shlex.join(cli_command(self.build_args(entered, entered.sweep_dir))) if ok else "")
        self.start_button.setEnabled(ok and not self.running())
        return ok

    def build_args(self, entered: SweepForm | None = None, sweep_dir: str | None = None) -> list[str]:
        """The sweep's command line arguments (without --events stdout, which the process adds); the folder
        is the one entered, else a new one (``sweep_dir=""``: none, for the command line to choose)."""
        entered = entered or self.sweep_form()
        task = self.form.task
        settings = {s.name: s.key for s in task_settings(task).values()}
        varied = {settings[name] for name in entered.values if name in settings}
        flags = {key: editor.flag for key, editor in self.form.editors.items()}
        base = run_flags(task.name, self.form.preset, self.form.explicit(), flags, varied)
        if sweep_dir is None:
            sweep_dir = entered.sweep_dir or str(default_sweep_dir(self.workdir, runs_root(), task.name, entered))
        return sweep_args(base, entered, sweep_dir) if sweep_dir else [*base, *entered.sweep_flags()]

    # --- running ----------------------------------------------------------------------------------------
    def running(self) -> bool:
        return self.process is not None and self.process.running()

    def start(self) -> bool:
        if self.running() or not self.validate():
            return False
        args = self.build_args()
        folder = Path(args[args.index("--sweep-dir") + 1])
        self._launch(args, folder if folder.is_absolute() else Path(self.workdir) / folder)
        return True

    def compare_cells(self) -> bool:
        """RNN, LSTM and GRU at equal parameter counts, three seeds each, on the form's other settings."""
        if self.running():
            self.state_label.setText("a sweep is running: stop it before comparing cells")
            return False
        self.clear_fields()
        for name, values in COMPARE_CELLS.items():
            self.add_field(name, values)
        self.seeds.setValue(COMPARE_SEEDS)
        self.equal_params.setChecked(True)
        self.folder.clear()
        return self.start()

    def resume(self) -> None:
        """Continue: the same command on the same folder."""
        if self.last_args and not self.running():
            self._launch(self.last_args, self.sweep_dir, again=True)

    def _launch(self, args: list[str], folder: Path, again: bool = False) -> None:
        self.last_args, self.sweep_dir = list(args), folder
        self.task = self.form.task if not again else self.task
        if not again:
            self._reset_view()
        self._trials_file = CsvTable(folder / "trials.csv")
        self._summary_file = CsvTable(folder / "summary.csv")
        self._ended_before = {r.get("number", "") for r in (self.trials_model.records if again else [])
                              if r.get("status") in ENDED}
        self.log.appendPlainText("$ " + shlex.join(cli_command(args)))
        self.process = SweepProcess(args, cwd=self.workdir, parent=self)
        self.process.log.connect(self._on_log)
        self.process.ended.connect(self._on_ended)
        self.process.start()
        self._set_running(True)
        self.state_label.setStyleSheet("")
        self.state_label.setText("continuing…" if again else "starting…")
        self.timer.start()

    def stop(self) -> None:
        if not self.running():
            return
        self.process.stop()
        if self.process.stops == 1:
            self.state_label.setText("stopping: the running trials finish, no new one starts (Stop again ends "
                                     "them now)")
            self.stop_button.setText("Stop now")
        else:
            self.state_label.setText("stopping: the running trials end at their next batch")

    def kill(self) -> None:
        if self.running():
            self.process.kill()
            self.state_label.setText("killing the sweep and its trials…")

    def shutdown(self, wait_ms: int = 30000) -> None:
        """The window closes: end the running trials at their next batch (or kill them), and wait."""
        if not self.running():
            return
        for _ in range(2 - self.process.stops):
            self.process.stop()
        if not self.process.process.waitForFinished(wait_ms):
            self.process.kill()
            self.process.process.waitForFinished(5000)

    def _set_running(self, running: bool) -> None:
        self.trials_model.set_live(running)
        self.stop_button.setEnabled(running)
        self.kill_button.setEnabled(running)
        if not running:
            self.stop_button.setText("Stop")
        self.continue_button.setEnabled(not running and self.last_args is not None)
        self.start_button.setEnabled(not running and self.validate())

    def _on_log(self, line: str) -> None:
        self.log.appendPlainText(line)
        text = line.strip()
        if text.startswith(("trial ", "stop", "continuing", "sweep:", "error:", "best:", "equal parameters")):
            self.state_label.setText(text if len(text) < 220 else text[:217] + "…")

    def _on_ended(self, code: int, how: str) -> None:
        self.timer.stop()
        self.poll()
        process = self.process
        self._set_running(False)
        self.state_label.setStyleSheet("")
        best = next((r for r in self.summary_model.records if r.get("best")), None)
        waiting = sum(r.get("status") == "WAITING" for r in self.trials_model.records)
        if how == "finished" and (best or not self.trials_model.records):
            self.state_label.setText(f"sweep finished: {self._best_text(best)}" if best else "sweep finished")
        elif how == "stopped":
            self.state_label.setText(f"sweep stopped: {waiting} trial{'s' * (waiting != 1)} not run yet; "
                                     f"Continue runs them")
        elif how in ("killed", "interrupted"):
            self.state_label.setText(f"sweep {how}; Continue runs the rest (the trials it ended run again)")
        else:
            message = process.error or ("no trial completed" if code == 1 else f"exit code {code}")
            self.state_label.setText(f"sweep failed: {message}")
            self.state_label.setStyleSheet(ERROR_STYLE)
        self.progress.setValue(self.progress.value())
        self.ended.emit()

    def _best_text(self, best: dict[str, str]) -> str:
        names = self.summary_model.names
        label = " ".join(f"{n}={best.get(n, '')}" for n in names) or "the base settings"
        metric = metric_of(list(best))
        mean = number(best.get(f"val_{metric}_mean", ""))
        return f"best {label} (val {metric} {mean:.4g})" if mean is not None else f"best {label}"

    # --- following the files ---------------------------------------------------------------------------
    def _reset_view(self) -> None:
        self._tails, self._final = {}, set()
        self.trials_model.set_rows([], [])
        self.summary_model.set_rows([], [])
        self.note_label.setText("")
        self.plots.clear()
        self.progress.setValue(0)
        self.log.clear()

    def poll(self) -> None:
        """Read what changed in the sweep's files and show it (the timer's work, about once a second)."""
        if self._trials_file is None:
            return
        changed = False
        if self._trials_file.read():
            self._keep_selection(self.trials_view, self.trials_proxy,
                                 lambda: self.trials_model.set_rows(self._trials_file.header, self._trials_file.rows))
            changed = True
        if self._summary_file.read():
            self._keep_selection(self.summary_view, self.summary_proxy,
                                 lambda: self.summary_model.set_rows(self._summary_file.header, self._summary_file.rows))
            changed = True
        changed = self._read_curves() or changed
        if changed:
            self._show_progress()
            self._show_note()
            header = self._trials_file.header
            self.plots.set_data(metric=metric_of(header), mode=self._sweep_mode(), direction=self._direction(),
                                names=varied_names(header, "number", "seed"), trials=self.trials_model.records,
                                summary=self.summary_model.records,
                                curves={n: tail.curve() for n, tail in self._tails.items()}, log_x=self._log_x())

    def _log_x(self) -> set[str]:
        """The settings the sweep samples on a log scale (--space NAME=LOW:HIGH:log)."""
        args = self.last_args or []
        return {value.partition("=")[0] for flag, value in zip(args, args[1:])
                if flag == "--space" and value.lower().endswith(":log")}

    def _sweep_mode(self) -> str:
        args = self.last_args or []
        return "search" if "--search" in args else "grid"

    def _direction(self) -> str:
        task = self.task or self.form.task
        return "maximize" if getattr(task, "monitor_mode", "min") == "max" else "minimize"

    def _read_curves(self) -> bool:
        metric = metric_of(self._trials_file.header)
        changed = False
        for record in self.trials_model.records:
            run_dir, raw = record.get("run_dir", ""), record.get("number", "")
            if not run_dir or not raw.isdigit() or not metric:
                continue
            trial = int(raw)
            if trial in self._final:
                continue
            tail = self._tails.get(trial)
            if tail is None:
                path = Path(run_dir) if Path(run_dir).is_absolute() else self.sweep_dir / run_dir
                tail = self._tails[trial] = CurveTail(path / "metrics.csv", f"val/{metric}")
            changed = tail.read() or changed
            if record.get("status") in ENDED:
                self._final.add(trial)  # read once more after it ended: its file is complete
        return changed

    def _show_progress(self) -> None:
        records = self.trials_model.records
        ended = sum(r.get("status") in ENDED for r in records)
        running = sum(r.get("status") == "RUNNING" for r in records)
        if self._sweep_mode() == "search":
            target = self.trials.value() if not self.last_args else int(self.last_args[self.last_args.index("--search") + 1])
            new = sum(r.get("status") in ENDED and r.get("number") not in self._ended_before for r in records)
            self.progress.setMaximum(max(1, target))
            self.progress.setValue(min(new, target))
        else:
            self.progress.setMaximum(max(1, len(records)))
            self.progress.setValue(ended)
        complete = sum(r.get("status") == "COMPLETE" for r in records)
        self.trials_title.setText(f"Trials: {ended} of {len(records)} ended ({complete} complete), {running} running"
                                  if records else "Trials")

    def _show_note(self) -> None:
        from suite.sweeps.records import ConfigRow, overlap_note

        configs = []
        names = self.summary_model.names
        metric = metric_of(self._summary_file.header)
        for r in self.summary_model.records:
            rank = number(r.get("rank", ""))
            configs.append(ConfigRow(settings={n: r.get(n, "") for n in names}, trials=[],
                                     n=int(number(r.get("n", "")) or 0), val_mean=number(r.get(f"val_{metric}_mean", "")),
                                     val_std=number(r.get(f"val_{metric}_std", "")),
                                     rank=int(rank) if rank is not None else None, best=bool(r.get("best"))))
        records = self.trials_model.records
        pending = sum(r.get("status") in ("RUNNING", "WAITING") for r in records)
        if pending:  # a note on seeds or spread would judge configurations whose seeds are still to come
            ended = sum(r.get("status") in ENDED for r in records)
            self.note_label.setText(f"ranked so far: {ended} of {len(records)} trials ended")
        else:
            self.note_label.setText(overlap_note(configs))

    def _keep_selection(self, view: QTableView, proxy, refresh: Callable[[], bool]) -> None:
        """Refresh a table, then select again the rows (by key) that were selected, wherever they now are;
        rows that went away are no longer selected. Columns are sized when they change."""
        keys = {proxy.data(index, KEY_ROLE) for index in view.selectionModel().selectedRows()}
        current = view.currentIndex()
        current_key = proxy.data(current, KEY_ROLE) if current.isValid() else None
        changed_columns = refresh()
        selection = QItemSelection()
        for row in range(proxy.rowCount()):
            index = proxy.index(row, 0)
            if proxy.data(index, KEY_ROLE) in keys:
                selection.select(index, proxy.index(row, proxy.columnCount() - 1))
                if proxy.data(index, KEY_ROLE) == current_key:
                    view.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
        if keys:
            view.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        fit_columns(view, shrink=changed_columns)

    # --- selecting ------------------------------------------------------------------------------------
    def selected_trials(self) -> list[int]:
        numbers = []
        for index in self.trials_view.selectionModel().selectedRows():
            key = self.trials_proxy.data(index, KEY_ROLE)
            if key and key.isdigit():
                numbers.append(int(key))
        return sorted(numbers)

    def _trials_selected(self, *_) -> None:
        self.plots.highlight(set(self.selected_trials()))

    def _summary_selected(self, *_) -> None:
        rows = self.summary_view.selectionModel().selectedRows()
        numbers = set()
        for index in rows:
            numbers.update(self.summary_model.trials(self.summary_proxy.mapToSource(index).row()))
        self.plots.highlight(numbers)

    def select_trial(self, number_: int) -> bool:
        for row in range(self.trials_proxy.rowCount()):
            index = self.trials_proxy.index(row, 0)
            if self.trials_proxy.data(index, KEY_ROLE) == str(number_):
                self.trials_view.selectRow(row)
                return True
        return False

    def open_selected(self) -> None:
        """The selected trial's run, in the Runs tab."""
        index = self.trials_view.currentIndex()
        rows = self.trials_view.selectionModel().selectedRows()
        if rows and (not index.isValid() or index.row() not in {r.row() for r in rows}):
            index = rows[0]
        if not index.isValid() or self.sweep_dir is None:
            return
        record = self.trials_model.records[self.trials_proxy.mapToSource(index).row()]
        run_dir = record.get("run_dir", "")
        path = Path(run_dir) if Path(run_dir).is_absolute() else self.sweep_dir / run_dir
        if not run_dir or not (path / "config.yaml").exists():
            self.state_label.setText(f"trial {record.get('number')} has no run yet ({record.get('status', '').lower()})")
            return
        self.open_run.emit(str(path.resolve()))

    def changeEvent(self, event) -> None:
        from PySide6.QtCore import QEvent

        if event.type() in (QEvent.Type.ApplicationPaletteChange, QEvent.Type.PaletteChange):
            self.plots.recolour()
        super().changeEvent(event)

"""A sweep from its specification to its results: the folder, the study, the workers, the outputs.

Every trial's configuration is built by :func:`suite.config.build_run_config` with the trial's settings as
explicit overrides (so presets, defaults and validation are a single run's), and runs as its own process
(see trial.py). ``parallel`` worker threads each take a trial from the study, run it and record it; the main
thread prints each result and rewrites the sweep's files (trials.csv and summary.csv when the sweep starts, and
as each trial starts and ends), so a window can follow them live.

Stopping, with ``listen`` (the command line's ``--events stdout``, as the window runs it): a line ``stop`` on
standard input lets the running trials finish and starts no new one, then the sweep ends as usual (its table,
best.yaml, plots); a second ``stop`` also ends the running trials at their next batch (they run again when the
sweep is continued). SIGINT and SIGTERM are the second kind at once. The same command on the same folder
continues a stopped sweep: trials that ended are not run again.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..config import build_run_config, coerce, read_config_file
from ..errors import UserError
from ..interrupts import Interrupted
from ..registry import get_task
from ..runs import runs_root
from ..shipped import find_config
from .outputs import (BEST_FILE, SUMMARY_FILE, SWEEP_FILE, TRIALS_FILE, fmt, format_table, read_sweep_yaml,
                      trial_line, write_best, write_summary, write_sweep_yaml, write_trials)
from .records import ConfigRow, TrialRow, configurations, overlap_note, trial_row
from .spec import SweepSpec, fingerprint, plain, task_settings, validate_spec
from .trial import Outcome, TrialRun, slug, trial_argv

#: plots are redrawn at most this often while trials finish (and always at the end)
PLOT_EVERY_S = 10.0


@dataclass
class SweepResult:
    """What a sweep left: its folder, its study, a row per trial and per configuration (best first)."""

    sweep_dir: Path
    study: str
    storage: str
    objective: str  # val/<monitor>
    direction: str  # minimize | maximize
    trials: list[TrialRow]
    configs: list[ConfigRow]
    best: ConfigRow | None
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stopped: bool = False  # ended by a ``stop`` before every trial had run (see Sweep.request_stop)


def run_sweep(task_name: str, settings: dict[str, Any] | None = None, sweep: SweepSpec | None = None, *,
              preset: str | None = None, config: str | os.PathLike | None = None, data_root: str | None = None,
              out: TextIO | None = None, command: list[str] | None = None, listen: bool = False,
              source: TextIO | None = None) -> SweepResult:
    """Run (or continue) a sweep of ``task_name``: ``settings`` are the runs' own (flag names without dashes
    or dotted keys, as in :func:`suite.api.train`), ``sweep`` what varies. Prints as the command line does
    to ``out`` (default: standard output). A bad specification raises a one-line UserError before any
    trial starts. With ``listen``, lines ``stop`` on ``source`` (default: standard input) stop it gracefully
    (see the module's docstring)."""
    sweeper = Sweep(task_name, settings or {}, sweep or SweepSpec(), preset=preset, config=config,
                    data_root=data_root, out=out or sys.stdout, command=command)
    if listen:
        sweeper.listen(source or sys.stdin)
    return sweeper.run()


def _ours(name: str) -> bool:
    """What a sweep writes in its folder (another process may be creating the same sweep right now)."""
    return name in ("trials", "logs", ".workers", "study.db", "study.db.lock", "study.db-journal", "study.db-wal",
                    "study.db-shm") or (name.startswith(f".{SWEEP_FILE}.") and name.endswith(".tmp"))


def _default_dir(task: str, spec: SweepSpec) -> Path:
    what = "-".join(spec.names) or f"seeds{spec.seeds}"
    base = runs_root() / task / "sweeps" / f"{time.strftime('%Y%m%d-%H%M%S')}-{spec.mode}-{what}"[:80]
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


class Sweep:
    def __init__(self, task_name: str, settings: dict[str, Any], spec: SweepSpec, *, preset: str | None,
                 config: str | os.PathLike | None, data_root: str | None, out: TextIO,
                 command: list[str] | None):
        from ..api import settings_to_explicit

        self.out = out
        try:
            import optuna  # noqa: F401
        except ImportError:
            raise UserError("sweeps need Optuna: pip install 'rnn-suite[sweeps]' (or pip install optuna)") from None
        self.task = get_task(task_name)
        self.spec = validate_spec(self.task, spec)
        self.known = task_settings(self.task)
        self.by_name = {s.name: s for s in self.known.values()}
        self.explicit = settings_to_explicit(self.task, settings)
        self.preset, self.data_root = preset, data_root
        self.config_file = str(Path(find_config(config)).resolve()) if config else None
        self.file_data = read_config_file(self.config_file) if self.config_file else None
        self.command = command or [sys.executable, "-m", "suite", "--task", task_name]
        self.base = self._base_config()
        self.monitor, self.mode = self.task.monitor, self.task.monitor_mode
        self.direction = "maximize" if self.mode == "max" else "minimize"
        spec = self.spec
        varied = [a.key for a in spec.grid] + [p.key for p in spec.space]
        clash = [self.known[k].name for k in varied if k in self.explicit]
        if clash:
            raise UserError(f"--{clash[0]} is set and also varied by the sweep; drop one of the two")
        self.threads = self._threads()
        self.names = list(spec.names)
        if spec.equal_params and "hidden" not in self.names:
            self.names.append("hidden")
        self.identity = spec.identity(self.task.name, self._base_identity())
        self.study_name = spec.study or f"{self.task.name}-{spec.mode}-{fingerprint(self.identity)}"
        self.storage = None
        if spec.storage:  # a storage given must open before any folder is made
            from .storage import Storage

            self.storage = Storage(spec.storage)
        self.sizer = None
        self.sizes: dict[int, tuple[int, int]] = {}
        self.plan = self._plan()
        self._sampled = 0
        self._expecting = 0  # this process's first seeds still running (their replicas are still to come)
        self._cond = threading.Condition()
        self._events: queue.Queue = queue.Queue()
        self._active: dict[int, TrialRun] = {}
        self._stopping = threading.Event()  # no new trial, and the running ones end at their next batch
        self._draining = threading.Event()  # no new trial; the running ones finish
        self._stops = 0  # the ``stop`` lines read so far
        self._errors: list[BaseException] = []
        self.notes: list[str] = []

    # --- settings ---------------------------------------------------------------------------------------
    def build(self, overrides: dict[str, Any]):
        return build_run_config(self.task, preset=self.preset, file_data=self.file_data,
                                file_name=str(self.config_file), explicit={**self.explicit, **overrides},
                                data_root=self.data_root)

    def _base_config(self):
        """The runs' own settings, resolved and valid: alone, or with one of the configurations the sweep tries
        (a sweep over --segment may need one of its values to make the rest valid); else the first error."""
        try:
            return self.build({})
        except UserError as first:
            spec = self.spec
            candidates = spec.points() if spec.grid else [
                {p.key: (p.choices[0] if p.choices is not None else p.low) for p in spec.space}]
            for point in candidates:
                try:
                    return self.build(point)
                except UserError:
                    continue
            raise first from None

    def _base_identity(self) -> dict[str, Any]:
        settings = {}
        for key, value in sorted(self.explicit.items()):
            if key == "train.threads":
                continue
            setting = self.known.get(key)
            if setting is not None:  # "1e-3" and 0.001 are one setting
                try:
                    value = coerce(value, setting.type, key)
                except UserError:
                    pass
            settings[key] = plain(value)
        return {"preset": self.preset, "config": self.file_data, "settings": settings}

    def _threads(self) -> int:
        cores = os.cpu_count() or 1
        given = "train.threads" in self.explicit or "threads" in ((self.file_data or {}).get("train") or {})
        if given and self.base.train.threads > 0:
            threads = self.base.train.threads
            if threads * self.spec.parallel > cores:
                raise UserError(f"--parallel {self.spec.parallel} x --threads {threads} is more threads than this "
                                f"machine's {cores} CPU cores; lower one (or leave --threads out: each trial then "
                                f"gets {max(1, cores // self.spec.parallel)})")
            return threads
        return max(1, cores // self.spec.parallel)

    def _plan(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """The grid's trials as (Optuna params, user attributes); for a search, none planned."""
        spec = self.spec
        if spec.mode == "search":
            if spec.equal_params:
                self._sizer()
            return []
        points = spec.points()
        if spec.equal_params:
            sizer = self._sizer()
            for i, point in enumerate(points):
                self.sizes[i] = sizer.hidden_for(point)  # an impossible size is said before any trial
        plan = []
        for i, point in enumerate(points):
            first = point.get("train.seed", self.base.train.seed)
            params = {self.known[k].name: plain(v) for k, v in point.items()}
            for j in range(spec.seeds):
                plan.append((params, {"point": i, "seed_index": j, "seed": first + j}))
        return plan

    def _sizer(self):
        if self.sizer is None:
            from ..cli import _load_training_libraries
            from .sizing import EqualParams

            _load_training_libraries()
            cells = [a for a in self.spec.grid if a.key == "backbone.cell"] or \
                    [p for p in self.spec.space if p.key == "backbone.cell"]
            values = cells[0].values if hasattr(cells[0], "values") else cells[0].choices
            hidden_max = self.known["backbone.hidden"].field.metadata.get("max") or 8192
            self.sizer = EqualParams(self.task, self.build, values[0], hidden_max)
        return self.sizer

    # --- the folder and the study ----------------------------------------------------------------------
    def _prepare_folder(self) -> tuple[Path, bool]:
        folder = Path(self.spec.sweep_dir) if self.spec.sweep_dir else _default_dir(self.task.name, self.spec)
        if folder.exists() and not folder.is_dir():
            raise UserError(f"{folder}: exists and is not a folder; choose another --sweep-dir")
        existing = read_sweep_yaml(folder) if folder.is_dir() else None
        if existing is not None:
            from .study import refuse_if_different

            refuse_if_different(existing.get("spec"), self.identity, str(folder))
        elif folder.is_dir() and not all(_ours(p.name) for p in folder.iterdir()):
            if (folder / "config.yaml").exists():
                raise UserError(f"{folder}: holds a run, not a sweep; choose another --sweep-dir")
            raise UserError(f"{folder}: exists and is not a sweep folder (no {SWEEP_FILE}); choose another --sweep-dir")
        try:
            for sub in (folder, folder / "trials", folder / "logs"):
                sub.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"{folder}: cannot create the sweep folder ({exc.strerror or exc})") from None
        return folder, existing is not None

    def _sampler_and_pruner(self) -> tuple[Any, Any, str, str]:
        import optuna

        if self.spec.mode == "grid":
            return (optuna.samplers.RandomSampler(seed=self.base.train.seed), optuna.pruners.NopPruner(),
                    "none: every grid point x seed is enqueued once and taken by one worker",
                    "none: grid trials run to their end")
        from .sampler import TrialSeededTPE

        seed = self.base.train.seed
        sampler = TrialSeededTPE(seed, constant_liar=True)
        sampler_text = (f"TPESampler(seed={seed}, n_startup_trials=10, constant_liar=True), each trial's randomness "
                        f"seeded from ({seed}, its number in the study)")
        if self.spec.pruner == "none":
            return sampler, optuna.pruners.NopPruner(), sampler_text, "none: every trial runs to its end"
        startup = max(2, min(5, self.spec.search // 4))
        epochs = self.base.train.max_epochs
        warmup = min(max(1, epochs // 4), epochs - 1) if epochs > 1 else 0
        pruner = optuna.pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=warmup)
        if epochs <= 1 and not any(p.key == "train.max_epochs" for p in self.spec.space):
            return (sampler, pruner, sampler_text, f"MedianPruner(n_startup_trials={startup}, n_warmup_steps=0): "
                    f"no trial is pruned, its only epoch (--max-epochs {epochs}) being its last")
        return (sampler, pruner, sampler_text,
                f"MedianPruner(n_startup_trials={startup}, n_warmup_steps={warmup}): once {startup} trials have "
                f"completed, a trial whose val/{self.monitor} at epoch {warmup + 1} or later (before its last) is "
                f"worse than the median of the earlier trials at that epoch is stopped")

    def _sweep_yaml(self, sampler: str, pruner: str) -> dict[str, Any]:
        from .storage import shown

        spec = self.spec
        data: dict[str, Any] = {
            "command": " ".join(self.command), "task": self.task.name, "mode": spec.mode,
            "objective": {"metric": f"val/{self.monitor}", "direction": self.direction, "test": f"test/{self.monitor}"},
            "preset": self.preset, "config": self.config_file,
            "settings": self.identity["base"]["settings"],
        }
        if spec.mode == "grid":
            data["grid"] = {a.name: [plain(v) for v in a.values] for a in spec.grid}
            data["trials"] = len(self.plan)
        else:
            data["space"] = {p.name: p.describe() for p in spec.space}
            data["search"] = {"trials_per_process": spec.search}
        data["seeds"] = {"count": spec.seeds, "first": self.base.train.seed,
                         "values": [self.base.train.seed + i for i in range(spec.seeds)]}
        if spec.equal_params:
            data["equal_params"] = {"reference_cell": self.sizer.reference_cell, "tolerance": 0.05,
                                    "hidden": {" ".join(f"{self.known[k].name}={v}" for k, v in p.items()):
                                               {"hidden": self.sizes[i][0], "parameters": self.sizes[i][1]}
                                               for i, p in enumerate(spec.points()) if i in self.sizes}}
        data["parallel"] = {"trials_at_once": spec.parallel, "threads_per_trial": self.threads,
                            "launcher": spec.launcher}
        data["storage"] = shown(self.storage.url)
        data["study"] = self.study_name
        data["sampler"], data["pruner"] = sampler, pruner
        data["spec"] = self.identity
        return data

    # --- stopping -------------------------------------------------------------------------------------
    def listen(self, source: TextIO) -> None:
        """Read ``stop`` lines from ``source`` (a parent process's pipe) for as long as the sweep runs."""
        def read() -> None:
            try:
                for line in source:
                    if line.strip().lower() == "stop":
                        self.request_stop()
            except (OSError, ValueError):  # the pipe went away: nobody is left to ask
                pass

        threading.Thread(target=read, name="sweep-stdin-stop", daemon=True).start()

    def request_stop(self) -> None:
        """The first call: start no new trial and let the running ones finish. The second: end those too, at
        their next batch (their settings are enqueued again, for a continued sweep to run)."""
        self._stops += 1
        again = "" if self.spec.sweep_dir else " with --sweep-dir <its folder>"
        if self._stops == 1:
            self._draining.set()
            with self._cond:
                self._cond.notify_all()
            print(f"stop: the running trials finish and no new one starts ('stop' again ends them at their next "
                  f"batch); the same command{again} continues the sweep", file=sys.stderr, flush=True)
            return
        if self._stopping.is_set():
            return
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        print("stop: the running trials end at their next batch; they run again when the sweep is continued",
              file=sys.stderr, flush=True)
        for run in list(self._active.values()):
            run.request_stop("interrupt")

    @property
    def stopped(self) -> bool:
        return self._draining.is_set() or self._stopping.is_set()

    # --- running ----------------------------------------------------------------------------------------
    def run(self) -> SweepResult:
        from .storage import Storage, default_url, shown
        from .study import Worker, enqueue_grid, open_study, recover_dead, trials_of

        self.folder, continuing = self._prepare_folder()
        if self.storage is None:
            self.storage = Storage(default_url(self.folder))
        sampler, pruner, sampler_text, pruner_text = self._sampler_and_pruner()
        self.study = open_study(self.storage, self.study_name, self.direction, self.identity, sampler, pruner)
        if not (self.folder / SWEEP_FILE).exists():
            write_sweep_yaml(self.folder, self._sweep_yaml(sampler_text, pruner_text))
        self.worker = Worker(self.folder)
        try:
            recovered = recover_dead(self.study, self.storage, self.worker)
            if self.plan:
                enqueue_grid(self.study, self.storage, self.plan)
            known = trials_of(self.study)
            done = [t for t in known if t.state.is_finished() and t.number not in recovered]
            waiting = sum(t.state.name == "WAITING" for t in known)  # with those recovered, enqueued again
            self._header(sampler_text, pruner_text, shown(self.storage.url), continuing, done, recovered, waiting)
            self.worker.start_heartbeat(self.study)
            self._refresh(plots=False)  # the planned trials, WAITING, for a window to show at once
            self._work_all()
        finally:
            self.worker.close()
        return self._finish()

    def _header(self, sampler: str, pruner: str, storage: str, continuing: bool, done: list, recovered: list,
                waiting: int) -> None:
        spec, say = self.spec, lambda text: print(text, file=self.out, flush=True)
        say(f"sweep: {self.folder}")
        total = f": {len(self.plan)} trials" if self.plan else ""
        say(f"  {spec.describe()}{total}")
        say(f"  objective: val/{self.monitor} ({self.direction}); test/{self.monitor} recorded beside it")
        if spec.mode == "search":
            say(f"  sampler: {sampler}")
            say(f"  pruner: {pruner}")
        say(f"  {spec.parallel} trial{'s' * (spec.parallel != 1)} at once, {self.threads} thread"
            f"{'s' * (self.threads != 1)} each ({spec.launcher}); storage {storage}, study {self.study_name}")
        if spec.equal_params and self.sizes:
            parts = []
            for i, point in enumerate(spec.points()):
                hidden, params = self.sizes[i]
                reference = self.sizer.reference(point)[1]
                label = " ".join(f"{self.known[k].name}={v}" for k, v in point.items())
                parts.append(f"{label} hidden {hidden}: {params:,} ({(params - reference) / reference:+.1%})")
            say("  equal parameters: " + "; ".join(parts))
        if continuing or done:
            lost = ""
            if recovered:
                one = len(recovered) == 1
                lost = (f"; trial{'' if one else 's'} {', '.join(map(str, recovered))} lost {'its' if one else 'their'} "
                        f"process and run{'s' if one else ''} again")
            left = f", {waiting} waiting" if waiting and self.spec.mode == "grid" else ""
            say(f"  continuing: {len(done)} trial{'s' * (len(done) != 1)} already ended{left}{lost}")

    def _work_all(self) -> None:
        threads = [threading.Thread(target=self._work, name=f"sweep-worker-{i}", daemon=True)
                   for i in range(self.spec.parallel)]
        for t in threads:
            t.start()
        last_plot = 0.0
        try:
            while any(t.is_alive() for t in threads) or not self._events.empty():
                try:
                    item = self._events.get(timeout=0.5)
                except queue.Empty:
                    continue
                if item[0] == "started":  # a trial began: its row says RUNNING, with its run folder
                    self._refresh(plots=False)
                    continue
                self._say_trial(item)
                now = time.monotonic()
                plots = now - last_plot >= PLOT_EVERY_S
                self._refresh(plots=plots)
                last_plot = now if plots else last_plot
        except (Interrupted, KeyboardInterrupt):
            self._stopping.set()
            again = "" if self.spec.sweep_dir else f" with --sweep-dir {self.folder}"
            print(f"stopping: the running trials end at their next batch; they run again when this command is "
                  f"repeated{again}", file=sys.stderr, flush=True)
            for run in list(self._active.values()):
                run.request_stop("interrupt")
            for t in threads:
                while t.is_alive():
                    t.join(0.5)
            self._refresh(plots=False)
            raise
        if self._errors:
            raise self._errors[0]

    def _work(self) -> None:
        try:
            while not self.stopped:
                trial = self._next_trial()
                if trial is None:
                    return
                self._run_trial(trial)
        except BaseException as exc:  # a storage failure: the sweep stops, saying why
            self._errors.append(exc)
            self._stopping.set()

    def _next_trial(self):
        from .study import ask_new, recover_dead, take_waiting

        with self._cond:
            while not self.stopped:
                trial = take_waiting(self.study, self.storage)
                if trial is not None:
                    return trial
                if self.spec.mode == "search" and self._sampled < self.spec.search:
                    trial = ask_new(self.study, self.storage)
                    if not trial.user_attrs:  # a new sample, not a waiting one another process enqueued
                        self._sampled += 1
                        if self.spec.seeds > 1:
                            self._expecting += 1
                    return trial
                if self._expecting:  # replicas of a running first seed may still be enqueued
                    self._cond.wait(1.0)
                    continue
                if recover_dead(self.study, self.storage, self.worker):  # another process died meanwhile
                    continue
                return None
        return None

    def _suggest(self, trial, param) -> Any:
        if param.kind == "categorical":
            return trial.suggest_categorical(param.name, [plain(c) for c in param.choices])
        if param.kind == "int":
            return trial.suggest_int(param.name, param.low, param.high, log=param.log)
        return trial.suggest_float(param.name, param.low, param.high, log=param.log)

    def _run_trial(self, trial) -> None:
        import optuna

        from .launch import command_line
        from .study import enqueue_again

        attrs = dict(trial.user_attrs)
        spec = self.spec
        if spec.mode == "grid":
            dotted = {a.key: trial.suggest_categorical(a.name, [plain(v) for v in a.values]) for a in spec.grid}
            seed = attrs.get("seed", dotted.get("train.seed", self.base.train.seed))
        else:
            dotted = {p.key: self._suggest(trial, p) for p in spec.space}
            seed = dotted.get("train.seed", self.base.train.seed) + attrs.get("seed_index", 0)
        error = ""
        if spec.equal_params:
            try:
                dotted["backbone.hidden"] = self.sizer.hidden_for(dotted)[0]
            except UserError as exc:
                error = str(exc)
        named = {self.known[k].name: plain(v) for k, v in dotted.items()}
        run_dir = (self.folder / "trials" / f"{trial.number:04d}-{slug(named, seed)}").resolve()
        explicit = {**dotted, "train.seed": seed, "train.threads": self.threads}
        if "train.strong_baseline" not in self.explicit and "train.strong_baseline" not in dotted:
            # trials are compared by the network's scores; one reference fit per trial would repeat the same
            # fit on the same data (a minute each on IMDB): --strong-baseline on the sweep asks for it
            explicit["train.strong_baseline"] = False
        max_epochs = None
        if not error:
            try:  # a combination a run would refuse fails here, as it would there
                max_epochs = self.build(explicit).train.max_epochs
            except UserError as exc:
                error = str(exc)
        info = {"settings": named, "seed": seed, "run_dir": str(run_dir), **self.worker.describe(),
                "started": time.time()}
        trial.set_user_attr("trial", info)
        self.worker.running(trial._trial_id, True)
        self._events.put(("started", trial.number))
        try:
            if error:
                outcome = Outcome("FAIL", error=error)
            else:
                argv = trial_argv(self.task.name, {**self.explicit, **explicit}, self.known, run_dir,
                                  preset=self.preset, config=self.config_file, data_root=self.data_root)
                log = self.folder / "logs" / f"{trial.number:04d}.log"
                log.write_text("$ " + " ".join(command_line(argv)) + "\n", encoding="utf-8")
                run = TrialRun(argv, log, self.monitor, self.mode, launcher=spec.launcher, preload=self._preload(),
                               report=lambda epoch, value: self._report(trial, epoch, value, max_epochs))
                self._active[trial.number] = run
                if self._stopping.is_set():
                    run.request_stop("interrupt")
                try:
                    outcome = run.run()
                finally:
                    self._active.pop(trial.number, None)
            result = {"value": outcome.value, "test": outcome.test, "best_epoch": outcome.best_epoch,
                      "epochs": outcome.epochs, "fit_seconds": outcome.fit_seconds,
                      "parameters": outcome.parameters, "error": outcome.error, "curve": outcome.curve,
                      "test_split": outcome.test_split, "finished": time.time()}
            trial.set_user_attr("result", result)
            state = {"COMPLETE": optuna.trial.TrialState.COMPLETE, "PRUNED": optuna.trial.TrialState.PRUNED,
                     "FAIL": optuna.trial.TrialState.FAIL}[outcome.status]
            if state == optuna.trial.TrialState.COMPLETE:
                self.study.tell(trial, outcome.value)
            else:
                self.study.tell(trial, state=state)
            if outcome.interrupted or (outcome.status == "FAIL" and outcome.error.startswith("interrupted")):
                enqueue_again(self.study, self.study._storage.get_trial(trial._trial_id))
            elif (spec.mode == "search" and spec.seeds > 1 and "seed_index" not in attrs
                  and outcome.status == "COMPLETE"):
                for j in range(1, spec.seeds):  # the other seeds of a configuration worth repeating
                    self.study.enqueue_trial(dict(trial.params), user_attrs={"seed_index": j, "replica_of": trial.number})
        finally:
            self.worker.running(trial._trial_id, False)
            if spec.mode == "search" and spec.seeds > 1 and not attrs:
                with self._cond:
                    self._expecting -= 1
                    self._cond.notify_all()
        self._events.put((trial.number, named, seed, outcome))

    def _report(self, trial, epoch: int, value: float, max_epochs: int | None) -> bool:
        trial.report(value, epoch)
        if max_epochs is not None and epoch + 1 >= max_epochs:  # its last epoch: nothing left to save
            return False
        return self.spec.mode == "search" and trial.should_prune()

    def _preload(self) -> list[str]:
        """The task's modules, imported once by the forkserver launcher."""
        package = type(self.task).__module__.rpartition(".")[0] or type(self.task).__module__
        names = [type(self.task).__module__, package]
        try:
            found = importlib.import_module(package)
            names += [f"{package}.{m.name}" for m in pkgutil.iter_modules(getattr(found, "__path__", []))]
        except ImportError:
            pass
        return names

    # --- reporting --------------------------------------------------------------------------------------
    def _say_trial(self, item: tuple[int, dict[str, Any], int, Outcome]) -> None:
        print(trial_line(*item, self.monitor), file=self.out, flush=True)

    def _rows(self) -> list[TrialRow]:
        from .study import trials_of

        trials = trials_of(self.study)
        rows = [trial_row(t, self.names) for t in trials]
        if self.spec.equal_params and self.sizes:  # a grid trial not started yet: the hidden size it will have
            for row, frozen in zip(rows, trials):
                point = frozen.user_attrs.get("point")
                if "hidden" not in row.settings and point in self.sizes:
                    row.settings["hidden"] = self.sizes[point][0]
        return rows

    def _refresh(self, plots: bool) -> tuple[list[TrialRow], list[ConfigRow], list[str]]:
        rows = self._rows()
        configs = configurations(rows, self.direction)
        write_trials(self.folder, rows, self.names, self.monitor)
        write_summary(self.folder, configs, self.names, self.monitor)
        files = [SWEEP_FILE, TRIALS_FILE, SUMMARY_FILE]
        best = next((c for c in configs if c.best), None)
        if best is not None:
            write_best(self.folder, self._best_config(best).to_yaml())
            files.append(BEST_FILE)
        said: list[str] = []
        if plots:
            from .plots import write_plots

            orders = {a.name: [plain(v) for v in a.values] for a in self.spec.grid}
            orders.update({p.name: [plain(v) for v in p.choices] for p in self.spec.space if p.choices})
            said = write_plots(self.folder, rows, configs, self.names, self.monitor,
                               self.study if self.spec.mode == "search" else None, orders)
        return rows, configs, files + said

    def _best_config(self, best: ConfigRow):
        dotted = {self.by_name[name].key: value for name, value in best.settings.items() if name in self.by_name}
        return self.build(dotted)

    def _finish(self) -> SweepResult:
        rows, configs, said = self._refresh(plots=True)
        files = [s for s in said if " " not in s]
        notes = [s for s in said if " " in s]
        note = overlap_note(configs)
        splits = {t.user_attrs.get("result", {}).get("test_split") for t in self.study.get_trials(deepcopy=False)}
        other = sorted(s for s in splits if s and s != "test")
        if other:
            notes.append(f"the test metric is on: {'; '.join(other)}")
        print(format_table(configs, self.names, self.monitor, note), file=self.out)
        best = next((c for c in configs if c.best), None)
        if best is not None:
            print(f"best: {best.label()} (val {self.monitor} {fmt(best.val_mean)}); its settings: "
                  f"{self.folder / BEST_FILE} (--config)", file=self.out)
        else:
            print("no trial completed: no best configuration", file=self.out)
        for text in notes:
            print(f"  {text}", file=self.out)
        if self.stopped:
            waiting = sum(r.status == "WAITING" for r in rows)
            print(f"stopped: {waiting} trial{'s' * (waiting != 1)} not run yet; the same command continues the "
                  f"sweep", file=self.out)
        print(f"wrote {self.folder}: {', '.join(files)}", file=self.out, flush=True)
        return SweepResult(self.folder, self.study_name, self.storage.url, f"val/{self.monitor}", self.direction,
                           rows, configs, best, files, notes + ([note] if note else []), stopped=self.stopped)

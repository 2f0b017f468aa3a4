"""The Optuna study a sweep works through, shared by every process that runs it.

* The specification is stored on the study; a process with a different one is refused.
* A grid is enqueued once per study: every point x seed as a WAITING trial. The process that creates a
  marker study (a unique name, so exactly one process can) enqueues what is missing, then sets the user
  attribute ``rnn_suite_grid``; the others wait for it. Workers then take WAITING trials one at a time
  (the storage lets exactly one taker move a trial to RUNNING) until none are left.
* Liveness: each process holds a lock file in its sweep folder while it runs and stamps a heartbeat on its
  RUNNING trials. A RUNNING trial whose process is gone (its lock file free on this machine, or no
  heartbeat for ``GRACE_S`` from anywhere) is failed, and its settings are enqueued again.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

import optuna
from optuna.trial import FrozenTrial, TrialState

from ..errors import UserError
from .storage import Storage

SPEC_ATTR = "rnn_suite_sweep"
GRID_ATTR = "rnn_suite_grid"
#: user attributes a waiting trial is planned with (kept when it is enqueued again)
PLAN_ATTRS = ("point", "seed_index", "seed", "replica_of")
HEARTBEAT_S = 20.0
GRACE_S = 180.0
#: how long a process waits for another to finish enqueueing a grid before doing it itself
ENQUEUE_WAIT_S = 120.0

optuna.logging.set_verbosity(optuna.logging.ERROR)  # the sweep says what happens, in its own lines


def _normal(data: Any) -> Any:
    return json.loads(json.dumps(data, sort_keys=True, default=str))


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
    return f"{path or 'specification'}: {json.dumps(a)} there, {json.dumps(b)} here"


def refuse_if_different(stored: Any, identity: dict[str, Any], where: str) -> None:
    if stored is not None and _normal(stored) != _normal(identity):
        raise UserError(f"{where} holds a different sweep ({_first_difference(_normal(stored), _normal(identity))}); "
                        f"repeat its own command to continue it, or choose another --sweep-dir/--study")


def open_study(storage: Storage, name: str, direction: str, identity: dict[str, Any], sampler: Any,
               pruner: Any) -> optuna.Study:
    try:
        study = optuna.create_study(study_name=name, storage=storage.backend, direction=direction,
                                    sampler=sampler, pruner=pruner, load_if_exists=True)
    except Exception as exc:  # the storage went away, a schema from another Optuna version
        raise UserError(f"study {name}: cannot open it ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    refuse_if_different(study.user_attrs.get(SPEC_ATTR), identity, f"study {name}")
    if study.direction.name.lower() != direction:
        raise UserError(f"study {name} is a {study.direction.name.lower()} study; this sweep would {direction}")
    if SPEC_ATTR not in study.user_attrs:
        study.set_user_attr(SPEC_ATTR, _normal(identity))
    return study


def _backend(study: optuna.Study) -> Any:
    return study._storage  # the study's own (cached) view of its storage, which Trial and tell use too


def enqueue_grid(study: optuna.Study, storage: Storage, plan: list[tuple[dict[str, Any], dict[str, Any]]]) -> int:
    """Enqueue every (params, user_attrs) of ``plan`` once per study; returns how many this process added."""
    total = len(plan)
    for attempt in range(1, 100):
        if study.user_attrs.get(GRID_ATTR) == total:
            return 0
        try:
            optuna.create_study(study_name=f"{study.study_name}::grid-{attempt}", storage=storage.backend)
        except optuna.exceptions.DuplicatedStudyError:  # another process enqueues (or did)
            deadline = time.monotonic() + ENQUEUE_WAIT_S
            while time.monotonic() < deadline:
                if study.user_attrs.get(GRID_ATTR) == total:
                    return 0
                time.sleep(0.2)
            continue  # it did not finish (killed meanwhile): the next marker takes over
        with storage.exclusive():
            planned = {(t.user_attrs.get("point"), t.user_attrs.get("seed_index"))
                       for t in study.get_trials(deepcopy=False)}
            added = 0
            for params, attrs in plan:
                if (attrs["point"], attrs["seed_index"]) not in planned:
                    study.enqueue_trial(params, user_attrs=attrs)
                    added += 1
        study.set_user_attr(GRID_ATTR, total)
        return added
    raise UserError(f"study {study.study_name}: its grid could not be enqueued")


def take_waiting(study: optuna.Study, storage: Storage) -> optuna.Trial | None:
    """A WAITING trial moved to RUNNING by this process (and by no other), or None if none is left."""
    backend = _backend(study)
    with storage.exclusive():
        for frozen in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            try:
                if backend.set_trial_state_values(frozen._trial_id, state=TrialState.RUNNING):
                    return optuna.trial.Trial(study, frozen._trial_id)
            except optuna.exceptions.UpdateFinishedTrialError:
                continue
    return None


def ask_new(study: optuna.Study, storage: Storage) -> optuna.Trial:
    with storage.exclusive():
        return study.ask()


def enqueue_again(study: optuna.Study, frozen: FrozenTrial) -> None:
    """Enqueue a trial's settings once more (its process died, or the sweep was interrupted)."""
    params = dict(frozen.params) or dict(frozen.system_attrs.get("fixed_params") or {})
    attrs = {k: frozen.user_attrs[k] for k in PLAN_ATTRS if k in frozen.user_attrs}
    attrs["retry_of"] = frozen.number
    study.enqueue_trial(params, user_attrs=attrs)


class Worker:
    """This process, as the studies see it: an id, its host, and a lock file it holds while alive."""

    def __init__(self, sweep_dir: Path):
        self.host = socket.gethostname()
        self.id = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        folder = sweep_dir / ".workers"
        folder.mkdir(exist_ok=True)
        self.lock_path = (folder / f"{os.getpid()}-{uuid.uuid4().hex[:6]}.lock").resolve()
        self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        _try_lock(self._fd)
        self._running: dict[int, int] = {}  # trial id -> number, for the heartbeat
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self._study: optuna.Study | None = None

    def describe(self) -> dict[str, Any]:
        return {"worker": self.id, "host": self.host, "lock": str(self.lock_path)}

    def start_heartbeat(self, study: optuna.Study) -> None:
        self._study = study
        self._beat = threading.Thread(target=self._heartbeat, name="sweep-heartbeat", daemon=True)
        self._beat.start()

    def running(self, trial_id: int, on: bool) -> None:
        with self._guard:
            if on:
                self._running[trial_id] = 1
            else:
                self._running.pop(trial_id, None)

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            with self._guard:
                ids = list(self._running)
            for trial_id in ids:
                try:
                    _backend(self._study).set_trial_user_attr(trial_id, "heartbeat", time.time())
                except Exception:  # finished meanwhile, or the storage is busy: the next beat will do
                    pass

    def close(self) -> None:
        self._stop.set()
        try:
            os.close(self._fd)
            self.lock_path.unlink(missing_ok=True)
            self.lock_path.parent.rmdir()  # the last process of this folder to end
        except OSError:
            pass


def _try_lock(fd: int) -> bool:
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
    except OSError:
        return False
    return True


def _is_dead(frozen: FrozenTrial, me: Worker, now: float) -> bool:
    info = frozen.user_attrs.get("trial") or {}
    if info.get("worker") == me.id:
        return False
    lock = info.get("lock")
    if info.get("host") == me.host and lock and os.path.exists(lock):
        try:
            fd = os.open(lock, os.O_RDWR)
        except OSError:
            fd = None
        if fd is not None:
            try:
                return _try_lock(fd)  # free: its process has ended (the lock goes with the process)
            finally:
                os.close(fd)
    beat = frozen.user_attrs.get("heartbeat") or info.get("started")
    if not isinstance(beat, (int, float)):
        started = frozen.datetime_start
        beat = started.timestamp() if started else None
    return beat is not None and now - beat > GRACE_S


def recover_dead(study: optuna.Study, storage: Storage, me: Worker) -> list[int]:
    """Fail the RUNNING trials whose process is gone and enqueue their settings again; returns their numbers."""
    recovered = []
    backend = _backend(study)
    with storage.exclusive():
        now = time.time()
        for frozen in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if not _is_dead(frozen, me, now):
                continue
            try:
                backend.set_trial_user_attr(frozen._trial_id, "result", {
                    "error": "its sweep process ended before the trial did (killed or interrupted); "
                             "its settings were run again"})
                if not backend.set_trial_state_values(frozen._trial_id, state=TrialState.FAIL):
                    continue
            except optuna.exceptions.UpdateFinishedTrialError:
                continue
            enqueue_again(study, frozen)
            recovered.append(frozen.number)
    return recovered


def trials_of(study: optuna.Study, states: Iterable[TrialState] | None = None) -> list[FrozenTrial]:
    return sorted(study.get_trials(deepcopy=False, states=tuple(states) if states else None),
                  key=lambda t: t.number)

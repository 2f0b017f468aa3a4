"""Starting a trial's process: the command line of one run, ``python -m suite ... --events stdout``.

Each trial is a process of its own, so a crash, a NaN or an out-of-memory kill ends that trial only. Its
JSON-line events arrive on its standard output, a line ``stop`` on its standard input ends it gracefully,
and its standard error (the run's human output) goes to a log file.

Two ways to start one, both with the same arguments, the same stdin/stdout protocol and the same exit code:

* ``subprocess`` (the default): a fresh interpreter per trial, as the window starts its runs.
* ``forkserver`` (POSIX): a server process imports torch and Lightning once, and forks a clean child
  per trial, which then runs the same command line (``suite.cli.main``). It saves the seconds each trial
  spends importing, which dominate short trials; set ``RNN_SUITE_TRIAL_LAUNCHER=forkserver``.

On Linux a trial's process is ended (SIGTERM: a graceful stop) when the sweep's process dies, so a killed
sweep leaves no orphans training on.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

import suite

#: the folder holding the ``suite`` package, put on the children's path so they run this same code
SUITE_ROOT = str(Path(suite.__file__).resolve().parent.parent)
#: the variables a trial must not inherit from its sweep (a run folder claimed by a previous run)
DROPPED_ENV = ("RNN_SUITE_RUN_DIR",)

#: run before the command in a subprocess trial on Linux: end with the sweep (a graceful SIGTERM), then
#: become ``python -m suite ...`` itself (exec keeps the process and the setting)
_PDEATH_WRAPPER = ("import ctypes,os,signal,sys\n"
                   "ctypes.CDLL(None).prctl(1,signal.SIGTERM)\n"
                   "if os.getppid()!=int(os.environ.pop('RNN_SUITE_SWEEP_PARENT','0') or 0):sys.exit(143)\n"
                   "os.execv(sys.executable,[sys.executable,*sys.argv[1:]])")


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if SUITE_ROOT not in paths:
        env["PYTHONPATH"] = os.pathsep.join([SUITE_ROOT, *paths])
    return env


#: what the interpreter runs: the suite's command line (tests put a stand-in here)
PROGRAM = ["-m", "suite"]


def command_line(argv: list[str]) -> list[str]:
    """The trial's command as a user would type it."""
    return [sys.executable, *PROGRAM, *argv]


class TrialProcess:
    """A started trial: ``stdout`` yields its lines; ``stop()`` asks it to end gracefully."""

    stdout: IO[str]
    pid: int

    def stop(self) -> None:
        try:
            self._stdin.write("stop\n")
            self._stdin.flush()
        except (OSError, ValueError):  # it has already ended
            pass

    def terminate(self) -> None:
        raise NotImplementedError

    def kill(self) -> None:
        raise NotImplementedError

    def wait(self, timeout: float | None = None) -> int | None:
        raise NotImplementedError

    def close(self) -> None:
        for handle in (getattr(self, "_stdin", None), getattr(self, "stdout", None)):
            try:
                if handle:
                    handle.close()
            except OSError:
                pass


class _Subprocess(TrialProcess):
    def __init__(self, argv: list[str], log: Path):
        env = child_env()
        command = command_line(argv)
        if sys.platform.startswith("linux"):
            env["RNN_SUITE_SWEEP_PARENT"] = str(os.getpid())
            command = [sys.executable, "-c", _PDEATH_WRAPPER, *PROGRAM, *argv]
        with open(log, "ab") as err:
            self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                          env=env, text=True, encoding="utf-8", errors="replace", bufsize=1)
        self.stdout, self._stdin, self.pid = self._proc.stdout, self._proc.stdin, self._proc.pid

    def terminate(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()

    def kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()

    def wait(self, timeout: float | None = None) -> int | None:
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


_server_lock = threading.Lock()
_server_context: Any = None


def _forkserver_context(preload: list[str]) -> Any:
    """The forkserver, started once per process with torch, Lightning and the task imported."""
    global _server_context
    import multiprocessing

    with _server_lock:
        if _server_context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["suite.sweeps.launch", "suite.cli", "suite.training", *preload])
            # the server finds the modules through its environment (Python 3.11 ignores the parent's path)
            saved = os.environ.get("PYTHONPATH")
            os.environ["PYTHONPATH"] = child_env()["PYTHONPATH"]
            try:
                from multiprocessing import forkserver

                forkserver.ensure_running()
            finally:
                if saved is None:
                    os.environ.pop("PYTHONPATH", None)
                else:
                    os.environ["PYTHONPATH"] = saved
            _server_context = context
        return _server_context


def _forked_trial(argv: list[str], env: dict[str, str], cwd: str, stdin: Any, stdout: Any, log: str) -> None:
    """A forked trial: become ``python -m suite ARGV`` with these pipes, and exit with its code."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # the server ends with the sweep; so does the trial
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    os.dup2(stdin.fileno(), 0)
    os.dup2(stdout.fileno(), 1)
    err = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(err, 2)
    os.close(err)
    stdin.close()
    stdout.close()
    sys.stdin = open(0, encoding="utf-8", closefd=False)
    sys.stdout = open(1, "w", encoding="utf-8", buffering=1, closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", buffering=1, closefd=False)
    code = 1
    try:
        from suite.cli import main

        code = main(argv)
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        import atexit

        atexit._run_exitfuncs()
        os._exit(code if isinstance(code, int) else 1)


class _Forked(TrialProcess):
    def __init__(self, argv: list[str], log: Path, preload: list[str]):
        context = _forkserver_context(preload)
        child_in, parent_in = context.Pipe(duplex=False)
        parent_out, child_out = context.Pipe(duplex=False)
        self._proc = context.Process(target=_forked_trial, daemon=False, name="trial",
                                     args=(argv, child_env(), os.getcwd(), child_in, child_out, str(log)))
        with _server_lock:
            self._proc.start()
        child_in.close()
        child_out.close()
        self.stdout = os.fdopen(os.dup(parent_out.fileno()), "r", encoding="utf-8", errors="replace")
        self._stdin = os.fdopen(os.dup(parent_in.fileno()), "w", encoding="utf-8", buffering=1)
        parent_out.close()
        parent_in.close()
        self.pid = self._proc.pid

    def terminate(self) -> None:
        if self._proc.exitcode is None:
            self._proc.terminate()

    def kill(self) -> None:
        if self._proc.exitcode is None:
            self._proc.kill()

    def wait(self, timeout: float | None = None) -> int | None:
        self._proc.join(timeout)
        return self._proc.exitcode


def start_trial(argv: list[str], log: Path, launcher: str = "subprocess",
                preload: list[str] | None = None) -> TrialProcess:
    """Start ``python -m suite ARGV``; its standard error is appended to ``log``."""
    if launcher == "forkserver" and hasattr(os, "fork"):
        return _Forked(argv, log, preload or [])
    return _Subprocess(argv, log)

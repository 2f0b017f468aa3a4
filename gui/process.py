"""A training run as a child process: the headless CLI with ``--events stdout``.

The GUI never trains in its own process, so a crashing run cannot take the window down, and a run
started here is the same run as one started from a shell.
"""

from __future__ import annotations

import json
import os
import sys

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

from .run_status import signal_text

RUN_NICENESS = 5


def cli_command(args: list[str]) -> list[str]:
    """The command the window runs for these arguments, as a user would type it (shown, copyable): the
    installed package's entry, so it works from any folder, as the window's own runs do."""
    return ["python", "-m", "suite", *args]


class RunProcess(QObject):
    """Starts ``main.py ARGS --events stdout`` and turns its output into signals.

    ``event(dict)`` for each JSON line, ``log(str)`` for each line of human output (standard error),
    ``ended(int exit_code, str how)`` once, with ``how`` one of finished, stopped, interrupted, failed, killed
    (by the window), crashed (by a signal; the code is minus its number).
    """

    event = Signal(dict)
    log = Signal(str)
    ended = Signal(int, str)

    def __init__(self, args: list[str], cwd: str | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.args = [*args, "--events", "stdout"]
        self.cwd = cwd
        self.run_dir: str | None = None
        self.error: str | None = None
        self.status: str | None = None
        self.crash: str | None = None  # how a child ended by a signal ended: "crashed (segmentation fault)"
        self._killed = False
        self._partial = {"out": b"", "err": b""}
        self.process = QProcess(self)
        self.process.readyReadStandardOutput.connect(lambda: self._read("out"))
        self.process.readyReadStandardError.connect(lambda: self._read("err"))
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._failed_to_start)
        self.process.started.connect(self._lower_priority)

    def start(self) -> None:
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        self.process.setProcessEnvironment(env)
        if self.cwd:
            self.process.setWorkingDirectory(self.cwd)
        program, *arguments = cli_command(self.args)
        self.process.start(sys.executable, arguments)  # the shown command, with this interpreter

    def running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def _lower_priority(self) -> None:
        """Run training one step nicer than the window, so the window gets the CPU when it needs it.

        Training threads busy on every core otherwise delay the event loop by 35-70 ms at a time;
        the window needs little CPU, so training loses almost nothing. Set while the child is still
        importing, so the torch threads it creates later inherit it (Linux niceness is per thread).
        """
        setpriority = getattr(os, "setpriority", None)  # POSIX only
        if setpriority is not None:
            try:
                setpriority(os.PRIO_PROCESS, self.process.processId(), RUN_NICENESS)
            except OSError:  # the child already ended, or the system refuses: run as is
                pass

    def stop(self) -> None:
        """Graceful: training ends at the next batch; the best checkpoint is tested and kept."""
        if self.running():
            self.process.write(b"stop\n")

    def kill(self) -> None:
        if self.running():
            self._killed = True
            self.process.kill()

    def _read(self, stream: str) -> None:
        data = (self.process.readAllStandardOutput() if stream == "out"
                else self.process.readAllStandardError()).data()
        lines = (self._partial[stream] + data).split(b"\n")
        self._partial[stream] = lines.pop()  # an unfinished line waits for the rest
        for raw in lines:
            self._line(stream, raw.decode("utf-8", "replace").rstrip("\r"))

    def _line(self, stream: str, text: str) -> None:
        if not text.strip():
            return
        if stream == "out":
            try:
                record = json.loads(text)
            except json.JSONDecodeError:
                self.log.emit(text)
                return
            if record.get("event") == "error":
                self.error = record.get("message")
            elif record.get("event") == "started":
                self.run_dir = record.get("run_dir") or self.run_dir
            elif record.get("event") == "finished":
                self.run_dir = record.get("run_dir")
                self.status = record.get("status")
            self.event.emit(record)
        else:
            self.log.emit(text)

    def _finished(self, code: int, exit_status) -> None:
        for stream in ("out", "err"):
            if self._partial[stream]:
                self._line(stream, self._partial[stream].decode("utf-8", "replace"))
                self._partial[stream] = b""
        if self._killed:
            how = "killed"
        elif exit_status == QProcess.ExitStatus.CrashExit:
            # ended by a signal: Qt gives its number as the exit code, which read as "exited with code 11";
            # negative, as subprocess reports a signal
            how, code = "crashed", -code
            self.crash = f"crashed ({signal_text(-code)})"
        elif code == 0:
            how = self.status or "finished"
        elif code in (130, 143):  # SIGINT / SIGTERM: the run saved its last checkpoint and can resume
            how = "interrupted"
        else:
            how = "failed"
        self.ended.emit(code, how)

    def _failed_to_start(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.error = f"could not start {sys.executable}"
            self.ended.emit(-1, "failed")

"""A sweep as a child process: ``python -m suite ... --sweep ... --events stdout``, like a run (gui/process.py).

It starts in a session (and process group) of its own, with every trial process it starts inside that group,
so **Kill** ends the sweep and all its trials at once (SIGKILL to the group); a continued sweep then runs the
killed trials again. **Stop** writes ``stop`` to its standard input: the running trials finish and no new one
starts; a second **Stop** ends the running trials too, at their next batch (see suite/sweeps/sweep.py).
"""

from __future__ import annotations

import os
import signal

from PySide6.QtCore import QObject, QProcess

from .process import RunProcess


class SweepProcess(RunProcess):
    """``ended(code, how)``: how is finished, stopped, killed, interrupted or failed. ``stops``: the stop
    lines sent so far."""

    def __init__(self, args: list[str], cwd: str | None = None, parent: QObject | None = None):
        super().__init__(args, cwd, parent)
        self.stops = 0
        self.group: int | None = None  # the process group of the sweep and its trials, once started
        self.process.started.connect(self._note_group)

    def start(self) -> None:
        flags = getattr(QProcess.UnixProcessFlag, "CreateNewSession", None)
        if flags is not None and os.name == "posix":
            self.process.setUnixProcessParameters(flags)
        super().start()

    def _note_group(self) -> None:
        pid = self.process.processId()
        try:
            if pid and os.getpgid(pid) == pid:  # its own group: never the window's
                self.group = pid
        except (OSError, AttributeError):
            self.group = None

    def stop(self) -> None:
        if self.running():
            self.stops += 1
            self.process.write(b"stop\n")

    def kill(self) -> None:
        """Now: the sweep and every trial, by their process group (the sweep alone where there is none)."""
        if not self.running():
            return
        self._killed = True
        if self.group is not None:
            try:
                os.killpg(self.group, signal.SIGKILL)
                return
            except OSError:
                pass
        self.process.kill()

    def _finished(self, code: int, status) -> None:
        if self.stops and not self._killed and code == 0:
            self.status = "stopped"
        super()._finished(code, status)

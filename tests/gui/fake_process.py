"""A stand-in for gui.process.RunProcess: the window's side of a run, driven by the test's own events.

The window only hears a child through RunProcess's signals, so a test that emits them itself checks the
status bar, the log and the queue in milliseconds, with no training run and no timing luck."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class _QProcessStandIn:
    def waitForFinished(self, _ms: int) -> bool:
        return True


class FakeProcess(QObject):
    event = Signal(dict)
    log = Signal(str)
    ended = Signal(int, str)
    made: list[FakeProcess] = []  # every one the window started, oldest first

    def __init__(self, args, cwd=None, parent=None, events: bool = True):
        super().__init__(parent)
        self.args = [*args, "--events", "stdout"] if events else list(args)
        self.cwd = cwd
        self.run_dir = self.error = self.status = self.crash = None
        self.stops = 0
        self._running = False
        self.process = _QProcessStandIn()
        FakeProcess.made.append(self)

    @classmethod
    def end_all(cls) -> None:
        for proc in cls.made:
            proc._running = False

    def start(self) -> None:
        self._running = True

    def running(self) -> bool:
        return self._running

    def stop(self) -> None:
        self.stops += 1

    def kill(self) -> None:
        self.end(-1, "killed")

    # --- what the test makes the child do ---------------------------------------------------------
    def emit(self, kind: str, **fields) -> None:
        record = {"event": kind, **fields}
        if kind == "error":
            self.error = fields.get("message")
        elif kind in ("started", "finished"):
            self.run_dir = fields.get("run_dir") or self.run_dir
            self.status = fields.get("status", self.status)
        self.event.emit(record)

    def say(self, line: str) -> None:
        self.log.emit(line)

    def end(self, code: int = 0, how: str = "finished") -> None:
        self._running = False
        self.ended.emit(code, how)


def batches(proc: FakeProcess, epoch: int, upto: int, batches_per_epoch: int, t0: float, dt: float,
            start: int = 1) -> None:
    """Training-loss events for batches ``start..upto`` of ``epoch``, ``dt`` seconds apart from ``t0``."""
    for batch in range(start, upto + 1):
        proc.emit("metric", name="train/loss", value=1.0 / batch, step=epoch * batches_per_epoch + batch,
                  epoch=epoch, batch=batch, batches=batches_per_epoch, time=t0 + (batch - start) * dt)

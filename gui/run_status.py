"""What the status bar says about one run, from its events alone (no Qt): progress, ETA, metric, stopping.

Everything here belongs to one run and is made anew for the next, so nothing of a run carries over into
the next one's status. The ETA is measured between the run's own training steps, by the times the child
stamped on them: the seconds a child spends importing and reading data before its first step, and the
time a queued run waited, are no part of it.
"""

from __future__ import annotations

import math
import signal


class RunStatus:
    def __init__(self, monitor: str = "loss", mode: str = "min"):
        self.monitor = monitor  # without "val/"
        self.mode = mode
        self.max_epochs = 0
        self.done = 0.0  # epochs done, fractional within an epoch
        self.step = 0
        self.device = ""
        self.current: float | None = None
        self.best: float | None = None
        self.stopping = False
        self._first: tuple[float, float] | None = None  # (time, epochs done) at the first training step seen
        self._last: tuple[float, float] | None = None

    # --- events -------------------------------------------------------------------------------------
    def started(self, event: dict) -> None:
        self.max_epochs = int(event.get("max_epochs") or 0)
        self.monitor = (event.get("monitor") or f"val/{self.monitor}").removeprefix("val/")
        self.mode = event.get("mode") or self.mode
        world = int(event.get("world_size") or 1)
        self.device = f"{event.get('device') or '?'}" + (f" ({world} processes)" if world > 1 else "")
        self.done = float(event.get("epoch") or 0)  # a resumed run starts part of the way
        self.step = int(event.get("step") or 0)

    def metric(self, event: dict) -> None:
        name, value = event.get("name"), event.get("value")
        if name == f"val/{self.monitor}" and isinstance(value, (int, float)) and math.isfinite(value):
            self.current = float(value)
            better = max if self.mode == "max" else min
            self.best = self.current if self.best is None else better(self.best, self.current)
        if "batch" in event and event.get("batches"):
            self.step = int(event.get("step") or self.step)
            self.done = event.get("epoch", 0) + event["batch"] / max(1, event["batches"])
            if isinstance(event.get("time"), (int, float)):
                self._last = (float(event["time"]), self.done)
                if self._first is None:
                    self._first = self._last

    def epoch_end(self, event: dict) -> None:
        self.done = float(event.get("epoch", 0) + 1)
        self.step = int(event.get("step") or self.step)
        value = (event.get("metrics") or {}).get(f"val/{self.monitor}")
        if value is not None:
            self.metric({"name": f"val/{self.monitor}", "value": value})

    # --- what is shown ------------------------------------------------------------------------------
    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.max_epochs) if self.max_epochs else 0.0

    def eta(self) -> float | None:
        """Seconds left at the rate of the training steps so far; None before there are two."""
        if self._first is None or self._last is None or not self.max_epochs:
            return None
        (t0, d0), (t1, d1) = self._first, self._last
        if t1 <= t0 or d1 <= d0:
            return None
        return max(0.0, (self.max_epochs - d1) * (t1 - t0) / (d1 - d0))

    def line(self) -> str:
        where = [f"epoch {min(int(self.done), self.max_epochs)}/{self.max_epochs}", f"step {self.step}"]
        if self.stopping:
            return f"stopping after this batch… ({', '.join(where)})"
        eta = self.eta()
        if eta is not None:
            where.append(f"ETA {eta:.0f} s")
        return f"training on {self.device}: " + ", ".join(where) if self.device else "training: " + ", ".join(where)

    def metric_line(self) -> str:
        if self.current is None and self.best is None:
            return ""
        now = f"{self.current:.4g}" if self.current is not None else "-"
        best = f"{self.best:.4g}" if self.best is not None else "-"
        return f"val {self.monitor} {now} (best {best})"

    def epochs_text(self) -> str:
        return f"{int(self.done)} of {self.max_epochs} epochs" if self.max_epochs else ""


def signal_text(number: int) -> str:
    """``11`` -> ``segmentation fault``: how a child ended by a signal is said."""
    try:
        name = signal.strsignal(number)
    except (ValueError, OSError):
        name = None
    return (name or f"signal {number}").lower()

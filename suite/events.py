"""The run's event stream: JSON lines in events.jsonl, optionally mirrored to standard output.

Events: ``started``, ``metric`` (step, epoch, name, value), ``epoch_end``, ``checkpoint``,
``stopping``, ``finished`` and ``error``. Each line carries ``event`` and ``time`` (Unix seconds).
Every metric also goes to metrics.csv (long format) so a resumed run keeps its history.

A parent process (the GUI) reads the stdout copy and can stop a run gracefully by writing a line
``stop`` to the child's standard input.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item") and getattr(value, "numel", lambda: 1)() == 1:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/inf; keep it readable rather than invalid
    return value


class EventStream:
    """Writes events to any of: a file, standard output. Only rank zero should own one."""

    def __init__(self, to_stdout: bool = False):
        self.to_stdout = to_stdout
        self._file: TextIO | None = None
        self._metrics: TextIO | None = None
        self._metrics_writer = None
        self._lock = threading.Lock()

    def attach(self, run_dir: Path) -> None:
        """Start writing into the run directory (appending, so a resumed run keeps its history)."""
        self._file = open(run_dir / "events.jsonl", "a", encoding="utf-8", buffering=1)
        metrics_path = run_dir / "metrics.csv"
        new = not metrics_path.exists() or metrics_path.stat().st_size == 0
        self._metrics = open(metrics_path, "a", encoding="utf-8", newline="", buffering=1)
        self._metrics_writer = csv.writer(self._metrics)
        if new:
            self._metrics_writer.writerow(["time", "step", "epoch", "name", "value"])

    def emit(self, event: str, **fields: Any) -> None:
        record = {"event": event, "time": round(time.time(), 3)}
        record.update({k: _jsonable(v) for k, v in fields.items()})
        line = json.dumps(record)
        with self._lock:
            if self._file:
                self._file.write(line + "\n")
            if self.to_stdout:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
            if event == "metric" and self._metrics_writer:
                self._metrics_writer.writerow([record["time"], record.get("step"), record.get("epoch"),
                                               record["name"], record["value"]])

    def close(self) -> None:
        for handle in (self._file, self._metrics):
            if handle:
                handle.close()
        self._file = self._metrics = self._metrics_writer = None


class EventsCallback(L.Callback):
    """Turns Lightning's training progress into events, and measures training throughput."""

    def __init__(self, stream: EventStream, log_every: int):
        self.stream = stream
        self.log_every = log_every
        self.train_seconds = 0.0
        self._epoch_started: float | None = None
        self._paused_at: float | None = None
        self._best_path = ""

    # throughput: wall time of training epochs, validation excluded
    def on_train_epoch_start(self, trainer, pl_module):
        self._epoch_started = time.perf_counter()

    def on_validation_start(self, trainer, pl_module):
        if self._epoch_started is not None and not trainer.sanity_checking:
            self._paused_at = time.perf_counter()

    def on_validation_end(self, trainer, pl_module):
        if self._paused_at is not None and self._epoch_started is not None:
            self._epoch_started += time.perf_counter() - self._paused_at
        self._paused_at = None
        # here, unlike in on_validation_epoch_end, the module has logged this epoch's metrics
        if trainer.sanity_checking or not trainer.is_global_zero or trainer.state.fn != "fit":
            return
        for name, value in sorted(trainer.callback_metrics.items()):
            if name.startswith("val/"):
                self.stream.emit("metric", name=name, value=float(value), step=trainer.global_step,
                                 epoch=trainer.current_epoch)

    def on_train_start(self, trainer, pl_module):
        # not on_fit_start: Lightning restores a resumed run's epoch and step only after that hook
        if trainer.is_global_zero:
            best = trainer.checkpoint_callback  # what "best" means for this run: a viewer needs both
            self.stream.emit("started", epoch=trainer.current_epoch, step=trainer.global_step,
                             max_epochs=trainer.max_epochs, device=str(pl_module.device),
                             world_size=trainer.world_size, monitor=getattr(best, "monitor", None),
                             mode=getattr(best, "mode", "min"))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        step = trainer.global_step
        if trainer.is_global_zero and (step % self.log_every == 0 or step == 1):
            loss = outputs["loss"] if isinstance(outputs, dict) else outputs
            if loss is not None:
                self.stream.emit("metric", name="train/loss", value=float(loss.detach()), step=step,
                                 epoch=trainer.current_epoch,
                                 batches=trainer.num_training_batches, batch=batch_idx + 1)

    def on_train_epoch_end(self, trainer, pl_module):
        if self._epoch_started is not None:
            self.train_seconds += time.perf_counter() - self._epoch_started
            self._epoch_started = None
        if not trainer.is_global_zero:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if "/" in k}
        lrs = [group["lr"] for opt in trainer.optimizers for group in opt.param_groups]
        self.stream.emit("epoch_end", epoch=trainer.current_epoch, step=trainer.global_step,
                         metrics=metrics, lr=lrs[0] if lrs else None)



class EventCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint that reports each checkpoint once it is on disk.

    (Its saves happen in its own epoch-end hooks, which Lightning runs after all other callbacks'.)
    """

    def __init__(self, stream: EventStream, **kwargs):
        super().__init__(**kwargs)
        self.stream = stream
        self._reported: dict[str, float] = {}

    def on_train_epoch_end(self, trainer, pl_module):
        super().on_train_epoch_end(trainer, pl_module)
        self._report(trainer)

    def on_validation_end(self, trainer, pl_module):
        super().on_validation_end(trainer, pl_module)
        self._report(trainer)

    def _report(self, trainer) -> None:
        if not trainer.is_global_zero:
            return
        for kind, path in (("best", self.best_model_path), ("last", self.last_model_path)):
            if not path or not Path(path).exists():
                continue
            stamp = Path(path).stat().st_mtime_ns
            if self._reported.get(path) == stamp:
                continue
            self._reported[path] = stamp
            score = self.best_model_score if kind == "best" else None
            self.stream.emit("checkpoint", kind=kind, path=path, epoch=trainer.current_epoch,
                             step=trainer.global_step, score=float(score) if score is not None else None)


class StdinStop(L.Callback):
    """Stops training gracefully at the next batch when a line ``stop`` arrives on standard input."""

    def __init__(self, stream: EventStream, source: TextIO | None = None):
        self.stream = stream
        self.source = source or sys.stdin
        self.requested = threading.Event()
        self._thread: threading.Thread | None = None

    def _listen(self) -> None:
        for line in self.source:
            if line.strip().lower() == "stop":
                self.requested.set()
                return

    def on_fit_start(self, trainer, pl_module):
        if self._thread is None:
            self._thread = threading.Thread(target=self._listen, name="stdin-stop", daemon=True)
            self._thread.start()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        requested = self.requested.is_set()
        if trainer.world_size > 1:  # only rank zero reads stdin; every rank must stop together
            requested = trainer.strategy.reduce_boolean_decision(requested, all=False)
        if requested and not trainer.should_stop:
            trainer.should_stop = True
            if trainer.is_global_zero:
                self.stream.emit("stopping", reason="stop requested", step=trainer.global_step,
                                 epoch=trainer.current_epoch)

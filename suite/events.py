"""The run's event stream: JSON lines in events.jsonl, optionally mirrored to standard output.

Events: ``started``, ``metric`` (step, epoch, name, value), ``epoch_end``, ``checkpoint``,
``stopping``, ``finished`` and ``error``. Each line carries ``event`` and ``time`` (Unix seconds).
Every metric also goes to metrics.csv (long format) so a resumed run keeps its history.

A parent process (the GUI) reads the stdout copy and can stop a run gracefully by writing a line
``stop`` to the child's standard input.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

from .errors import UserError
from .stream import EventStream  # noqa: F401  (defined apart so that opening a stream needs no Lightning)


class EventsCallback(L.Callback):
    """Turns Lightning's training progress into events, and measures training throughput."""

    def __init__(self, stream: EventStream, log_every: int):
        self.stream = stream
        self.log_every = log_every
        self.train_seconds = 0.0
        self._epoch_started: float | None = None
        self._paused_at: float | None = None
        self._best_path = ""
        self._epoch_lr: float | None = None

    # throughput: wall time of training epochs, validation excluded
    def on_train_epoch_start(self, trainer, pl_module):
        self._epoch_started = time.perf_counter()
        # the rate this epoch trains at: by epoch end, an epoch schedule has already stepped to the next
        self._epoch_lr = next((g["lr"] for opt in trainer.optimizers for g in opt.param_groups), None)

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
            run_dir = str(self.stream.run_dir.resolve()) if self.stream.run_dir else None
            self.stream.emit("started", run_dir=run_dir, epoch=trainer.current_epoch, step=trainer.global_step,
                             max_epochs=trainer.max_epochs, device=str(pl_module.device),
                             world_size=trainer.world_size, monitor=getattr(best, "monitor", None),
                             mode=getattr(best, "mode", "min"))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        step = trainer.global_step
        if trainer.is_global_zero and (step % self.log_every == 0 or step == 1):
            loss = outputs["loss"] if isinstance(outputs, dict) else outputs
            if loss is not None:
                value = float(loss.detach())
                self.stream.emit("metric", name="train/loss", value=value, step=step,
                                 epoch=trainer.current_epoch,
                                 batches=trainer.num_training_batches, batch=batch_idx + 1)
                if not math.isfinite(value):  # once NaN, the weights are too: no later epoch can recover
                    raise UserError(f"training diverged: the loss became {value} at step {step} "
                                    f"(epoch {trainer.current_epoch}); lower --lr, or set --grad-clip")

    def on_train_epoch_end(self, trainer, pl_module):
        if self._epoch_started is not None:
            self.train_seconds += time.perf_counter() - self._epoch_started
            self._epoch_started = None
        if not trainer.is_global_zero:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if "/" in k}
        self.stream.emit("epoch_end", epoch=trainer.current_epoch, step=trainer.global_step,
                         metrics=metrics, lr=self._epoch_lr)



class EventCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint that reports each checkpoint once it is on disk.

    (Its saves happen in its own epoch-end hooks, which Lightning runs after all other callbacks'.)
    """

    def __init__(self, stream: EventStream, **kwargs):
        super().__init__(**kwargs)
        self.stream = stream
        self._reported: dict[str, float] = {}

    def load_state_dict(self, state_dict: dict) -> None:
        """A run copied or moved since its last checkpoint: its best checkpoint is the copy's own, not
        the file at the original's path (Lightning keeps that path when the folder changed)."""
        super().load_state_dict(state_dict)
        if self.best_model_path and self.dirpath and Path(self.best_model_path).parent != Path(self.dirpath):
            self.best_model_path = str(Path(self.dirpath) / Path(self.best_model_path).name)
            self.best_model_score = state_dict.get("best_model_score")  # so a worse epoch cannot replace it

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


class GracefulStop(L.Callback):
    """Stops training at the next batch when asked: a line ``stop`` on standard input (if ``listen``),
    or SIGINT/SIGTERM (see suite.interrupts). ``reason`` says which: ``stop``, ``SIGINT`` or ``SIGTERM``."""

    def __init__(self, stream: EventStream, listen: bool = False, source: TextIO | None = None):
        self.stream = stream
        self.listen = listen
        self.source = source or sys.stdin
        self.requested = threading.Event()
        self.reason: str | None = None
        self._thread: threading.Thread | None = None

    def request(self, reason: str) -> None:
        if not self.requested.is_set():
            self.reason = reason
            self.requested.set()

    @property
    def interrupted(self) -> bool:
        """Stopped by a signal rather than by the user's ``stop``."""
        return self.requested.is_set() and self.reason != "stop"

    def _listen(self) -> None:
        for line in self.source:
            if line.strip().lower() == "stop":
                self.request("stop")
                return

    def on_fit_start(self, trainer, pl_module):
        if self.listen and self._thread is None:
            self._thread = threading.Thread(target=self._listen, name="stdin-stop", daemon=True)
            self._thread.start()

    def on_train_start(self, trainer, pl_module):
        from .interrupts import install_graceful_handlers

        install_graceful_handlers(self.request)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        requested = self.requested.is_set()
        if trainer.world_size > 1:  # a request may reach one rank only; every rank must stop together
            requested = trainer.strategy.reduce_boolean_decision(requested, all=False)
        if requested and not trainer.should_stop:
            trainer.should_stop = True
            self.reason = self.reason or "stop"
            if trainer.is_global_zero:
                why = "stop requested" if self.reason == "stop" else f"{self.reason} received"
                self.stream.emit("stopping", reason=why, step=trainer.global_step, epoch=trainer.current_epoch)

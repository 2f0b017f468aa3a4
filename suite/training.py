"""Builds the Lightning Trainer from a RunConfig and runs fit -> validate/test best -> results.

Loading a trained model back is suite.trained's job.
"""

from __future__ import annotations

import io
import logging
import os
import platform
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.plugins import TorchCheckpointIO
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

from .backbones import count_parameters
from .config import RunConfig
from .errors import UserError
from .atomic import write_bytes_atomic
from .events import EventCheckpoint, EventsCallback, EventStream, GracefulStop
from .insight.diagnostics import TrainingDiagnostics
from .interrupts import Interrupted
from .trained import SelfContained
from .tracking import TrackingCallback, build_loggers, close_loggers
from .runs import Run
from .task import Task, TaskDataModule, TaskModule


def quiet_libraries() -> None:
    """Keep the console for the suite's own output: Lightning's banners and known-harmless warnings off."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning.pytorch.utilities.rank_zero",
                 "lightning.pytorch.accelerators.cuda"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Workers are a deliberate choice (in-memory tensors load fastest in-process on few cores).
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    # A resumed or copied run's folder already holds its checkpoints; EventCheckpoint re-maps the best one.
    warnings.filterwarnings("ignore", message=".*Checkpoint directory .* exists and is not empty.*")
    warnings.filterwarnings("ignore", message=".*The dirpath has changed from.*")
    warnings.filterwarnings("ignore", message=".*Could not infer format.*")
    warnings.filterwarnings("ignore", message=".*The number of training batches.*")
    warnings.filterwarnings("ignore", message=".*`isinstance\\(treespec, LeafSpec\\)` is deprecated.*")
    # torchmetrics objects synchronise themselves across DDP ranks; Lightning cannot see that.
    warnings.filterwarnings("ignore", message=".*when logging on epoch level in distributed setting.*")
    # DDP evaluation pads the last batch with a few repeated samples; the README says so.
    warnings.filterwarnings("ignore", message=".*it is recommended to use `Trainer\\(devices=1, num_nodes=1\\)`.*")


def lightning_devices(text: str) -> int | str | list[int]:
    text = str(text).strip()
    if text == "auto":
        return "auto"
    try:
        if "," in text:
            return [int(p) for p in text.split(",") if p.strip()]
        return int(text)
    except ValueError:
        raise UserError(f"train.devices (--devices): expected a count, a list like 0,1, or auto; got {text!r}") \
            from None


def is_rank_zero_process() -> bool:
    """Before the Trainer exists: true unless this process was started as a DDP worker."""
    return all(os.environ.get(var, "0") == "0" for var in ("RANK", "LOCAL_RANK", "NODE_RANK"))


def build_trainer(cfg: RunConfig, run: Run, stream: EventStream, task: Task, listen_stdin: bool,
                  show_progress: bool) -> tuple[L.Trainer, ModelCheckpoint, EventsCallback]:
    monitor = f"val/{task.monitor}"
    checkpoint = EventCheckpoint(stream, dirpath=run.checkpoints, filename="best", monitor=monitor,
                                 mode=task.monitor_mode, save_top_k=1, save_last=True,
                                 auto_insert_metric_name=False, enable_version_counter=False)
    events = EventsCallback(stream, cfg.train.log_every)
    callbacks: list[L.Callback] = [events, checkpoint]
    if cfg.train.patience > 0:
        callbacks.append(EarlyStopping(monitor=monitor, mode=task.monitor_mode, patience=cfg.train.patience))
    callbacks.append(GracefulStop(stream, listen=listen_stdin))
    callbacks.append(SelfContained(task.name, cfg))
    if cfg.train.diagnostics:  # first: it must see a non-finite loss before EventsCallback ends the run on it
        callbacks.insert(0, TrainingDiagnostics(cfg.train.diagnostics_every, run.path, grad_clip=cfg.train.grad_clip,
                                                stream=stream, precision=cfg.train.precision))
    # --logger: standard trackers beside events.jsonl. Not under --fast-dev-run: Lightning swaps the
    # loggers for a dummy there, so they would make empty logs/ folders and runs that never end
    loggers = [] if cfg.train.fast_dev_run else build_loggers(cfg, run)
    if loggers:
        callbacks.append(TrackingCallback(cfg, run))
    trainer = L.Trainer(
        max_epochs=cfg.train.max_epochs,
        accelerator=cfg.train.accelerator,
        devices=lightning_devices(cfg.train.devices),
        num_nodes=cfg.train.num_nodes,
        strategy=cfg.train.strategy,
        precision=cfg.train.precision,
        gradient_clip_val=cfg.train.grad_clip or None,
        callbacks=callbacks,
        plugins=[AtomicCheckpointIO()],
        use_distributed_sampler=False,  # the suite's loaders shard themselves (suite.task_modules)
        # metrics.csv and events.jsonl are written by EventsCallback, resume-safe; --logger adds others
        logger=loggers or False,
        default_root_dir=run.path,
        enable_progress_bar=show_progress,
        enable_model_summary=False,
        log_every_n_steps=cfg.train.log_every,
        num_sanity_val_steps=0,
        # one batch of each loop; Lightning then saves no checkpoint itself (fit_and_test saves last.ckpt)
        fast_dev_run=cfg.train.fast_dev_run,
    )
    return trainer, checkpoint, events


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written beside their target and renamed into place (Lightning's own writer stages
    them in the system's temporary folder, and a move across file systems is a copy: a full disk left
    a truncated last.ckpt that could never resume)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(target, buffer.getvalue())


@dataclass
class FitSession:
    """Everything built for a fit before anything is written: a bad setting fails here."""

    task: Task
    cfg: RunConfig
    run: Run
    datamodule: TaskDataModule
    model: TaskModule
    trainer: L.Trainer
    checkpoint: ModelCheckpoint
    events: EventsCallback


def prepare_fit(task: Task, cfg: RunConfig, run: Run, stream: EventStream, datamodule: TaskDataModule,
                *, listen_stdin: bool = False, show_progress: bool = False) -> FitSession:
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    L.seed_everything(cfg.train.seed, workers=True, verbose=False)
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    model = task.model(cfg, datamodule)
    try:
        trainer, checkpoint, events = build_trainer(cfg, run, stream, task, listen_stdin, show_progress)
    except (MisconfigurationException, ValueError, RuntimeError) as exc:
        raise UserError(f"train settings: {exc}") from None
    return FitSession(task, cfg, run, datamodule, model, trainer, checkpoint, events)


def train_in_process(task: Task, cfg: RunConfig, datamodule: TaskDataModule, run_dir: str | Path,
                     name: str | None = None) -> dict[str, Any]:
    """One run fitted and tested in this process, as ``main.py --task`` would (benchmarks use it).

    ``datamodule`` must be set up already, so a caller can read its data before training."""
    run = Run.create(task.name, name or task.slug(cfg), run_dir)
    stream = EventStream()
    stream.attach(run.path)
    try:
        return fit_and_test(prepare_fit(task, cfg, run, stream, datamodule))
    finally:
        stream.close()
        run.release()


def fit_and_test(session: FitSession, *, resume: bool = False) -> dict[str, Any] | None:
    """Train, then validate and test the best checkpoint (see :func:`_fit_and_test`); then close the
    --logger runs with how the run ended."""
    status = "failed"
    try:
        results = _fit_and_test(session, resume=resume)
        status = (results or {}).get("status", "finished")
        return results
    except Interrupted:
        status = "interrupted"
        raise
    finally:
        close_loggers(session.trainer, status)


def _fit_and_test(session: FitSession, *, resume: bool = False) -> dict[str, Any] | None:
    """Train, then validate and test the best checkpoint; write outputs and results.json.

    Returns the results on rank zero (None on other ranks).
    """
    run, datamodule, model = session.run, session.datamodule, session.model
    trainer, checkpoint = session.trainer, session.checkpoint
    ckpt_path = str(run.last_checkpoint) if resume and run.last_checkpoint.exists() else None
    if ckpt_path:
        check_resumable(session)
    stop = next(cb for cb in trainer.callbacks if isinstance(cb, GracefulStop))
    started = time.perf_counter()
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    except SystemExit:  # Lightning's exit after a KeyboardInterrupt it caught (a signal before training)
        if trainer.interrupted:
            raise Interrupted(2) from None
        raise
    fit_seconds = time.perf_counter() - started
    if trainer.interrupted:
        raise Interrupted(2)

    if stop.interrupted:  # SIGINT or SIGTERM: keep what was learnt and say so, quickly (a scheduler waits)
        trainer.save_checkpoint(run.last_checkpoint, weights_only=False)
        if not trainer.is_global_zero:
            return None
        return _write_results(session, "interrupted", val=_validated_so_far(trainer), test={},
                              fit_seconds=fit_seconds, best=checkpoint.best_model_path or str(run.last_checkpoint),
                              interrupted_by=stop.reason)
    stopped = stop.requested.is_set()

    best = checkpoint.best_model_path
    # stopped before the first validation, or --fast-dev-run (Lightning's checkpointing is off there):
    # keep what was learned, so validation, test and --checkpoint have a file to load
    if not best:
        best = str(run.last_checkpoint)
        trainer.save_checkpoint(best, weights_only=False)
    # the best checkpoint's validation is for results.json: in the loggers it would add a point, at the
    # last step, to the per-epoch val/* curves
    loggers, trainer.loggers = trainer.loggers, []
    try:
        val = trainer.validate(model, datamodule=datamodule, ckpt_path=best, verbose=False, weights_only=True)
    finally:
        trainer.loggers = loggers
    test = trainer.test(model, datamodule=datamodule, ckpt_path=best, verbose=False, weights_only=True)
    if not trainer.is_global_zero:
        return None

    return _write_results(session, "stopped" if stopped else "finished", val=strip_stage(val[0], "val"),
                          test=strip_stage(test[0], "test"), fit_seconds=fit_seconds, best=best)


def _validated_so_far(trainer: L.Trainer) -> dict[str, float]:
    return {k[len("val/"):]: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}


def _write_results(session: FitSession, status: str, *, val: dict[str, float], test: dict[str, float],
                   fit_seconds: float, best: str, interrupted_by: str | None = None) -> dict[str, Any]:
    task, cfg, run, datamodule, model = session.task, session.cfg, session.run, session.datamodule, session.model
    trainer, events = session.trainer, session.events
    finished = status != "interrupted"
    baseline = task.baseline(datamodule) if finished else None
    outputs = task.write_outputs(run.path, model, datamodule) if finished else []
    report = task.report(model, datamodule) if finished else None
    samples = model.samples_seen * trainer.world_size
    results = {
        "task": task.name,
        "status": status,
        "preset": cfg.preset,
        "config": cfg.to_dict(),
        "monitor": task.monitor,
        "metrics": {"val": val, "test": test},
        "test_split": datamodule.test_split,
        "baseline": baseline.to_dict() if baseline else None,
        "report": report,
        "data": datamodule.sizes(),
        "epochs_completed": trainer.current_epoch,
        "global_steps": trainer.global_step,
        "fit_seconds": round(fit_seconds, 3),
        "train_seconds": round(events.train_seconds, 3),
        "train_samples_per_second": round(samples / events.train_seconds, 1) if events.train_seconds else None,
        "parameters": count_parameters(model),
        # inside the run folder, so a copied or moved run uses its own checkpoints
        "best_checkpoint": run.relative(best),
        "last_checkpoint": run.relative(run.last_checkpoint) if run.last_checkpoint.exists() else None,
        "outputs": [run.relative(p) for p in outputs],
        "device": str(trainer.strategy.root_device),
        "world_size": trainer.world_size,
        "versions": {"torch": torch.__version__, "lightning": L.__version__, "python": platform.python_version()},
    }
    diagnostics = next((cb for cb in trainer.callbacks if isinstance(cb, TrainingDiagnostics)), None)
    if diagnostics is not None and trainer.is_global_zero:
        diagnostics.finish(results["baseline"])
        results["diagnostics"] = diagnostics.summary()
    if interrupted_by:
        results["interrupted_by"] = interrupted_by
    if cfg.train.fast_dev_run:  # one batch each: the scores prove the run works, they measure nothing
        results["fast_dev_run"] = True
    run.write_results(results)
    return results


def strip_stage(metrics: dict[str, Any], stage: str) -> dict[str, float]:
    prefix = f"{stage}/"
    return {k[len(prefix):]: float(v) for k, v in metrics.items() if k.startswith(prefix)}


def check_resumable(session: FitSession) -> None:
    """Before Lightning restores last.ckpt: a damaged file or one that does not fit is one line, not a
    traceback from deep inside ``fit``."""
    from .trained import load_checkpoint, load_weights

    path = session.run.last_checkpoint
    ckpt = load_checkpoint(path)
    if "loops" not in ckpt or "epoch" not in ckpt:
        raise UserError(f"{path}: not a checkpoint this product wrote, or damaged (no training state to resume)")
    load_weights(session.model, ckpt, path, f"the settings in {session.run.config_path}")

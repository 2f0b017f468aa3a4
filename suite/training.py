"""Builds the Lightning Trainer from a RunConfig and runs fit -> validate/test best -> results.

Also loads a trained run back (checkpoints are read with ``weights_only=True``) for predictions
and evaluation on other data.
"""

from __future__ import annotations

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
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

from .backbones import count_parameters
from .config import RunConfig
from .errors import UserError
from .events import EventCheckpoint, EventsCallback, EventStream, StdinStop
from .runs import Run
from .task import Task, TaskDataModule, TaskModule


def quiet_libraries() -> None:
    """Keep the console for the suite's own output: Lightning's banners and known-harmless warnings off."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning.pytorch.utilities.rank_zero",
                 "lightning.pytorch.accelerators.cuda"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Workers are a deliberate choice (in-memory tensors load fastest in-process on few cores).
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
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
    if listen_stdin:
        callbacks.append(StdinStop(stream))
    trainer = L.Trainer(
        max_epochs=cfg.train.max_epochs,
        accelerator=cfg.train.accelerator,
        devices=lightning_devices(cfg.train.devices),
        num_nodes=cfg.train.num_nodes,
        strategy=cfg.train.strategy,
        precision=cfg.train.precision,
        gradient_clip_val=cfg.train.grad_clip or None,
        callbacks=callbacks,
        logger=False,  # metrics.csv and events.jsonl are written by EventsCallback, resume-safe
        default_root_dir=run.path,
        enable_progress_bar=show_progress,
        enable_model_summary=False,
        log_every_n_steps=cfg.train.log_every,
        num_sanity_val_steps=0,
    )
    return trainer, checkpoint, events


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


def fit_and_test(session: FitSession, *, resume: bool = False) -> dict[str, Any] | None:
    """Train, then validate and test the best checkpoint; write outputs and results.json.

    Returns the results on rank zero (None on other ranks).
    """
    task, cfg, run, datamodule, model = session.task, session.cfg, session.run, session.datamodule, session.model
    trainer, checkpoint, events = session.trainer, session.checkpoint, session.events
    ckpt_path = str(run.last_checkpoint) if resume and run.last_checkpoint.exists() else None
    started = time.perf_counter()
    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    fit_seconds = time.perf_counter() - started
    if trainer.interrupted:
        raise KeyboardInterrupt
    stopped = any(isinstance(cb, StdinStop) and cb.requested.is_set() for cb in trainer.callbacks)

    best = checkpoint.best_model_path
    if not best:  # stopped before the first validation: keep what was learned
        best = str(run.last_checkpoint)
        trainer.save_checkpoint(best, weights_only=False)
    val = trainer.validate(model, datamodule=datamodule, ckpt_path=best, verbose=False, weights_only=True)
    test = trainer.test(model, datamodule=datamodule, ckpt_path=best, verbose=False, weights_only=True)
    if not trainer.is_global_zero:
        return None

    baseline = task.baseline(datamodule)
    outputs = task.write_outputs(run.path, model, datamodule)
    report = task.report(model, datamodule)
    samples = model.samples_seen * trainer.world_size
    results = {
        "task": task.name,
        "status": "stopped" if stopped else "finished",
        "preset": cfg.preset,
        "config": cfg.to_dict(),
        "monitor": task.monitor,
        "metrics": {"val": strip_stage(val[0], "val"), "test": strip_stage(test[0], "test")},
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
        "best_checkpoint": best,
        "last_checkpoint": str(run.last_checkpoint) if run.last_checkpoint.exists() else None,
        "outputs": outputs,
        "device": str(trainer.strategy.root_device),
        "world_size": trainer.world_size,
        "versions": {"torch": torch.__version__, "lightning": L.__version__, "python": platform.python_version()},
    }
    run.write_results(results)
    return results


def strip_stage(metrics: dict[str, Any], stage: str) -> dict[str, float]:
    prefix = f"{stage}/"
    return {k[len(prefix):]: float(v) for k, v in metrics.items() if k.startswith(prefix)}


@dataclass
class Trained:
    """A finished run loaded back: its task, config, data state and best weights."""

    run: Run
    task: Task
    cfg: RunConfig
    datamodule: TaskDataModule
    model: TaskModule
    checkpoint: Path


def load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise UserError(f"{path}: checkpoint not found") from None
    except Exception as exc:
        raise UserError(f"{path}: not a loadable checkpoint ({type(exc).__name__}: {exc})") from None


def load_trained(task: Task, cfg: RunConfig, run: Run) -> Trained:
    results = run.results() or {}
    path = Path(results.get("best_checkpoint") or run.best_checkpoint)
    if not path.exists():
        path = run.last_checkpoint
    if not path.exists():
        raise UserError(f"{run.path}: no checkpoint yet (the run has not finished an epoch)")
    ckpt = load_checkpoint(path)
    datamodule = task.datamodule(cfg)
    state = ckpt.get(type(datamodule).__qualname__)
    if state:
        datamodule.load_state_dict(state)
    model = task.model(cfg, datamodule)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return Trained(run, task, cfg, datamodule, model, path)


def evaluate(trained: Trained, data: str) -> dict[str, Any]:
    """Metrics of a trained run on another dataset of the same kind, beside the task's baseline."""
    dm = trained.task.evaluation_datamodule(trained.cfg, trained.datamodule, data)
    dm.setup("test")
    trainer = L.Trainer(accelerator="auto", devices=1, logger=False, enable_progress_bar=False,
                        enable_model_summary=False)
    metrics = trainer.test(trained.model, datamodule=dm, verbose=False)
    baseline = trained.task.baseline(dm)
    return {"run": str(trained.run.path), "data": data, "checkpoint": str(trained.checkpoint),
            "examples": len(dm.test_set), "metrics": strip_stage(metrics[0], "test"),
            "baseline": baseline.to_dict() if baseline else None,
            "report": trained.task.report(trained.model, dm)}

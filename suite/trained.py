"""A trained model loaded back, from its run folder or from a checkpoint file alone.

Every checkpoint the suite writes carries, under the stable key ``rnn_suite``, the task's name, the
run's resolved configuration and the datamodule's data state (vocabulary, scaler, tag set, ...), so a
``best.ckpt`` copied on its own to another machine still predicts and evaluates. Checkpoints are read
with ``torch.load(weights_only=True)``: they hold only tensors and plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch

from .config import RunConfig, build_run_config
from .data.state import StateError
from .errors import UserError
from .runs import Run
from .task import Task, TaskDataModule, TaskModule

#: the checkpoint key of what makes a checkpoint self-contained; its ``format`` says how to read it
STAMP_KEY = "rnn_suite"
STAMP_FORMAT = 1


class SelfContained(L.Callback):
    """Puts the task, the configuration and the data state into every checkpoint, under STAMP_KEY.

    Lightning files the data state under the datamodule's class name, so renaming a class would
    orphan every checkpoint; it is moved under the stable key instead, and restored from there."""

    def __init__(self, task_name: str, cfg: RunConfig):
        self.task_name = task_name
        self.cfg = cfg

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        datamodule = trainer.datamodule
        state = checkpoint.pop(type(datamodule).__qualname__, None) if datamodule is not None else None
        checkpoint[STAMP_KEY] = {"format": STAMP_FORMAT, "task": self.task_name, "config": self.cfg.to_dict(),
                                 "data_state": state}

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        state = (checkpoint.get(STAMP_KEY) or {}).get("data_state")
        if state and trainer.datamodule is not None:  # a resumed run keeps the state it trained with
            trainer.datamodule.load_state_dict(state)


@dataclass
class Trained:
    """A trained model loaded back: its task, config, data state and best weights."""

    task: Task
    cfg: RunConfig
    datamodule: TaskDataModule
    model: TaskModule
    checkpoint: Path
    run: Run | None = None  # None when loaded from a checkpoint file alone


def for_inference(saved: dict[str, Any]) -> dict[str, Any]:
    """A trained run's settings for prediction: its experiment loggers are not needed (nor installed,
    perhaps, on the machine that predicts)."""
    train = dict(saved.get("train") or {})
    train.pop("logger", None)
    train.pop("mlflow_uri", None)
    return {**saved, "train": train}


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint's contents, read with ``weights_only=True``; anything else is one line."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise UserError(f"{path}: checkpoint not found") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a checkpoint") from None
    except Exception:  # torch's message advises unsafe loading; a user is better told what it is
        raise UserError(f"{path}: not a checkpoint this product wrote, or damaged") from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
        raise UserError(f"{path}: not a checkpoint this product wrote, or damaged (no model weights in it)")
    return ckpt


def stamp_of(ckpt: dict[str, Any], path: Path) -> dict[str, Any]:
    """The checkpoint's task and configuration, for loading it without its run folder."""
    stamp = ckpt.get(STAMP_KEY)
    if stamp is None:
        raise UserError(f"{path}: written before checkpoints carried their settings; give its run folder "
                        f"(--checkpoint RUN_DIR) instead, or retrain")
    if not isinstance(stamp, dict) or not isinstance(stamp.get("config"), dict) or not stamp.get("task"):
        raise UserError(f"{path}: not a checkpoint this product wrote, or damaged (its settings are unreadable)")
    if stamp.get("format", 0) > STAMP_FORMAT:
        raise UserError(f"{path}: written by a newer version of this product (checkpoint format "
                        f"{stamp['format']}); upgrade to load it")
    return stamp


def load_weights(model: TaskModule, ckpt: dict[str, Any], path: Path, settings: str) -> None:
    try:
        model.load_state_dict(ckpt["state_dict"])
    except (RuntimeError, KeyError, TypeError, ValueError):
        raise UserError(f"{path}: its weights do not fit {settings} (a checkpoint of another run or task, "
                        f"or config.yaml edited since training)") from None


def _data_state(ckpt: dict[str, Any], datamodule: TaskDataModule) -> Any:
    stamp = ckpt.get(STAMP_KEY)
    if isinstance(stamp, dict) and stamp.get("data_state"):
        return stamp["data_state"]
    return ckpt.get(type(datamodule).__qualname__)  # written before the stable key


def build_trained(task: Task, cfg: RunConfig, ckpt: dict[str, Any], path: Path, settings: str,
                  run: Run | None = None) -> Trained:
    datamodule = task.datamodule(cfg)
    state = _data_state(ckpt, datamodule)
    if state:
        try:
            datamodule.load_state_dict(state)
        except StateError as exc:
            raise UserError(f"{path}: its {task.name} data state is unreadable ({exc}); not a checkpoint of "
                            f"this run, or damaged") from None
    elif datamodule.State is not None:
        raise UserError(f"{path}: holds no {task.name} data state (vocabulary, scaler, ...); not a checkpoint "
                        f"of this run, or damaged")
    model = task.model(cfg, datamodule)
    load_weights(model, ckpt, path, settings)
    model.eval()
    return Trained(task, cfg, datamodule, model, path, run)


def run_checkpoint(run: Run) -> Path:
    """The run's best checkpoint, else its last one."""
    results = run.results() or {}
    path = run.checkpoint_file(results.get("best_checkpoint")) or run.best_checkpoint
    if not path.exists():
        path = run.last_checkpoint
    if not path.exists():
        raise UserError(f"{run.path}: no checkpoint yet (the run has not finished an epoch)")
    return path


def load_trained(task: Task, cfg: RunConfig, run: Run) -> Trained:
    path = run_checkpoint(run)
    return build_trained(task, cfg, load_checkpoint(path), path, f"the settings in {run.config_path}", run)


def load_checkpoint_file(path: Path, explicit: dict[str, Any] | None = None, data_root: str | None = None,
                         ckpt: dict[str, Any] | None = None) -> Trained:
    """A checkpoint file alone: its task and configuration come from inside it. ``ckpt``: its contents,
    when the caller has read them already (a large checkpoint is read once)."""
    from .registry import get_task

    ckpt = load_checkpoint(path) if ckpt is None else ckpt
    stamp = stamp_of(ckpt, path)
    task = get_task(stamp["task"])
    cfg = build_run_config(task, file_data=for_inference(stamp["config"]), file_name=f"{path} (its settings)",
                           explicit=explicit, data_root=data_root)
    return build_trained(task, cfg, ckpt, path, "the settings stored in it")


def evaluate(trained: Trained, data: str) -> dict[str, Any]:
    """Metrics of a trained model on another dataset of the same kind, beside the task's baseline."""
    from .training import strip_stage

    dm = type(trained.datamodule)(trained.cfg, trained.datamodule.state, test_data=data)
    dm.setup("test")
    trainer = L.Trainer(accelerator="auto", devices=1, logger=False, enable_progress_bar=False,
                        enable_model_summary=False)
    metrics = trainer.test(trained.model, datamodule=dm, verbose=False)
    baseline = trained.task.baseline(dm)
    return {"run": str(trained.run.path) if trained.run else None, "data": data,
            "checkpoint": str(trained.checkpoint), "split": dm.test_split, "examples": len(dm.test_set),
            "metrics": strip_stage(metrics[0], "test"), "baseline": baseline.to_dict() if baseline else None,
            "report": trained.task.report(trained.model, dm)}

"""The Task contract every plugin fulfils, and base classes that make a plugin short.

A task is found by name through the registry. It declares its own ``Config`` dataclass (CLI flags
and GUI forms are generated from it), builds a LightningDataModule and a LightningModule over the
shared backbone, reports a naive baseline beside its metrics, and answers interactive predictions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from .config import RunConfig, TrainConfig

INPUT_KINDS = ("series", "text", "tokens", "text_pair", "music")
OUTPUT_KINDS = ("series", "label", "tags", "text", "music")


@dataclass
class Baseline:
    """A naive reference: its name and metrics per split, plus any further baselines."""

    name: str
    val: dict[str, float]
    test: dict[str, float]
    others: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "val": self.val, "test": self.test, "others": self.others}


class Task:
    """Subclass this, set the class attributes, and implement ``datamodule`` and ``model``."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Config: ClassVar[type] = object
    input_kind: ClassVar[str] = "series"
    output_kind: ClassVar[str] = "series"
    #: the validation metric that picks the best checkpoint and drives early stopping
    monitor: ClassVar[str] = "loss"
    monitor_mode: ClassVar[str] = "min"
    #: dotted overrides (``"backbone.cell": "gru"``) applied over the dataclass defaults
    defaults: ClassVar[dict[str, Any]] = {}
    #: named sets of dotted overrides, applied after ``defaults``
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    preset_help: ClassVar[dict[str, str]] = {}
    #: a setting the user gives -> the preset settings it replaces (a user's own word vectors replace
    #: the ones a preset would learn), so a preset's choice never conflicts with the user's
    preset_yields: ClassVar[dict[str, tuple[str, ...]]] = {}

    def default_preset(self, given: dict[str, Any]) -> str | None:
        """The preset to use when none is named; ``given`` holds the explicitly set dotted keys."""
        return None

    def datamodule(self, cfg: RunConfig) -> TaskDataModule:
        raise NotImplementedError(f"task {self.name!r} must implement datamodule()")

    def model(self, cfg: RunConfig, datamodule: TaskDataModule) -> TaskModule:
        raise NotImplementedError(f"task {self.name!r} must implement model()")

    def baseline(self, datamodule: TaskDataModule) -> Baseline | None:
        return None

    def evaluation_datamodule(self, cfg: RunConfig, trained: TaskDataModule, data: str) -> TaskDataModule:
        """A datamodule whose test split is ``data``, read with the trained run's data state."""
        raise NotImplementedError(f"task {self.name!r} does not support --evaluate")

    def predict(self, model: TaskModule, raw_input: str) -> Any:
        """Answer one interactive request; the result must be JSON-serialisable."""
        raise NotImplementedError(f"task {self.name!r} does not support --predict")

    def example_input(self, cfg: RunConfig) -> str | None:
        """A raw input that ``predict`` accepts for this run (the GUI's starting point), if any."""
        return None

    def render_prediction(self, output: Any) -> str:
        return json.dumps(output, indent=2)

    def save_prediction(self, output: Any, path: Path) -> list[str] | None:
        """Write ``output`` to ``path``; a task that writes other or several files returns their paths."""
        path.write_text(json.dumps(output, indent=2) + "\n", encoding="utf-8")

    def write_outputs(self, run_dir: Path, model: TaskModule, datamodule: TaskDataModule) -> list[str]:
        """Write the task's predictions (and plots) into the run; return the file names."""
        return []

    def report(self, model: TaskModule, datamodule: TaskDataModule) -> dict[str, Any] | None:
        """Structured results beyond the scalar metrics (a confusion matrix, a per-tag report), taken
        after testing; stored under ``report`` in results.json and in --evaluate's output."""
        return None

    def slug(self, cfg: RunConfig) -> str:
        """A short name for the run directory."""
        parts = [cfg.preset] if cfg.preset else []
        parts.append(f"{cfg.backbone.cell}{cfg.backbone.hidden}")
        return "-".join(parts)


class TaskModule(L.LightningModule):
    """A LightningModule with the suite's optimisation and logging conventions.

    Subclasses implement ``step(batch, stage) -> loss`` and log their metrics as ``<stage>/<name>``;
    the base class provides the train/val/test steps, the optimiser and schedule from the run's
    TrainConfig, and counts training samples for the throughput figure.
    """

    def __init__(self, cfg: RunConfig):
        super().__init__()
        self.cfg = cfg
        self.samples_seen = 0

    def step(self, batch: Any, stage: str) -> torch.Tensor:
        raise NotImplementedError

    @staticmethod
    def batch_size_of(batch: Any) -> int:
        first = batch[0] if isinstance(batch, (tuple, list)) else batch
        return int(first.shape[0])

    def training_step(self, batch, batch_idx):
        loss = self.step(batch, "train")
        self.samples_seen += self.batch_size_of(batch)
        return loss

    def validation_step(self, batch, batch_idx):
        self.step(batch, "val")

    def test_step(self, batch, batch_idx):
        self.step(batch, "test")

    def configure_optimizers(self):
        from .optim import build_optimization

        best = self.trainer.checkpoint_callback  # the task's monitored validation metric
        return build_optimization(self.parameters(), self.cfg.train, best.monitor, best.mode)


class TaskDataModule(L.LightningDataModule):
    """A LightningDataModule holding train/val/test datasets built once in ``setup``.

    Subclasses implement ``load()`` to fill ``self.train_set``, ``self.val_set`` and
    ``self.test_set`` (test may be None: validation then stands in, and ``test_split`` says so).
    """

    collate_fn = None

    def __init__(self, cfg: RunConfig):
        super().__init__()
        self.cfg = cfg
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None
        self.test_split = "test"
        self._loaded = False

    def load(self) -> None:
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if not self._loaded:  # Lightning calls setup per stage; data is read once
            self.load()
            self._loaded = True
            if self.test_set is None:
                self.test_set = self.val_set
                self.test_split = "validation (the data has no separate test split)"

    def sizes(self) -> dict[str, int]:
        return {name: len(ds) for name, ds in
                (("train", self.train_set), ("val", self.val_set), ("test", self.test_set)) if ds is not None}

    def loader(self, dataset: Dataset, shuffle: bool = False, train: TrainConfig | None = None) -> DataLoader:
        train = train or self.cfg.train
        workers = train.num_workers
        return DataLoader(dataset, batch_size=train.batch_size_for(shuffle), shuffle=shuffle, num_workers=workers,
                          persistent_workers=workers > 0, collate_fn=self.collate_fn,
                          pin_memory=torch.cuda.is_available())

    def train_dataloader(self):
        return self.loader(self.train_set, shuffle=True)

    def val_dataloader(self):
        return self.loader(self.val_set)

    def test_dataloader(self):
        return self.loader(self.test_set)

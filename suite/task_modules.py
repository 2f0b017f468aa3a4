"""The Lightning base classes of a task: ``TaskModule`` and ``TaskDataModule``.

Kept apart from the contract in :mod:`suite.task` because importing Lightning takes seconds: the
commands that only read settings (``--help``, ``--list-tasks``, ``--print-config``) load the contract
alone. ``from suite.task import TaskModule`` still works; it loads this module on first use.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from .config import RunConfig, TrainConfig
from .data.text import distributed_sampler


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
        sampler = distributed_sampler(dataset, shuffle, train.seed)
        return DataLoader(dataset, batch_size=train.batch_size_for(shuffle), shuffle=shuffle and sampler is None,
                          sampler=sampler, num_workers=workers, persistent_workers=workers > 0,
                          collate_fn=self.collate_fn, pin_memory=torch.cuda.is_available())

    def train_dataloader(self):
        return self.loader(self.train_set, shuffle=True)

    def val_dataloader(self):
        return self.loader(self.val_set)

    def test_dataloader(self):
        return self.loader(self.test_set)

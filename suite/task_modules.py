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
from .data.state import DataState
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

    def loss_on(self, batch: Any) -> torch.Tensor:
        """The training loss of ``batch`` as ``training_step`` computes it, logging nothing: for the
        diagnostics' extra pass over a sampled batch (suite.insight.probe), which must leave the run's
        metrics as they were."""
        self._quiet = True
        try:
            return self.step(batch, "train")
        finally:
            self._quiet = False

    def log(self, *args, **kwargs) -> None:
        if not getattr(self, "_quiet", False):
            super().log(*args, **kwargs)

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
    """A LightningDataModule holding train/val/test datasets built once in ``setup``; one constructor for
    every task.

    ``TaskDataModule(cfg)`` trains: ``load()`` reads the data, fits ``self.state`` (an instance of the
    task's ``State`` dataclass) on the training split and fills ``self.train_set``, ``self.val_set`` and
    ``self.test_set`` (test may be None: validation then stands in, and ``test_split`` says so).
    ``TaskDataModule(cfg, state)`` reads new data as a trained run read its own (prediction), and
    ``TaskDataModule(cfg, state, test_data=DATA)`` scores ``DATA`` as a test set alone: ``load_test()``
    fills ``self.test_set`` from it with the given state, and no training data is read.
    """

    collate_fn = None
    #: the task's typed data state; None for a task whose data teaches its model nothing to keep
    State: type[DataState] | None = None

    def __init__(self, cfg: RunConfig, state: DataState | None = None, test_data: str | None = None):
        super().__init__()
        if test_data is not None and state is None:
            raise ValueError("a test set alone is read with a trained run's data state")
        self.cfg = cfg
        self.state = state
        self.test_data = test_data
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None
        self.test_split = "test"
        self._loaded = False

    def load(self) -> None:
        raise NotImplementedError

    def load_test(self, data: str) -> None:
        """Fill ``self.test_set`` from ``data`` alone (a test file, or a folder's test split), read with
        ``self.state``; ``test_split`` may say which file or split of ``data`` that was."""
        raise NotImplementedError(f"{type(self).__name__} cannot read a test set alone")

    def setup(self, stage: str | None = None) -> None:
        if self._loaded:  # Lightning calls setup per stage; data is read once
            return
        if self.test_data is not None:
            self.load_test(self.test_data)
            self.train_set, self.val_set = None, self.test_set
        else:
            self.load()
        self._loaded = True
        if self.test_set is None:
            self.test_set = self.val_set
            self.test_split = "validation (the data has no separate test split)"

    # --- the data state in checkpoints (Lightning's hooks; the engine files it under a stable key) ----
    def state_dict(self) -> dict[str, Any]:
        return self.state.to_dict() if self.state is not None else {}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        if self.State is not None:
            self.state = self.State.from_dict(saved)

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

"""Reading any supported source into train/valid/test rolls, and batching them for the network."""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from suite.config import RunConfig
from suite.data.paths import FOLDER, MISSING, path_kind
from suite.data.state import DataState
from suite.errors import DataError
from suite.task import TaskDataModule

from .config import BACH, STEPS
from .encoding import START, common_key_shift, random_shift, roll_to_events, transpose
from .rolls import KEYS, Collection, read_json_rolls, read_mat_rolls
from .scores import SCORE_SUFFIXES, read_music21_source


def read_collection(opts, evaluate: bool = False) -> Collection:
    """The pieces of ``opts.data``, whatever its kind, or a DataError naming it.

    ``evaluate``: the data is a test set, so a roll file needs no training split and a folder or score
    file is not split (every piece in it is scored)."""
    source = opts.data
    path = Path(source)
    kind = BACH if source == BACH else path_kind(path)  # a link loop or a broken link is said as such
    if kind in (BACH, FOLDER):
        return read_music21_source(source, opts.step, opts.fractions(), opts.max_files, whole=evaluate)
    if kind == MISSING:
        raise DataError(source, "no such file or folder (and not 'bach', the corpus chorales)")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return read_json_rolls(path, need_train=not evaluate)
    if suffix == ".mat":
        return read_mat_rolls(path, need_train=not evaluate)
    if suffix in SCORE_SUFFIXES:
        return read_music21_source(source, opts.step, opts.fractions(), whole=evaluate)
    raise DataError(source, f"unknown music file type '{suffix}'; expected .json or .mat piano rolls, "
                            f"{', '.join(SCORE_SUFFIXES)} scores, a folder of them, or 'bach'")


def report_skipped(collection: Collection) -> None:
    if collection.skipped:
        print(f"music: skipped {len(collection.skipped)} item(s) of {collection.source}; first: "
              f"{collection.skipped[0]}", file=sys.stderr)
    if collection.dropped_notes:
        print(f"music: dropped {collection.dropped_notes} note(s) outside the keyboard (MIDI 21-108) in "
              f"{collection.source}", file=sys.stderr)


class PieceDataset(Dataset):
    """Whole pieces; with ``augment`` each piece is transposed by a fresh random shift on every read."""

    def __init__(self, rolls: list[np.ndarray], events: bool, augment: int = 0, seed: int = 0):
        self.rolls, self.events, self.augment = rolls, events, augment
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.rolls)

    def __getitem__(self, i: int) -> torch.Tensor:
        roll = self.rolls[i]
        if self.augment:
            roll = transpose(roll, random_shift(roll, self.augment, self.rng))
        if self.events:
            return torch.from_numpy(roll_to_events(roll))
        return torch.from_numpy(roll.astype(np.float32))


def collate_pieces(items: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(inputs, targets, lengths): inputs are the targets one step late, the start symbol first."""
    lengths = torch.tensor([len(x) for x in items], dtype=torch.int64)
    targets = torch.nn.utils.rnn.pad_sequence(items, batch_first=True)
    if targets.dtype == torch.long:
        start = torch.full((len(items), 1), START, dtype=torch.long)
    else:
        start = torch.zeros(len(items), 1, KEYS)
    inputs = torch.cat([start, targets[:, :-1]], dim=1)
    return inputs, targets, lengths


@dataclass
class MusicState(DataState):
    """How the training pieces were read and what the network reads and writes: the run's options
    themselves, as nothing is fitted to the data (the keyboard and the event tokens are fixed)."""

    VERSION = 1
    representation: str  # frames or events
    step: str  # the time step's name (STEPS); music is written at it
    transpose: str  # none or common: how other pieces are read for --evaluate

    @classmethod
    def of(cls, opts) -> MusicState:
        return cls(opts.representation, opts.step, opts.transpose)

    @property
    def step_ql(self) -> float:
        return STEPS[self.step]

    @classmethod
    def upgrade(cls, saved: dict[str, Any], version: int) -> dict[str, Any]:
        if version == 0:  # {"info": {...}}: these fields, step_ql and the run's piece and step counts (unread)
            return saved["info"] if isinstance(saved.get("info"), dict) else {}
        return super().upgrade(saved, version)


class MusicDataModule(TaskDataModule):
    collate_fn = staticmethod(collate_pieces)
    State = MusicState

    def __init__(self, cfg: RunConfig, state: MusicState | None = None, test_data: str | None = None):
        # the state is the options, so a model can be built before (or without) reading any data
        super().__init__(cfg, state or MusicState.of(cfg.options), test_data)
        self.rolls: dict[str, list[np.ndarray]] = {}

    def _read(self, opts, evaluate: bool = False) -> tuple[Collection, dict[str, list[np.ndarray]]]:
        collection = read_collection(opts, evaluate=evaluate)
        report_skipped(collection)
        rolls = {split: [p.roll for p in collection.splits.get(split) or []] for split in ("train", "valid", "test")}
        if self.state.transpose == "common":
            rolls = {k: [transpose(r, common_key_shift(r)) for r in v] for k, v in rolls.items()}
        return collection, rolls

    def load(self) -> None:
        opts = self.cfg.options
        _, rolls = self._read(opts)
        if not rolls["train"]:
            raise DataError(opts.data, "no training pieces")
        if not rolls["valid"]:
            raise DataError(opts.data, "no validation pieces (a single file has no split: give a folder, "
                                       "a JSON/.mat file with train/valid/test, or 'bach')")
        self.rolls = rolls
        events = self.state.representation == "events"
        self.train_set = PieceDataset(rolls["train"], events, opts.augment, self.cfg.train.seed)
        self.val_set = PieceDataset(rolls["valid"], events)
        self.test_set = PieceDataset(rolls["test"], events) if rolls["test"] else None

    def load_test(self, data: str) -> None:
        """A roll file's test split, else validation, else everything; a folder or score file whole; the
        corpus' fixed test split. The baselines fit the file's training split, else the test pieces."""
        collection, rolls = self._read(replace(self.cfg.options, data=data), evaluate=True)
        chosen = next((k for k in ("test", "valid") if rolls[k]), None)
        test = rolls[chosen] if chosen else rolls["train"]
        if not test:
            raise DataError(data, "no pieces to evaluate")
        self.test_split = (chosen or "all pieces") if collection.has_splits or data == BACH else "all pieces"
        self.rolls = {"train": rolls["train"] or test, "valid": test, "test": test}
        self.test_set = PieceDataset(test, self.state.representation == "events")

    def sizes(self) -> dict[str, int]:
        steps = {f"{k}_steps": int(sum(len(r) for r in v)) for k, v in self.rolls.items() if v}
        return {**super().sizes(), **steps}

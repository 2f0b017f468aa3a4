"""Piano rolls: the task's one data form, and the benchmark files that already hold them.

A roll is a ``(steps, 88)`` uint8 array; column ``k`` is MIDI pitch ``21 + k`` (A0..C8). Readers here
take the polyphonic-music benchmark's JSON and MATLAB files; music21 sources are in ``scores.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from suite.data.paths import read_file_bytes
from suite.errors import DataError

LOW, KEYS = 21, 88
HIGH = LOW + KEYS - 1
SPLITS = ("train", "valid", "test")


@dataclass
class Piece:
    name: str
    roll: np.ndarray  # (steps, 88) uint8


@dataclass
class Collection:
    """Pieces per split (``None`` where the source has no split of its own), and what was skipped."""

    source: str
    splits: dict[str, list[Piece]]
    has_splits: bool
    skipped: list[str] = field(default_factory=list)  # "<file>: <reason>"
    dropped_notes: int = 0  # notes outside the keyboard

    def all_pieces(self) -> list[Piece]:
        return [p for name in SPLITS for p in self.splits.get(name) or []]


def roll_from_steps(steps: list, where: str) -> tuple[np.ndarray, int]:
    """A roll from lists of MIDI pitches per step; pitches off the keyboard are dropped and counted."""
    if not isinstance(steps, list):
        raise DataError(where, f"expected a list of steps, got {type(steps).__name__}")
    roll = np.zeros((len(steps), KEYS), dtype=np.uint8)
    dropped = 0
    for t, chord in enumerate(steps):
        if not isinstance(chord, list):
            raise DataError(where, f"step {t}: expected a list of MIDI pitches, got {_short(chord)}")
        for pitch in chord:
            if isinstance(pitch, float) and pitch.is_integer():
                pitch = int(pitch)
            if not isinstance(pitch, int) or isinstance(pitch, bool):
                raise DataError(where, f"step {t}: expected integer MIDI pitches, got {_short(pitch)}")
            if LOW <= pitch <= HIGH:
                roll[t, pitch - LOW] = 1
            elif pitch >= 0:  # -1 marks a silent voice in the separated-voices files
                dropped += 1
    return roll, dropped


def _short(value: object, limit: int = 60) -> str:
    """A value for an error line: a nested list can be thousands of characters of brackets."""
    try:
        text = repr(value)
    except RecursionError:
        return "a deeply nested list"
    return text if len(text) <= limit else text[:limit] + "..."


def steps_from_roll(roll: np.ndarray) -> list[list[int]]:
    return [[int(k) + LOW for k in np.flatnonzero(frame)] for frame in roll]


def read_json_rolls(path: Path, need_train: bool = True) -> Collection:
    """``{"train": [...], "valid": [...], "test": [...]}``; without ``need_train`` (a test set for
    --evaluate) any one of the three suffices."""
    raw = read_file_bytes(path, "a piano-roll JSON file")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise DataError(str(path), f"not UTF-8 text (byte {exc.start:,})") from None
    except json.JSONDecodeError as exc:
        raise DataError(str(path), f"not valid JSON ({exc.msg})", line=exc.lineno) from None
    except RecursionError:  # the decoder recurses per bracket; a roll needs three levels inside its split
        raise DataError(str(path), "not a piano roll: lists nested too deeply (a piece is a list of steps, "
                                   "each a list of MIDI pitches)") from None
    if not isinstance(data, dict) or not (set(data) & ({"train"} if need_train else set(SPLITS))):
        wanted = "'train' (and 'valid', 'test')" if need_train else "'test' (or 'valid', 'train')"
        raise DataError(str(path), f"expected a JSON object with {wanted} lists of pieces, each a list of steps "
                                   "of MIDI pitches")
    unknown = set(data) - set(SPLITS)
    if unknown:
        raise DataError(str(path), f"unknown key(s) {', '.join(sorted(unknown))}; expected train, valid, test")
    splits: dict[str, list[Piece]] = {}
    dropped = 0
    skipped = []
    for split in SPLITS:
        pieces = data.get(split)
        if pieces is None:
            continue
        if not isinstance(pieces, list):
            raise DataError(str(path), f"'{split}' must be a list of pieces")
        splits[split] = []
        for i, steps in enumerate(pieces):
            roll, n = roll_from_steps(steps, f"{path}: {split}[{i}]")
            dropped += n
            if roll.any():
                splits[split].append(Piece(f"{split}[{i}]", roll))
            else:
                skipped.append(f"{path.name}: {split}[{i}]: no notes")
    return Collection(str(path), splits, True, skipped, dropped)


MAT_KEYS = {"train": "traindata", "valid": "validdata", "test": "testdata"}


def read_mat_rolls(path: Path, need_train: bool = True) -> Collection:
    """The benchmark's .mat files: MATLAB cell arrays of T x 88 binary matrices; without ``need_train``
    (a test set for --evaluate) any one of traindata, validdata, testdata suffices.

    scipy returns a MATLAB cell as a numpy object array; only cells whose every element is a numeric
    matrix are accepted (structs, strings, objects and nested cells are rejected), and nothing is
    ever unpickled.
    """
    from scipy.io import loadmat

    try:
        mat = loadmat(str(path), squeeze_me=False, struct_as_record=True, mat_dtype=False)
    except FileNotFoundError:
        raise DataError(str(path), "file not found") from None
    except Exception as exc:  # scipy raises ValueError, TypeError, MatReadError... for bad files
        raise DataError(str(path), f"not a readable MATLAB file ({type(exc).__name__}: {exc})") from None
    if not (set(mat) & ({MAT_KEYS["train"]} if need_train else set(MAT_KEYS.values()))):
        names = ", ".join(k for k in mat if not k.startswith("__")) or "none"
        wanted = "traindata, validdata, testdata" if need_train else "testdata (or validdata, traindata)"
        raise DataError(str(path), f"expected variables {wanted}; found {names}")
    splits: dict[str, list[Piece]] = {}
    skipped = []
    for split, key in MAT_KEYS.items():
        if key not in mat:
            continue
        cell = mat[key]
        if not isinstance(cell, np.ndarray) or cell.dtype != object or cell.dtype.names:
            raise DataError(str(path), f"{key}: expected a cell array of T x 88 matrices, got "
                                       f"{getattr(cell, 'dtype', type(cell))}")
        splits[split] = []
        for i, item in enumerate(cell.ravel()):
            where = f"{key}{{{i + 1}}}"
            if not isinstance(item, np.ndarray) or item.dtype.kind not in "biuf" or item.ndim != 2:
                raise DataError(str(path), f"{where}: expected a numeric T x 88 matrix, got "
                                           f"{getattr(item, 'dtype', type(item).__name__)}")
            if item.shape[1] != KEYS:
                raise DataError(str(path), f"{where}: expected 88 columns (MIDI 21-108), got {item.shape[1]}")
            if not np.isin(item, (0, 1)).all():
                raise DataError(str(path), f"{where}: expected a binary (0/1) piano roll")
            if item.any():
                splits[split].append(Piece(where, item.astype(np.uint8)))
            else:
                skipped.append(f"{path.name}: {where}: no notes")
    return Collection(str(path), splits, True, skipped)


"""What the network reads: rolls transposed (to a common key, or randomly for augmentation) and,
for melodies, event tokens (one per step: rest, hold, or the onset of one of the 88 keys)."""

from __future__ import annotations

import numpy as np

from .rolls import KEYS, LOW

REST, HOLD, FIRST_NOTE = 0, 1, 2
VOCAB = FIRST_NOTE + KEYS  # 90 tokens
START = VOCAB  # the extra input token before the first step

# Krumhansl-Kessler key profiles (C major, C minor), indexed by pitch class
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def estimate_key(roll: np.ndarray) -> tuple[int, str]:
    """(tonic pitch class, 'major'|'minor') by the Krumhansl-Schmuckler correlation of the duration-
    weighted pitch-class histogram."""
    counts = roll.sum(axis=0).astype(float)
    histogram = np.zeros(12)
    np.add.at(histogram, (np.arange(KEYS) + LOW) % 12, counts)
    best, key = -np.inf, (0, "major")
    for mode, profile in (("major", _MAJOR), ("minor", _MINOR)):
        for tonic in range(12):
            r = np.corrcoef(histogram, np.roll(profile, tonic))[0, 1] if histogram.std() > 0 else 0.0
            if r > best:
                best, key = r, (tonic, mode)
    return key


def fits(roll: np.ndarray, shift: int) -> bool:
    active = np.flatnonzero(roll.any(axis=0))
    return not len(active) or (active[0] + shift >= 0 and active[-1] + shift < KEYS)


def transpose(roll: np.ndarray, shift: int) -> np.ndarray:
    if shift == 0:
        return roll
    out = np.zeros_like(roll)
    if shift > 0:
        out[:, shift:] = roll[:, :-shift]
    else:
        out[:, :shift] = roll[:, -shift:]
    return out


def common_key_shift(roll: np.ndarray) -> int:
    """Semitones that move the piece to C major or A minor, the smaller way round that fits the keyboard."""
    tonic, mode = estimate_key(roll)
    target = 0 if mode == "major" else 9
    shift = (target - tonic) % 12
    for candidate in sorted((shift, shift - 12), key=abs):
        if fits(roll, candidate):
            return candidate
    return 0


def random_shift(roll: np.ndarray, limit: int, rng: np.random.Generator) -> int:
    """A uniform shift in [-limit, limit] among those that keep every note on the keyboard."""
    active = np.flatnonzero(roll.any(axis=0))
    if not len(active):
        return 0
    low, high = max(-limit, -int(active[0])), min(limit, KEYS - 1 - int(active[-1]))
    return int(rng.integers(low, high + 1)) if high >= low else 0


def roll_to_events(roll: np.ndarray) -> np.ndarray:
    """The top voice as tokens: a new (or changed) highest key is an onset, the same key held is HOLD.

    Piano rolls do not mark re-struck notes, so a repeated note merges into one held note."""
    tokens = np.full(len(roll), REST, dtype=np.int64)
    previous = -1
    for t, frame in enumerate(roll):
        keys = np.flatnonzero(frame)
        if not len(keys):
            previous = -1
            continue
        top = int(keys[-1])
        tokens[t] = HOLD if top == previous else FIRST_NOTE + top
        previous = top
    return tokens


def events_to_roll(tokens) -> np.ndarray:
    roll = np.zeros((len(tokens), KEYS), dtype=np.uint8)
    current = -1
    for t, token in enumerate(tokens):
        token = int(token)
        if token == REST:
            current = -1
        elif token >= FIRST_NOTE:
            current = token - FIRST_NOTE
        if current >= 0:
            roll[t, current] = 1
    return roll

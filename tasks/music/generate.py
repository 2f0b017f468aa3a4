"""Sampling new music from a trained model, after an optional primer (a score file or a note list)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from suite.data.paths import FILE, FOLDER, path_kind
from suite.errors import ConfigError, UserError

from .config import MAX_LENGTH, MAX_PIECES, MAX_TEMPERATURE, MIN_TEMPERATURE
from .encoding import events_to_roll, roll_to_events
from .rolls import HIGH, KEYS, LOW
from .scores import SCORE_SUFFIXES, music21_steps

NO_PRIMER = ("", "-")
REST_MARKS = ("r", ".", "rest")


def parse_note_list(text: str) -> np.ndarray:
    """``"60,64,67 62 r C4+E4"``: steps separated by spaces, notes of a step by ',' or '+', as MIDI
    numbers or names (C4 is 60); 'r' or '.' is a silent step."""
    from music21 import pitch

    steps = text.split()
    roll = np.zeros((len(steps), KEYS), dtype=np.uint8)
    for t, chord in enumerate(steps):
        if chord.lower() in REST_MARKS:
            continue
        for token in filter(None, re.split(r"[,+]", chord)):
            try:
                midi = int(token) if token.lstrip("-").isdigit() else pitch.Pitch(token).midi
            except Exception:
                raise UserError(f"--predict: step {t + 1}: '{_shorten(token, 20)}' is not a MIDI number or a note "
                                "name like C4, F#3, Bb2") from None
            if not LOW <= midi <= HIGH:
                raise UserError(f"--predict: step {t + 1}: pitch {midi} is outside the piano (21-108)")
            roll[t, midi - LOW] = 1
    return roll


def parse_primer(raw: str, step_ql: float) -> np.ndarray:
    """A roll of the primer's steps (zero steps for none)."""
    text = raw.strip()
    if text in NO_PRIMER:
        return np.zeros((0, KEYS), dtype=np.uint8)
    try:
        path = Path(text).expanduser()
    except RuntimeError:  # "~name" of no such user: not a file of theirs
        path = Path(text)
    # a long note list is no file name (the system refuses names over 255 bytes): it is then notes
    kind = path_kind(path)
    if kind == FILE:
        return music21_steps(path, step_ql)
    if kind == FOLDER:
        raise UserError(f"--predict: primer {path} is a folder; give a MIDI/MusicXML/ABC file or notes")
    if path.suffix.lower() in SCORE_SUFFIXES:
        raise UserError(f"--predict: primer file {path} not found")
    try:
        return parse_note_list(text)
    except UserError as exc:  # say both readings failed: the user may have meant either
        detail = str(exc).removeprefix("--predict: ")
        raise UserError(f"--predict: the primer {_shorten(text)!r} is neither a file nor valid notes "
                        f"({detail})") from None


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def check_generation(length: int, temperature: float, pieces: int) -> None:
    """The bounds of --length, --temperature and --pieces, also for values that never passed the
    configuration's checks (the window's requests, a program's call). NaN fails every comparison, so
    ``not low <= value <= high`` refuses it too (``temperature <= 0`` let it through to a crash)."""
    for option, value, low, high in (("length", length, 0, MAX_LENGTH),
                                     ("temperature", temperature, MIN_TEMPERATURE, MAX_TEMPERATURE),
                                     ("pieces", pieces, 1, MAX_PIECES)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ConfigError(f"options.{option} (--{option})", f"must be from {low:,} to {high:,}, got {value!r}")


@torch.no_grad()
def generate(model, primer: np.ndarray, length: int, temperature: float = 1.0, seed: int = 0,
             pieces: int = 1) -> list[np.ndarray]:
    """``pieces`` rolls of ``len(primer) + length`` steps that begin with the primer."""
    check_generation(length, temperature, pieces)
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    start = model.start_input(pieces)
    if model.events:
        tokens = torch.from_numpy(roll_to_events(primer)).to(device)
        inputs = torch.cat([start, tokens[None].expand(pieces, -1)], dim=1)
    else:
        frames = torch.from_numpy(primer.astype(np.float32)).to(device)
        inputs = torch.cat([start, frames[None].expand(pieces, -1, -1)], dim=1)
    context, state = model.contexts(inputs)
    drawn = []
    for _ in range(length):
        step = model.draw(context[:, -1], temperature, generator)
        drawn.append(step)
        context, state = model.contexts(step[:, None], state=state)
    out = []
    for i in range(pieces):
        if model.events:
            new = torch.stack([d[i] for d in drawn]).cpu().numpy() if drawn else np.zeros(0, np.int64)
            out.append(events_to_roll(np.concatenate([roll_to_events(primer), new])))
        else:
            new = torch.stack([d[i] for d in drawn]).cpu().numpy().astype(np.uint8)
            out.append(np.vstack([primer, new.reshape(-1, KEYS)]))
    return out

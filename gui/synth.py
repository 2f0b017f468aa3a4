"""A small additive synthesiser: a generated piece's notes as mono 16-bit audio, to listen to in the window.

Each note is a few harmonics of its pitch (amplitudes 1/k², a soft organ-like tone that stays a clear
pitch) under an ADSR envelope; the release rings on after the note's end, as a key let go does. Notes are
read from the piece's steps as its MIDI file writes them (tasks/music/scores.py ``write_midi``): one note
per run of consecutive steps a key sounds, so what is heard is what "Save MIDI" saves.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from suite.errors import UserError

RATE = 22_050  # Hz: the highest piano key's fundamental (4186 Hz) and its first harmonic fit below Nyquist
HARMONICS = 4
ATTACK, DECAY, SUSTAIN, RELEASE = 0.01, 0.12, 0.7, 0.15  # seconds, seconds, level, seconds
VELOCITY = 80  # what write_midi writes for every note
#: one voice's peak at full velocity; four-voice chorales stay well below full scale without normalising
VOICE = 0.2
#: longer pieces are not rendered (10 minutes are 13 million samples, about 50 MB while mixing)
MAX_SECONDS = 600.0


@dataclass(frozen=True)
class Note:
    pitch: int  # MIDI number, 69 = A4 = 440 Hz
    onset: float  # seconds
    duration: float  # seconds, until the key is let go (the release follows)
    velocity: int = VELOCITY  # 1-127


def step_seconds(quarter_length: float, bpm: float) -> float:
    """One step's length: ``quarter_length`` quarter notes at ``bpm`` quarter notes a minute."""
    return float(quarter_length) * 60.0 / float(bpm)


def notes_from_steps(steps: Sequence[Sequence[int]], seconds_per_step: float,
                     velocity: int = VELOCITY) -> list[Note]:
    """A note per run of consecutive steps a pitch sounds, in onset order (then pitch)."""
    notes, started = [], {}  # pitch -> first step of its current run
    for t, pitches in enumerate([*steps, []]):  # the empty step ends every run still sounding
        now = {int(p) for p in pitches}
        for pitch in [p for p in started if p not in now]:
            first = started.pop(pitch)
            notes.append(Note(pitch, first * seconds_per_step, (t - first) * seconds_per_step, velocity))
        for pitch in now - started.keys():
            started[pitch] = t
    return sorted(notes, key=lambda n: (n.onset, n.pitch))


def frequency(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


def envelope(held: int, rate: int = RATE) -> np.ndarray:
    """ADSR over ``held`` samples then the release from wherever the note was let go, down to exactly 0."""
    attack, decay, release = (max(1, round(s * rate)) for s in (ATTACK, DECAY, RELEASE))
    t = np.arange(held, dtype=np.float64)
    level = np.where(t < attack, t / attack,
                     np.maximum(SUSTAIN, 1.0 - (1.0 - SUSTAIN) * (t - attack) / decay))
    end = level[-1] if held else 0.0
    return np.concatenate([level, end * (1.0 - np.arange(1, release + 1) / release)])


def duration(notes: Sequence[Note], length: float = 0.0) -> float:
    """Seconds of audio: the piece's ``length`` (its trailing silence kept, as in the MIDI file) or its
    last note's end, whichever is later, and the last release."""
    end = max([length, *(n.onset + n.duration for n in notes)])
    return end + RELEASE if notes else end


def render(notes: Sequence[Note], length: float = 0.0, rate: int = RATE) -> np.ndarray:
    """Mono int16 samples at ``rate``. Never clips: a mix whose peak would pass full scale is scaled down."""
    seconds = duration(notes, length)
    if seconds > MAX_SECONDS:
        raise UserError(f"the piece lasts {seconds / 60:.1f} minutes; at most {MAX_SECONDS / 60:.0f} are rendered "
                         "to audio (save the MIDI for a longer one)")
    mix = np.zeros(int(np.ceil(seconds * rate)) + 1, dtype=np.float32)
    for note in notes:
        env = envelope(max(1, round(note.duration * rate)), rate)
        start = round(note.onset * rate)
        env = env[: len(mix) - start]
        t = np.arange(len(env), dtype=np.float64) / rate
        f0 = frequency(note.pitch)
        tone = np.zeros(len(env))
        for k in range(1, HARMONICS + 1):
            if k * f0 < rate / 2:  # above Nyquist a harmonic would fold back as a wrong pitch
                tone += np.sin(2 * np.pi * k * f0 * t) / k**2
        mix[start:start + len(env)] += (VOICE * min(127, max(1, note.velocity)) / 127 * env * tone).astype(np.float32)
    peak = float(np.abs(mix).max(initial=0.0))
    if peak > 1.0:
        mix /= peak
    return np.round(mix * 32767).astype(np.int16)


def write_wav(path: str | Path, samples: np.ndarray, rate: int = RATE) -> Path:
    """A mono 16-bit PCM WAV file (little-endian, as the format has it)."""
    path = Path(path)
    with open(path, "wb") as file, wave.open(file, "wb") as out:  # opened first: a bad path fails cleanly
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    return path


def piece_audio(output: dict) -> np.ndarray:
    """A music prediction's first piece (``steps``, ``quarter_length``, ``bpm``) as samples at RATE."""
    steps = output["steps"]
    # a plugin's answer may lack the timing: a quarter note per step at 100 bpm, the music task's defaults
    per_step = step_seconds(output.get("quarter_length") or 1.0, output.get("bpm") or 100)
    return render(notes_from_steps(steps, per_step), length=len(steps) * per_step)

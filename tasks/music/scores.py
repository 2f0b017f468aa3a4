"""music21 sources: MIDI, MusicXML and ABC files, folders of them and the Bach chorales of music21's
corpus, quantised to piano rolls (and cached, since parsing hundreds of scores takes minutes); and
the way back, rolls written as MIDI or MusicXML.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np

from suite.data.cache import cache_dir, files_key
from suite.data.paths import files_under
from suite.data.splits import seeded_holdout
from suite.errors import DataError

from .config import STEPS
from .rolls import HIGH, KEYS, LOW, SPLITS, Collection, Piece

SCORE_SUFFIXES = (".mid", ".midi", ".xml", ".musicxml", ".mxl", ".abc", ".krn")
#: bump when the conversion below changes what a roll holds: every cached roll is then re-made
CONVERTER_VERSION = 4


class SkipPiece(Exception):
    """A file that cannot give a piece; the reason is reported with the file's name and counted."""


def notes_to_roll(notes: list[tuple[float, float, int]], step_ql: float) -> tuple[np.ndarray, int]:
    """A roll from (start, end, MIDI pitch) in quarter notes; returns it and the notes off the keyboard."""
    cells, dropped = [], 0
    for start, end, pitch in notes:
        if not LOW <= pitch <= HIGH:
            dropped += 1
            continue
        # sampled on the grid, as the benchmark's rolls are: a note sounds at step t if it has started
        # and not yet ended at time t * step; a note between two grid points (a passing 8th at
        # quarter-note steps) is not heard
        first = math.ceil(start / step_ql - 1e-6)
        last = math.ceil(end / step_ql - 1e-6)
        if last > first:
            cells.append((first, last, pitch - LOW))
    if not cells:
        raise SkipPiece("no notes" + (f" on the keyboard ({dropped} outside MIDI 21-108)" if dropped else ""))
    roll = np.zeros((max(c[1] for c in cells), KEYS), dtype=np.uint8)
    for first, last, key in cells:
        roll[first:last, key] = 1
    return roll, dropped


def score_notes(score) -> list[tuple[float, float, int]]:
    """Sounding notes of a music21 score (chord symbols and grace notes are not sounded notes)."""
    from music21 import harmony

    notes = []
    for element in score.flatten().notes:
        if isinstance(element, harmony.Harmony) or element.quarterLength <= 0:
            continue
        start = float(element.offset)
        notes.extend((start, start + float(element.quarterLength), p.midi) for p in element.pitches)
    return notes


def midi_notes(path: Path) -> list[tuple[float, float, int]]:
    """Notes straight from a MIDI file's events (music21's MidiFile), in quarter notes.

    Reading events rather than a music21 score keeps dense overlapping chords exact; percussion
    (channel 10) is not pitched and is left out."""
    from music21 import midi

    mf = midi.MidiFile()
    try:
        mf.open(str(path))
        try:
            mf.read()
        finally:
            mf.close()
    except Exception as exc:  # music21 raises MidiException, IndexError, struct errors... on bad bytes
        raise SkipPiece(f"unreadable MIDI ({type(exc).__name__}: {str(exc)[:120]})") from None
    per_quarter = mf.ticksPerQuarterNote
    if not per_quarter or per_quarter <= 0:
        raise SkipPiece("MIDI with SMPTE time division is not supported")
    on, off = midi.ChannelVoiceMessages.NOTE_ON, midi.ChannelVoiceMessages.NOTE_OFF
    notes = []
    for track in mf.tracks:
        now, sounding = 0, {}
        for event in track.events:
            if isinstance(event, midi.DeltaTime):
                now += event.time or 0
                continue
            if event.type not in (on, off) or event.channel == 10:
                continue
            key = (event.channel, event.pitch)
            if event.type == on and event.velocity:
                sounding.setdefault(key, []).append(now)
            elif sounding.get(key):
                start = sounding[key].pop(0)
                notes.append((start / per_quarter, now / per_quarter, event.pitch))
    return notes


def parse_file(path: Path, step_ql: float) -> tuple[list[Piece], int]:
    """The pieces of one file (an ABC file may hold many tunes) or SkipPiece naming why not."""
    from music21 import converter, stream

    suffix = path.suffix.lower()
    if suffix not in SCORE_SUFFIXES:
        raise SkipPiece(f"unknown file type '{path.suffix}' (expected {', '.join(SCORE_SUFFIXES)})")
    if suffix in (".mid", ".midi"):
        roll, dropped = notes_to_roll(midi_notes(path), step_ql)
        return [Piece(path.name, roll)], dropped
    try:
        parsed = converter.parse(str(path))
    except Exception as exc:  # music21 raises many types for corrupt or empty files
        raise SkipPiece(f"unreadable ({type(exc).__name__}: {str(exc)[:120]})") from None
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    pieces, dropped = [], 0
    for i, score in enumerate(scores):
        name = path.name if len(scores) == 1 else f"{path.name}#{i + 1}"
        try:
            roll, n = notes_to_roll(score_notes(score), step_ql)
        except SkipPiece:
            if len(scores) == 1:
                raise
            continue
        pieces.append(Piece(name, roll))
        dropped += n
    if not pieces:
        raise SkipPiece("no notes in any tune")
    return pieces, dropped


#: the one work in music21's Bach folder that is not a chorale: the C major prelude of the WTC
NOT_CHORALES = ("bwv846",)


def bach_chorale_files() -> list[Path]:
    from music21 import corpus

    return sorted(p for p in corpus.getComposer("bach")
                  if p.suffix in (".mxl", ".xml") and p.stem not in NOT_CHORALES)


def score_files(folder: Path) -> list[Path]:
    # files_under, not rglob: a folder that cannot be listed is said to be unreadable, not empty
    return files_under(folder, keep=lambda p: not p.name.startswith("."))


def cache_key(files: list[Path], step: str) -> str:
    """Changes whenever the result could: the converter, music21's version, the step, the list of
    files, or any file's size or modification time."""
    import music21

    return files_key(files, converter=CONVERTER_VERSION, music21=music21.__version__, step=step)


def save_cache(path: Path, pieces: list[Piece], skipped: list[str], dropped: int) -> None:
    """Rolls as plain integer arrays (active (step, key) cells), names as fixed-width strings: no pickle."""
    lengths = np.array([len(p.roll) for p in pieces], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    cells = [np.flatnonzero(p.roll.ravel()) + s * KEYS for p, s in zip(pieces, starts)]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, lengths=lengths, cells=np.concatenate(cells).astype(np.int64),
                        names=np.array([p.name for p in pieces], dtype=str),
                        skipped=np.array(skipped, dtype=str), dropped=np.array(dropped))
    os.replace(tmp, path)


def load_cache(path: Path) -> tuple[list[Piece], list[str], int] | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            lengths, cells = data["lengths"], data["cells"]
            names, skipped, dropped = data["names"].tolist(), data["skipped"].tolist(), int(data["dropped"])
    except (OSError, KeyError, ValueError):  # missing or damaged: parse again
        return None
    flat = np.zeros(int(lengths.sum()) * KEYS, dtype=np.uint8)
    flat[cells] = 1
    frames = flat.reshape(-1, KEYS)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    pieces = [Piece(n, frames[a:b].copy()) for n, a, b in zip(names, bounds[:-1], bounds[1:])]
    return pieces, skipped, dropped


def read_scores(files: list[Path], step: str, source: str, use_cache: bool = True) -> tuple[list[Piece], list[str], int]:
    """Every file's pieces at ``step``; unreadable, empty or unknown files are skipped and listed."""
    key = cache_key(files, step)
    cached = cache_dir("music") / f"{key}.npz"
    if use_cache and cached.exists():
        loaded = load_cache(cached)
        if loaded is not None:
            return loaded
    if len(files) > 20:
        print(f"music: reading {len(files)} files of {source} through music21 at {step} steps "
              f"(cached afterwards in {cache_dir('music')})", file=sys.stderr, flush=True)
    pieces, skipped, dropped = [], [], 0
    for path in files:
        try:
            found, n = parse_file(path, STEPS[step])
        except SkipPiece as why:
            skipped.append(f"{path.name}: {why}")
            continue
        pieces.extend(found)
        dropped += n
    if use_cache and pieces:
        try:
            save_cache(cached, pieces, skipped, dropped)
        except OSError as exc:  # a read-only home still trains, only slower next time
            print(f"music: cannot write the cache {cached} ({exc})", file=sys.stderr)
    return pieces, skipped, dropped


def read_music21_source(source: str, step: str, fractions, max_files: int = 0, whole: bool = False) -> Collection:
    """The Bach chorales of music21's corpus ('bach'), a folder of scores, or one score file.

    ``whole``: a folder or file is one test set, every piece in it (what --evaluate scores); the corpus
    keeps its fixed split, so a model trained on it is never scored on its training chorales."""
    from .config import BACH

    path = Path(source)
    if source == BACH:
        files, chorales = bach_chorale_files(), True
        if not files:
            raise DataError(BACH, "music21's corpus has no Bach chorales (is music21 fully installed?)")
    elif path.is_dir():
        files, chorales = score_files(path), False
        if not files:
            raise DataError(source, "the folder holds no files")
    else:
        files, chorales = [path], False
    if max_files:
        files = files[:max_files]
    pieces, skipped, dropped = read_scores(files, step, source)
    if not pieces:
        first = f"; first: {skipped[0]}" if skipped else ""
        raise DataError(source, f"no usable piece in {len(files)} file(s){first}")
    if whole and not chorales:
        splits = {"train": [], "valid": [], "test": pieces}
    elif len(files) == 1 and not chorales:
        splits = {"train": pieces, "valid": [], "test": []}
    else:  # a fixed seed, not the training seed: every run of the source shares its test set
        train, held = seeded_holdout(len(pieces), fractions[1:], seed=0)
        if not train:
            raise DataError("options.split", f"{len(pieces)} piece(s) are too few to split {fractions}")
        splits = dict(zip(SPLITS, ([pieces[i] for i in part] for part in [train, *held])))
    return Collection(source, splits, False, skipped, dropped)


# --- writing ------------------------------------------------------------------------------------------
def roll_to_score(roll: np.ndarray, step_ql: float, bpm: int = 100):
    """A one-part music21 score: a note per run of consecutive steps a key is held, rests between."""
    from music21 import chord, meter, note, stream, tempo

    part = stream.Part()
    part.insert(0, tempo.MetronomeMark(number=bpm))
    part.insert(0, meter.TimeSignature("4/4"))
    steps = len(roll)
    onsets: dict[int, dict[int, list[int]]] = {}  # step -> steps held -> pitches
    for first, length, pitch in note_runs(roll):
        onsets.setdefault(first, {}).setdefault(length, []).append(pitch)
    for t, by_length in onsets.items():
        for length, pitches in by_length.items():
            element = note.Note(pitches[0]) if len(pitches) == 1 else chord.Chord(pitches)
            element.quarterLength = length * step_ql
            part.insert(t * step_ql, element)
    if steps and not roll[-1].any():  # the written score keeps its trailing silence
        part.insert((steps - 1) * step_ql, note.Rest(quarterLength=step_ql))
    score = stream.Score()
    score.insert(0, part)
    return score


def note_runs(roll: np.ndarray) -> list[tuple[int, int, int]]:
    """(first step, steps held, MIDI pitch) of every run of consecutive steps a key sounds."""
    padded = np.vstack([np.zeros((1, KEYS), np.int8), roll.astype(np.int8), np.zeros((1, KEYS), np.int8)])
    change = np.diff(padded, axis=0)
    runs = []
    for key in range(KEYS):
        starts, ends = np.flatnonzero(change[:, key] == 1), np.flatnonzero(change[:, key] == -1)
        runs.extend((int(a), int(b - a), key + LOW) for a, b in zip(starts, ends))
    return sorted(runs)


def write_midi(roll: np.ndarray, step_ql: float, path: Path, bpm: int = 100) -> Path:
    """A one-track MIDI file written event by event (music21's score-to-MIDI path mangles the timing of
    dense overlapping chords), the track ending after the last step even when it is silent."""
    from music21 import midi

    ticks = 480
    mf = midi.MidiFile()
    mf.ticksPerQuarterNote = ticks
    track = midi.MidiTrack(0)
    timed = []  # (tick, order, event): note-offs before note-ons at the same tick
    tempo = midi.MidiEvent(track, type=midi.MetaEvents.SET_TEMPO)
    tempo.data = int(round(60_000_000 / bpm)).to_bytes(3, "big")
    timed.append((0, 0, tempo))
    for first, length, pitch in note_runs(roll):
        for tick, kind, velocity, order in ((first, midi.ChannelVoiceMessages.NOTE_ON, 80, 2),
                                            (first + length, midi.ChannelVoiceMessages.NOTE_OFF, 0, 1)):
            event = midi.MidiEvent(track, type=kind, channel=1)
            event.pitch, event.velocity = pitch, velocity
            timed.append((int(round(tick * step_ql * ticks)), order, event))
    end = midi.MidiEvent(track, type=midi.MetaEvents.END_OF_TRACK)
    end.data = b""
    timed.append((int(round(len(roll) * step_ql * ticks)), 3, end))
    timed.sort(key=lambda item: (item[0], item[1]))
    now = 0
    for tick, _, event in timed:
        delta = midi.DeltaTime(track, time=tick - now)
        track.events.extend([delta, event])
        now = tick
    track.updateEvents()
    mf.tracks.append(track)
    mf.open(str(path), "wb")
    try:
        mf.write()
    finally:
        mf.close()
    return path


def write_score(roll: np.ndarray, step_ql: float, path: Path, bpm: int = 100) -> Path:
    """MIDI, or MusicXML for .xml/.musicxml/.mxl."""
    if path.suffix.lower() not in (".xml", ".musicxml", ".mxl"):
        return write_midi(roll, step_ql, path, bpm)
    score = roll_to_score(roll, step_ql, bpm).makeNotation()
    return Path(score.write("musicxml", fp=str(path)))


def music21_steps(path: Path, step_ql: float) -> np.ndarray:
    """A primer or a round-trip check: one file's first piece as a roll."""
    try:
        pieces, _ = parse_file(path, step_ql)
    except SkipPiece as why:
        raise DataError(str(path), str(why)) from None
    return pieces[0].roll



"""music21 sources: MIDI, MusicXML and ABC files, folders of them and the Bach chorales of music21's
corpus, quantised to piano rolls (and cached, since parsing hundreds of scores takes minutes); and
the way back, rolls written as MIDI or MusicXML.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

from suite.errors import DataError

from .config import STEPS
from .rolls import HIGH, KEYS, LOW, Collection, Piece, assign_splits

SCORE_SUFFIXES = (".mid", ".midi", ".xml", ".musicxml", ".mxl", ".abc", ".krn")
#: bump when the conversion below changes what a roll holds: every cached roll is then re-made
CONVERTER_VERSION = 1


class SkipPiece(Exception):
    """A file that cannot give a piece; the reason is reported with the file's name and counted."""


def score_to_roll(score, step_ql: float) -> tuple[np.ndarray, int]:
    """Notes and chords sounding at each step (chord symbols and grace notes are not sounded notes)."""
    from music21 import harmony

    events = []
    dropped = 0
    for element in score.flatten().notes:
        if isinstance(element, harmony.Harmony) or element.quarterLength <= 0:
            continue
        start = float(element.offset) / step_ql
        end = (float(element.offset) + float(element.quarterLength)) / step_ql
        first = int(round(start))
        last = max(first + 1, int(round(end)))
        for pitch in element.pitches:
            if LOW <= pitch.midi <= HIGH:
                events.append((first, last, pitch.midi - LOW))
            else:
                dropped += 1
    if not events:
        raise SkipPiece("no notes" + (f" on the keyboard ({dropped} outside MIDI 21-108)" if dropped else ""))
    roll = np.zeros((max(e[1] for e in events), KEYS), dtype=np.uint8)
    for first, last, key in events:
        roll[first:last, key] = 1
    return roll, dropped


def parse_file(path: Path, step_ql: float) -> tuple[list[Piece], int]:
    """The pieces of one file (an ABC file may hold many tunes) or SkipPiece naming why not."""
    from music21 import converter, stream

    if path.suffix.lower() not in SCORE_SUFFIXES:
        raise SkipPiece(f"unknown file type '{path.suffix}' (expected {', '.join(SCORE_SUFFIXES)})")
    try:
        parsed = converter.parse(str(path))
    except Exception as exc:  # music21 raises many types for corrupt or empty files
        raise SkipPiece(f"unreadable ({type(exc).__name__}: {str(exc)[:120]})") from None
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    pieces, dropped = [], 0
    for i, score in enumerate(scores):
        name = path.name if len(scores) == 1 else f"{path.name}#{i + 1}"
        try:
            roll, n = score_to_roll(score, step_ql)
        except SkipPiece:
            if len(scores) == 1:
                raise
            continue
        pieces.append(Piece(name, roll))
        dropped += n
    if not pieces:
        raise SkipPiece("no notes in any tune")
    return pieces, dropped


def bach_chorale_files() -> list[Path]:
    from music21 import corpus

    return sorted(p for p in corpus.getComposer("bach") if p.suffix in (".mxl", ".xml"))


def score_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def cache_dir() -> Path:
    base = os.environ.get("RNN_SUITE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rnn-suite")
    return Path(base) / "music"


def cache_key(files: list[Path], step: str, chorales_only: bool) -> str:
    """Changes whenever the result could: the converter, music21's version, the step, the list of
    files, or any file's size or modification time."""
    import music21

    listing = []
    for p in files:
        st = p.stat()
        listing.append([str(p.resolve()), st.st_size, st.st_mtime_ns])
    text = json.dumps({"converter": CONVERTER_VERSION, "music21": music21.__version__, "step": step,
                       "chorales_only": chorales_only, "files": listing})
    return hashlib.sha256(text.encode()).hexdigest()[:24]


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


def read_scores(files: list[Path], step: str, source: str, chorales_only: bool = False,
                use_cache: bool = True) -> tuple[list[Piece], list[str], int]:
    """Every file's pieces at ``step``; unreadable, empty or unknown files are skipped and listed."""
    key = cache_key(files, step, chorales_only)
    cached = cache_dir() / f"{key}.npz"
    if use_cache and cached.exists():
        loaded = load_cache(cached)
        if loaded is not None:
            return loaded
    if len(files) > 20:
        print(f"music: reading {len(files)} files of {source} through music21 at {step} steps "
              f"(cached afterwards in {cache_dir()})", file=sys.stderr, flush=True)
    pieces, skipped, dropped = [], [], 0
    for path in files:
        try:
            if chorales_only:
                found, n = _chorale(path, STEPS[step])
            else:
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


def _chorale(path: Path, step_ql: float) -> tuple[list[Piece], int]:
    from music21 import converter

    score = converter.parse(str(path))
    if len(score.parts) != 4:  # the corpus' Bach folder also holds a few non-chorale keyboard works
        raise SkipPiece(f"not a four-part chorale ({len(score.parts)} parts)")
    roll, dropped = score_to_roll(score, step_ql)
    return [Piece(path.stem, roll)], dropped


def read_music21_source(source: str, step: str, fractions, max_files: int = 0) -> Collection:
    """The Bach chorales of music21's corpus ('bach'), a folder of scores, or one score file."""
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
    pieces, skipped, dropped = read_scores(files, step, source, chorales)
    if not pieces:
        first = f"; first: {skipped[0]}" if skipped else ""
        raise DataError(source, f"no usable piece in {len(files)} file(s){first}")
    if len(files) == 1 and not chorales:
        splits = {"train": pieces, "valid": [], "test": []}
    else:
        splits = assign_splits(pieces, fractions)
    return Collection(source, splits, False, skipped, dropped)


# --- writing ------------------------------------------------------------------------------------------
def roll_to_score(roll: np.ndarray, step_ql: float, bpm: int = 100):
    """A one-part music21 score: a note per run of consecutive steps a key is held, rests between."""
    from music21 import chord, meter, note, stream, tempo

    part = stream.Part()
    part.insert(0, tempo.MetronomeMark(number=bpm))
    part.insert(0, meter.TimeSignature("4/4"))
    steps = len(roll)
    padded = np.vstack([np.zeros((1, KEYS), np.uint8), roll, np.zeros((1, KEYS), np.uint8)]).astype(np.int8)
    change = np.diff(padded, axis=0)  # +1 where a key starts, -1 where it ends
    onsets: dict[int, list[tuple[int, int]]] = {}
    for t, key in zip(*np.nonzero(change[:-1] == 1)):
        end = t + int(np.argmax(change[t + 1:, key] == -1)) + 1
        onsets.setdefault(int(t), []).append((int(key) + LOW, end - int(t)))
    for t, notes in onsets.items():
        by_length: dict[int, list[int]] = {}
        for pitch, length in notes:
            by_length.setdefault(length, []).append(pitch)
        for length, pitches in by_length.items():
            element = note.Note(pitches[0]) if len(pitches) == 1 else chord.Chord(pitches)
            element.quarterLength = length * step_ql
            part.insert(t * step_ql, element)
    if steps and not roll[-1].any():  # keep trailing silence, which MIDI would otherwise lose
        part.insert((steps - 1) * step_ql, note.Rest(quarterLength=step_ql))
    score = stream.Score()
    score.insert(0, part)
    return score


def write_score(roll: np.ndarray, step_ql: float, path: Path, bpm: int = 100) -> Path:
    fmt = "musicxml" if path.suffix.lower() in (".xml", ".musicxml", ".mxl") else "midi"
    score = roll_to_score(roll, step_ql, bpm)
    if fmt == "musicxml":
        score = score.makeNotation()
    written = score.write(fmt, fp=str(path))
    return Path(written)


def music21_steps(path: Path, step_ql: float) -> np.ndarray:
    """A primer or a round-trip check: one file's first piece as a roll."""
    try:
        pieces, _ = parse_file(path, step_ql)
    except SkipPiece as why:
        raise DataError(str(path), str(why)) from None
    return pieces[0].roll


def steps_for_duration(quarter_length: float, step_ql: float) -> int:
    return int(math.ceil(quarter_length / step_ql - 1e-9))

"""Generate music with an exported music model, as ``main.py --checkpoint RUN --predict PRIMER`` does,
with numpy and onnxruntime only (no torch, nothing of RNN Suite; music21 only for MusicXML/ABC files).

    python predict.py PRIMER [--output FILE] [--length N] [--temperature T] [--pieces N] [--gen-seed S]
                             [--bpm B] [--musicxml]

PRIMER is a note list ("C4+E4+G4 D4 r 60,64"), a MIDI file, '-' for none, or a JSON request
{"primer", "temperature", "steps", "seed", "pieces"} as the suite's window sends. Without --output it
prints the answer as JSON (the piece's sounding pitches per step, every piece, and a MIDI file of the first
one in the temporary folder); with --output piece.mid it writes MIDI (piece-1.mid, piece-2.mid, ... for
several pieces; MusicXML beside it with --musicxml), with --output piece.musicxml MusicXML, and with any
other name the answer as JSON.

The same seed gives the same piece as --predict on a CPU: the random numbers come from a numpy MT19937
seeded as PyTorch seeds its CPU generator, consumed in the order and turned into uniforms and exponentials
the way torch.bernoulli and torch.multinomial do. MIDI files are written byte for byte as the suite writes
them, with the standard library.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import json
import math
import os
import re
import stat
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # _runtime.py beside this file, wherever the folder was moved

from _runtime import InputError, Parser, answer, load_session, output_path, read_settings, run  # noqa: E402

SETTINGS = read_settings(HERE)
KEYS, LOW = SETTINGS["keys"], SETTINGS["lowest_pitch"]
HIGH = LOW + KEYS - 1
EVENTS = SETTINGS["events"]
REST, HOLD, FIRST_NOTE, START = EVENTS["rest"], EVENTS["hold"], EVENTS["first_note"], EVENTS["start"]
SCORE_SUFFIXES = (".mid", ".midi", ".xml", ".musicxml", ".mxl", ".abc", ".krn")
MIDI_SUFFIXES = (".mid", ".midi")
XML_SUFFIXES = (".xml", ".musicxml", ".mxl")
REST_MARKS = ("r", ".", "rest")
REQUEST_FIELDS = ("primer", "temperature", "steps", "seed", "pieces")


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


# --- PyTorch's CPU random numbers, in numpy -----------------------------------------------------------------
class TorchCPURandom:
    """``torch.Generator().manual_seed(seed)``'s stream: MT19937 initialised from the seed's low 32 bits
    (init_genrand), as PyTorch's CPU generator is, drawn through numpy's MT19937 bit generator."""

    def __init__(self, seed: int):
        key = np.empty(624, dtype=np.uint32)
        x = seed & 0xFFFFFFFF
        key[0] = x
        for i in range(1, 624):
            x = (1812433253 * (x ^ (x >> 30)) + i) & 0xFFFFFFFF
            key[i] = x
        self.bits = np.random.MT19937(0)
        self.bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": 624}}

    def _raw(self, n: int) -> np.ndarray:
        return self.bits.random_raw(n).astype(np.uint64)

    def uniforms(self, n: int) -> np.ndarray:
        """torch.bernoulli's uniforms for float32 probabilities: 24 bits of one draw each."""
        return (self._raw(n) & np.uint64(0xFFFFFF)).astype(np.float32) * np.float32(2.0 ** -24)

    def exponentials(self, n: int) -> np.ndarray:
        """Tensor.exponential_'s float32 values: 53 bits of two draws, -log1p(-u) in double, rounded."""
        raw = self._raw(2 * n).reshape(n, 2)
        bits = ((raw[:, 0] << np.uint64(32)) | raw[:, 1]) & np.uint64((1 << 53) - 1)
        return (-np.log1p(-(bits.astype(np.float64) * 2.0 ** -53))).astype(np.float32)


# --- the model ----------------------------------------------------------------------------------------------
class Model:
    def __init__(self, folder: Path):
        self.step = load_session(folder, SETTINGS["networks"]["step"])
        self.sampler = (load_session(folder, SETTINGS["networks"]["nade_sampler"])
                        if "nade_sampler" in SETTINGS["networks"] else None)
        self.heads, self.states = SETTINGS["heads"], SETTINGS["states"]
        self.events = SETTINGS["representation"] == "events"
        self.distribution = SETTINGS["distribution"]

    def run(self, inputs: np.ndarray, state: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        feeds = {"inputs": inputs, **dict(zip(self.states, state))}
        values = self.step.run(self.heads + [f"{s}_out" for s in self.states], feeds)
        return values[:len(self.heads)], values[len(self.heads):]

    def draw(self, heads: list[np.ndarray], temperature: float, rng: TorchCPURandom) -> np.ndarray:
        """One step per row, as MusicModule.draw samples it (tokens (n,) or frames (n, 88))."""
        t = np.float32(temperature)
        if self.events:
            scaled = heads[0] / t
            e = np.exp(scaled - scaled.max(-1, keepdims=True))
            probs = e / e.sum(-1, keepdims=True)
            # torch.multinomial draws one sample as the argmax of p / Exp(1) (an exponential race)
            q = rng.exponentials(probs.size).reshape(probs.shape)
            return np.argmax(probs / q, axis=-1).astype(np.int64)
        n = heads[0].shape[0]
        if self.sampler is not None:  # torch.bernoulli per key, lowest first: n uniforms for each key
            uniforms = np.ascontiguousarray(rng.uniforms(KEYS * n).reshape(KEYS, n).T)
            return self.sampler.run(["frame"], {"visible_bias": heads[0], "hidden_bias": heads[1],
                                                "uniforms": uniforms, "temperature": np.array([t])})[0]
        with np.errstate(over="ignore"):
            probs = (np.float32(1) / (np.float32(1) + np.exp(-(heads[0] / t)))).astype(np.float32)
        return (rng.uniforms(probs.size).reshape(probs.shape) < probs).astype(np.float32)


def generate(model: Model, primer: np.ndarray, length: int, temperature: float, seed: int, pieces: int):
    """``pieces`` rolls of ``len(primer) + length`` steps that begin with the primer (generate.py)."""
    rng = TorchCPURandom(seed)
    layers, hidden = SETTINGS["layers"], SETTINGS["hidden"]
    state = [np.zeros((layers, pieces, hidden), dtype=np.float32) for _ in model.states]
    if model.events:
        primer_tokens = roll_to_events(primer)
        inputs = np.concatenate([np.full((pieces, 1), START, dtype=np.int64),
                                 np.broadcast_to(primer_tokens, (pieces, len(primer_tokens)))], axis=1)
    else:
        frames = np.broadcast_to(primer.astype(np.float32), (pieces,) + primer.shape)
        inputs = np.concatenate([np.zeros((pieces, 1, KEYS), dtype=np.float32), frames], axis=1)
    heads, state = model.run(np.ascontiguousarray(inputs), state)
    drawn = []
    for i in range(length):
        step = model.draw([h[:, -1] for h in heads], temperature, rng)
        drawn.append(step)
        if i + 1 < length:  # the network's reading of the last step is never used
            heads, state = model.run(step[:, None], state)
    out = []
    for p in range(pieces):
        if model.events:
            new = np.array([d[p] for d in drawn], dtype=np.int64)
            out.append(events_to_roll(np.concatenate([roll_to_events(primer), new])))
        else:
            new = np.array([d[p] for d in drawn], dtype=np.float32).astype(np.uint8).reshape(-1, KEYS)
            out.append(np.vstack([primer, new]))
    return out


# --- encoding (tasks/music/encoding.py, rolls.py) ------------------------------------------------------------
def roll_to_events(roll: np.ndarray) -> np.ndarray:
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


def steps_from_roll(roll: np.ndarray) -> list[list[int]]:
    return [[int(k) + LOW for k in np.flatnonzero(frame)] for frame in roll]


def note_runs(roll: np.ndarray) -> list[tuple[int, int, int]]:
    padded = np.vstack([np.zeros((1, KEYS), np.int8), roll.astype(np.int8), np.zeros((1, KEYS), np.int8)])
    change = np.diff(padded, axis=0)
    runs = []
    for key in range(KEYS):
        starts, ends = np.flatnonzero(change[:, key] == 1), np.flatnonzero(change[:, key] == -1)
        runs.extend((int(a), int(b - a), key + LOW) for a, b in zip(starts, ends))
    return sorted(runs)


# --- primers (tasks/music/generate.py, scores.py) -----------------------------------------------------------
_NOTE = re.compile(r"([A-Ga-g])(#{1,4}|-{1,4}|b|n)?(\d+)?")
_STEPS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


def note_midi(token: str) -> int:
    """A note name's MIDI number as music21's Pitch(token).midi gives it: a letter, an accidental (#, ##,
    -, --, b, n) and an octave (4 when none). Other spellings music21 knows (quarter tones) are read by
    music21 where it is installed."""
    match = _NOTE.fullmatch(token)
    if match is None:
        try:
            from music21 import pitch
        except ImportError:
            raise ValueError(token) from None
        return pitch.Pitch(token).midi
    letter, accidental, octave = match.groups()
    alter = {"": 0, "n": 0, "b": -1}.get(accidental or "")
    if alter is None:
        alter = len(accidental) * (1 if accidental[0] == "#" else -1)
    ps = (int(octave) if octave is not None else 4) * 12 + 12 + _STEPS[letter.lower()] + alter
    if ps > 127:  # music21 moves MIDI numbers beyond 127 down by octaves into range
        value = 12 * 9 + ps % 12
        return value + 12 if value < 127 - 12 else value
    return ps


def parse_note_list(text: str) -> np.ndarray:
    steps = text.split()
    roll = np.zeros((len(steps), KEYS), dtype=np.uint8)
    for t, chord in enumerate(steps):
        if chord.lower() in REST_MARKS:
            continue
        for token in filter(None, re.split(r"[,+]", chord)):
            try:
                midi = int(token) if token.lstrip("-").isdigit() else note_midi(token)
            except Exception:
                raise InputError(f"step {t + 1}: '{_shorten(token, 20)}' is not a MIDI number or a note name "
                                   "like C4, F#3, Bb2") from None
            if not LOW <= midi <= HIGH:
                raise InputError(f"step {t + 1}: pitch {midi} is outside the piano (21-108)")
            roll[t, midi - LOW] = 1
    return roll


def path_kind(p: Path) -> str:
    """file, folder, other or missing (suite/data/paths.py): broken links, loops and forbidden paths are errors."""
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        if os.path.islink(p):
            raise InputError(f"{p}: is a broken symbolic link (to {os.readlink(p)}, which does not exist)") from None
        return "missing"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"{p}: is a symbolic link loop (following its links never reaches a file or "
                               "folder)") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise InputError(f"{p}: cannot be read (permission denied on a folder of its path)") from None
        return "missing"
    except ValueError:
        return "missing"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    return "other"


def parse_primer(raw: str, step_ql: float) -> np.ndarray:
    text = raw.strip()
    if text in ("", "-"):
        return np.zeros((0, KEYS), dtype=np.uint8)
    try:
        path = Path(text).expanduser()
    except RuntimeError:
        path = Path(text)
    kind = path_kind(path)
    if kind == "file":
        return score_roll(path, step_ql)
    if kind == "folder":
        raise InputError(f"primer {path} is a folder; give a MIDI/MusicXML/ABC file or notes")
    if path.suffix.lower() in SCORE_SUFFIXES:
        raise InputError(f"primer file {path} not found")
    try:
        return parse_note_list(text)
    except InputError as exc:
        raise InputError(f"the primer {_shorten(text)!r} is neither a file nor valid notes ({exc})") from None


class SkipPiece(Exception):
    pass


def notes_to_roll(notes, step_ql: float) -> np.ndarray:
    cells, dropped = [], 0
    for start, end, pitch in notes:
        if not LOW <= pitch <= HIGH:
            dropped += 1
            continue
        first = math.ceil(start / step_ql - 1e-6)
        last = math.ceil(end / step_ql - 1e-6)
        if last > first:
            cells.append((first, last, pitch - LOW))
    if not cells:
        raise SkipPiece("no notes" + (f" on the keyboard ({dropped} outside MIDI 21-108)" if dropped else ""))
    roll = np.zeros((max(c[1] for c in cells), KEYS), dtype=np.uint8)
    for first, last, key in cells:
        roll[first:last, key] = 1
    return roll


def score_roll(path: Path, step_ql: float) -> np.ndarray:
    """A primer file's first piece as a roll: MIDI read here, other scores through music21."""
    suffix = path.suffix.lower()
    try:
        if suffix not in SCORE_SUFFIXES:
            raise SkipPiece(f"unknown file type '{path.suffix}' (expected {', '.join(SCORE_SUFFIXES)})")
        if suffix in MIDI_SUFFIXES:
            return notes_to_roll(midi_notes(path), step_ql)
        return music21_roll(path, step_ql)
    except SkipPiece as why:
        raise InputError(f"{path}: {why}") from None


def _varlen(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for _ in range(4):
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos
    raise ValueError("a variable-length number longer than 4 bytes")


def midi_notes(path: Path) -> list[tuple[float, float, int]]:
    """(start, end, pitch) in quarter notes from a Standard MIDI File's note events (scores.midi_notes):
    note-on with velocity 0 ends a note, channel 10 (percussion) is left out."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SkipPiece(f"cannot read ({exc.strerror or exc})") from None
    try:
        if data[:4] != b"MThd":
            raise ValueError(f"badly formatted midi bytes, got: {data[:20]!r}")
        length, fmt, ntracks, division = struct.unpack(">IHHH", data[4:14])
        if fmt not in (0, 1):
            raise ValueError(f"cannot handle midi file format: {fmt}")
        if division & 0x8000:
            raise SkipPiece("MIDI with SMPTE time division is not supported")
        per_quarter = division & 0x7FFF
        if not per_quarter:
            raise SkipPiece("MIDI with SMPTE time division is not supported")
        pos, notes = 8 + length, []
        for _ in range(ntracks):
            if data[pos:pos + 4] != b"MTrk":
                raise ValueError("badly formed midi string: missing leading MTrk")
            (size,) = struct.unpack(">I", data[pos + 4:pos + 8])
            track, pos = data[pos + 8:pos + 8 + size], pos + 8 + size
            notes.extend(_track_notes(track, per_quarter))
        return notes
    except SkipPiece:
        raise
    except (ValueError, IndexError, struct.error) as exc:
        raise SkipPiece(f"unreadable MIDI ({type(exc).__name__}: {str(exc)[:120]})") from None


def _track_notes(track: bytes, per_quarter: int) -> list[tuple[float, float, int]]:
    now, pos, status, sounding, notes = 0, 0, None, {}, []
    while pos < len(track):
        delta, pos = _varlen(track, pos)
        now += delta
        byte = track[pos]
        if byte == 0xFF:  # meta event
            _, pos = track[pos + 1], pos + 2
            size, pos = _varlen(track, pos)
            pos += size
            continue
        if byte in (0xF0, 0xF7):  # system exclusive
            size, pos = _varlen(track, pos + 1)
            pos += size
            continue
        if byte & 0x80:
            status, pos = byte, pos + 1
        elif status is None:
            raise ValueError("running status without a previous status byte")
        kind, channel = status & 0xF0, (status & 0x0F) + 1
        size = 1 if kind in (0xC0, 0xD0) else 2
        args, pos = track[pos:pos + size], pos + size
        if len(args) < size:
            raise IndexError("the track ends inside an event")
        if kind not in (0x80, 0x90) or channel == 10:
            continue
        key = (channel, args[0])
        if kind == 0x90 and args[1]:
            sounding.setdefault(key, []).append(now)
        elif sounding.get(key):
            start = sounding[key].pop(0)
            notes.append((start / per_quarter, now / per_quarter, args[0]))
    return notes


def _music21(what: str):
    try:
        import music21
    except ImportError:
        raise InputError(f"{what} needs music21 (pip install music21); MIDI files and note lists need "
                           "nothing more") from None
    return music21


def music21_roll(path: Path, step_ql: float) -> np.ndarray:
    """MusicXML/ABC/Humdrum through music21, as scores.parse_file reads them: the first tune with notes."""
    _music21(f"reading the primer {path.name}")
    from music21 import converter, harmony, stream

    try:
        parsed = converter.parse(str(path))
    except Exception as exc:  # music21 raises many types for corrupt or empty files
        raise SkipPiece(f"unreadable ({type(exc).__name__}: {str(exc)[:120]})") from None
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    for score in scores:
        notes = []
        for element in score.flatten().notes:
            if isinstance(element, harmony.Harmony) or element.quarterLength <= 0:
                continue
            start = float(element.offset)
            notes.extend((start, start + float(element.quarterLength), p.midi) for p in element.pitches)
        try:
            return notes_to_roll(notes, step_ql)
        except SkipPiece:
            if len(scores) == 1:
                raise
    raise SkipPiece("no notes in any tune")


# --- writing (tasks/music/scores.py) -------------------------------------------------------------------------
def _varlen_bytes(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def midi_bytes(roll: np.ndarray, step_ql: float, bpm: int) -> bytes:
    """The one-track MIDI file scores.write_midi writes through music21, byte for byte: a tempo, note-offs
    before note-ons at the same tick, the track ending after the last step even when it is silent."""
    midi = SETTINGS["midi"]
    ticks, velocity, channel = midi["ticks_per_quarter"], midi["velocity"], midi["channel"] - 1
    timed = [(0, 0, b"\xff\x51\x03" + int(round(60_000_000 / bpm)).to_bytes(3, "big"))]
    for first, length, pitch in note_runs(roll):
        timed.append((int(round(first * step_ql * ticks)), 2, bytes([0x90 | channel, pitch, velocity])))
        timed.append((int(round((first + length) * step_ql * ticks)), 1, bytes([0x80 | channel, pitch, 0])))
    timed.append((int(round(len(roll) * step_ql * ticks)), 3, b"\xff\x2f\x00"))
    timed.sort(key=lambda item: (item[0], item[1]))
    body, now = bytearray(), 0
    for tick, _, event in timed:
        body += _varlen_bytes(tick - now) + event
        now = tick
    return b"MThd" + struct.pack(">IHHH", 6, 1, 1, ticks) + b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def write_musicxml(roll: np.ndarray, step_ql: float, path: Path, bpm: int) -> Path:
    """scores.roll_to_score through music21: a note per run of held steps, rests between."""
    _music21("writing MusicXML")
    from music21 import chord, meter, note, stream, tempo

    part = stream.Part()
    part.insert(0, tempo.MetronomeMark(number=bpm))
    part.insert(0, meter.TimeSignature("4/4"))
    onsets: dict[int, dict[int, list[int]]] = {}
    for first, length, pitch in note_runs(roll):
        onsets.setdefault(first, {}).setdefault(length, []).append(pitch)
    for t, by_length in onsets.items():
        for length, pitches in by_length.items():
            element = note.Note(pitches[0]) if len(pitches) == 1 else chord.Chord(pitches)
            element.quarterLength = length * step_ql
            part.insert(t * step_ql, element)
    if len(roll) and not roll[-1].any():
        part.insert((len(roll) - 1) * step_ql, note.Rest(quarterLength=step_ql))
    score = stream.Score()
    score.insert(0, part)
    return Path(score.makeNotation().write("musicxml", fp=str(path)))


def write_score(roll: np.ndarray, step_ql: float, path: Path, bpm: int) -> Path:
    if path.suffix.lower() in XML_SUFFIXES:
        return write_musicxml(roll, step_ql, path, bpm)
    path.write_bytes(midi_bytes(roll, step_ql, bpm))
    return path


def scratch_midi(roll: np.ndarray, step_ql: float, bpm: int) -> str:
    """The piece as MIDI in the temporary folder, named by its content (the suite's own rule and place)."""
    folder = Path(tempfile.gettempdir()) / "rnn-suite-music"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(roll.tobytes() + f"{step_ql}/{bpm}".encode()).hexdigest()[:16]
    path = folder / f"piece-{digest}.mid"
    if not path.exists():
        write_score(roll, step_ql, path, bpm)
    return str(path)


def save(output: dict, path: Path) -> list[str]:
    """MusicTask.save_prediction: MIDI/MusicXML, one file per piece, or the answer as JSON."""
    suffix = path.suffix.lower()
    if suffix not in MIDI_SUFFIXES + XML_SUFFIXES:
        path.write_text(json.dumps(output, indent=2) + "\n", encoding="utf-8")
        return [str(path)]
    written = []
    pieces = output["pieces"]
    for i, piece in enumerate(pieces):
        target = path if len(pieces) == 1 else path.with_name(f"{path.stem}-{i + 1}{path.suffix}")
        roll = np.zeros((len(piece["steps"]), KEYS), dtype=np.uint8)
        for t, pitches in enumerate(piece["steps"]):
            roll[t, [p - LOW for p in pitches]] = 1
        targets = [target]
        if suffix in MIDI_SUFFIXES and output.get("musicxml"):
            targets.append(target.with_suffix(".musicxml"))
        for out in targets:
            try:
                written.append(str(write_score(roll, output["quarter_length"], out, output.get("bpm", 100))))
            except OSError as exc:
                raise InputError(f"{out}: cannot write ({exc})") from None
    output["files"] = written
    return written


# --- the answer (MusicTask.predict) --------------------------------------------------------------------------
def _span(low, high) -> str:
    return " to ".join(f"{v:,}" if isinstance(v, int) else f"{v:g}" for v in (low, high))


def json_request(raw: str) -> dict | None:
    text = raw.strip()
    if not text.startswith("{"):
        return None
    try:
        request = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not a valid JSON request ({exc.msg})") from None
    except RecursionError:
        raise InputError("not a valid JSON request (nested too deeply)") from None
    if not isinstance(request, dict):
        raise InputError("a JSON request must be an object")
    unknown = set(request) - set(REQUEST_FIELDS)
    if unknown:
        raise InputError(f"unknown request field(s) {', '.join(sorted(unknown))}; expected "
                           f"{', '.join(REQUEST_FIELDS)}")
    return request


def request_number(request: dict, key: str, default, option: str, kind: type):
    value = request.get(key, default)
    low, high = SETTINGS["bounds"][option]
    ok = isinstance(value, (int, float) if kind is float else int) and not isinstance(value, bool)
    if not ok or not low <= value <= high:
        what = "an integer" if kind is int else "a number"
        raise InputError(f"'{key}' must be {what} from {_span(low, high)}, got {value!r}")
    return value


def predict(model: Model, raw: str, length: int, temperature: float, seed: int, pieces: int, bpm: int,
            musicxml: bool) -> dict:
    step_ql = SETTINGS["quarter_length"]
    primer_text = raw
    request = json_request(raw)
    if request is not None:
        primer_text = str(request.get("primer") or "-")
        length = request_number(request, "steps", length, "length", int)
        seed = request_number(request, "seed", seed, "gen_seed", int)
        pieces = request_number(request, "pieces", pieces, "pieces", int)
        temperature = request_number(request, "temperature", temperature, "temperature", float)
    primer = parse_primer(primer_text, step_ql)
    rolls = generate(model, primer, length, temperature, seed, pieces)
    steps = [steps_from_roll(r) for r in rolls]
    return {"steps": steps[0], "primer_steps": len(primer), "step": SETTINGS["step"], "quarter_length": step_ql,
            "bpm": bpm, "temperature": float(temperature), "seed": seed, "musicxml": musicxml,
            "pieces": [{"steps": s} for s in steps], "file": scratch_midi(rolls[0], step_ql, bpm)}


def _bounded(option: str, kind: type):
    low, high = SETTINGS["bounds"][option]

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got "
                                             f"{text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {_span(low, high)}, got {text}")
        return value
    return parse


def main(argv=None) -> int:
    gen = SETTINGS["generation"]
    parser = Parser(prog="predict.py", description="Generate music with this exported model, as --predict does.")
    parser.add_argument("input", metavar="PRIMER", help="notes ('C4+E4+G4 D4 r'), a MIDI file, '-' for none, "
                                                        "or a JSON request {primer, temperature, steps, seed, pieces}")
    parser.add_argument("--output", metavar="FILE", help=".mid/.midi (MIDI), .musicxml/.xml (MusicXML, needs "
                                                         "music21) or any other name (the answer as JSON)")
    parser.add_argument("--length", type=_bounded("length", int), default=gen["length"],
                        help=f"steps to generate after the primer (default {gen['length']})")
    parser.add_argument("--temperature", type=_bounded("temperature", float), default=gen["temperature"],
                        help=f"sampling temperature (default {gen['temperature']:g})")
    parser.add_argument("--pieces", type=_bounded("pieces", int), default=gen["pieces"],
                        help=f"pieces to generate (default {gen['pieces']})")
    parser.add_argument("--gen-seed", type=_bounded("gen_seed", int), default=gen["gen_seed"],
                        help=f"random seed of the sampler (default {gen['gen_seed']})")
    parser.add_argument("--bpm", type=_bounded("bpm", int), default=gen["bpm"],
                        help=f"tempo written into MIDI, quarter notes per minute (default {gen['bpm']})")
    parser.add_argument("--musicxml", action=argparse.BooleanOptionalAction, default=gen["musicxml"],
                        help="with a .mid output: also write MusicXML beside it (needs music21)")
    args = parser.parse_args(argv)

    def work() -> None:
        output = output_path(args.output)
        result = predict(Model(HERE), args.input, args.length, args.temperature, args.gen_seed, args.pieces,
                         args.bpm, args.musicxml)
        if output is None:
            print(json.dumps(result))
            return
        existed = output.exists()
        try:
            written = save(result, output)
        except OSError as exc:
            if not existed:
                output.unlink(missing_ok=True)
            raise InputError(f"{output}: cannot write --output ({exc.strerror or exc})") from None
        print(f"wrote {', '.join(written)}")

    return answer(work)


if __name__ == "__main__":
    run(main)

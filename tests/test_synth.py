"""The window's synthesiser (gui/synth.py): right pitch, right length, no clipping, silence where no note is."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from gui import synth
from suite.errors import UserError


def peak_hz(samples: np.ndarray, rate: int = synth.RATE) -> float:
    window = np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * window, n=8 * len(samples)))  # padded: finer bins
    return float(np.fft.rfftfreq(8 * len(samples), 1 / rate)[np.argmax(spectrum)])


def test_a4_sounds_at_440_hz():
    audio = synth.render([synth.Note(69, 0.0, 1.0)])
    steady = audio[int(0.2 * synth.RATE): int(0.9 * synth.RATE)]  # past the attack and decay
    assert abs(peak_hz(steady) - 440.0) <= 2.0
    assert abs(peak_hz(synth.render([synth.Note(60, 0.0, 1.0)])[4000:18000]) - 261.63) <= 2.0  # C4


def test_length_follows_the_notes_and_the_piece():
    notes = [synth.Note(60, 0.0, 0.5), synth.Note(64, 1.0, 0.75)]
    audio = synth.render(notes)
    assert abs(len(audio) / synth.RATE - (1.75 + synth.RELEASE)) < 2 / synth.RATE
    # trailing silence of the piece kept, as the MIDI file keeps it
    assert abs(len(synth.render(notes, length=3.0)) / synth.RATE - (3.0 + synth.RELEASE)) < 2 / synth.RATE


def test_silence_between_notes_and_after_the_release():
    rate = synth.RATE
    audio = synth.render([synth.Note(60, 0.0, 0.5), synth.Note(67, 1.5, 0.5)])
    gap = audio[int((0.5 + synth.RELEASE) * rate) + 1: int(1.5 * rate)]
    assert len(gap) > 0.5 * rate and not gap.any()
    assert np.abs(audio[: int(0.5 * rate)]).max() > 1000 and np.abs(audio[int(1.5 * rate):]).max() > 1000
    assert not audio[int((2.0 + synth.RELEASE) * rate) + 1:].any()


def test_dense_loud_chords_never_clip():
    notes = [synth.Note(p, 0.0, 1.0, velocity=127) for p in range(40, 90, 2)]  # 25 keys at once
    audio = synth.render(notes)
    assert audio.dtype == np.int16
    peak = int(np.abs(audio.astype(int)).max())
    assert 30000 < peak <= 32767  # scaled down to full scale, not wrapped round or flattened
    assert np.mean(np.abs(audio.astype(int)) >= 32767) < 1e-4  # no flat-topped run of clipped samples


def test_velocity_scales_loudness():
    soft = np.abs(synth.render([synth.Note(60, 0, 0.5, velocity=40)]).astype(int)).max()
    loud = np.abs(synth.render([synth.Note(60, 0, 0.5, velocity=120)]).astype(int)).max()
    assert 2.5 < loud / soft < 3.5


def test_notes_from_steps_are_runs_of_held_keys_as_the_midi_writer_has_them():
    steps = [[60, 64], [60, 64], [60], [], [67], [67, 72]]
    notes = synth.notes_from_steps(steps, 0.5)
    assert [(n.pitch, n.onset, n.duration) for n in notes] == [
        (60, 0.0, 1.5), (64, 0.0, 1.0), (67, 2.0, 1.0), (72, 2.5, 0.5)]
    scores = pytest.importorskip("tasks.music.scores")
    rng = np.random.default_rng(0)
    roll = (rng.random((40, 88)) < 0.1).astype(np.uint8)
    steps = [[int(k) + 21 for k in np.flatnonzero(frame)] for frame in roll]
    ours = sorted((round(n.onset), round(n.duration), n.pitch) for n in synth.notes_from_steps(steps, 1.0))
    assert ours == sorted(scores.note_runs(roll))


def test_a_piece_as_a_wav_file(tmp_path):
    out = {"steps": [[69], [69], [], [72]], "quarter_length": 0.5, "bpm": 120}  # a step is 0.25 s
    audio = synth.piece_audio(out)
    assert abs(len(audio) / synth.RATE - (1.0 + synth.RELEASE)) < 2 / synth.RATE
    path = synth.write_wav(tmp_path / "piece.wav", audio)
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, synth.RATE)
        back = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert np.array_equal(back, audio)


def test_a_piece_too_long_to_render_says_so():
    with pytest.raises(UserError, match="minutes"):
        synth.render([synth.Note(60, 0.0, synth.MAX_SECONDS + 1)])

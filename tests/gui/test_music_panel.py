"""The music panel before its first Generate: a keyboard's range and a hint, not empty axes at -500..500."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from gui.panels import MusicPanel
from gui.panels.music import KEYS, LOWEST


def test_before_generate_the_roll_shows_the_keyboard_and_says_what_to_do(qtbot):
    answers = []
    panel = MusicPanel(lambda raw, on_done, explain=False: answers.append(raw) or on_done(
        {"steps": [[60], [64], [67]], "primer_steps": 0, "file": None}))
    qtbot.addWidget(panel)
    panel.resize(800, 600)
    panel.show()
    QApplication.processEvents()
    axis = panel.roll_plot.getAxis("left")
    assert "x0.001" not in axis.labelString() and "MIDI 60" in axis.labelString()
    (x0, x1), (y0, y1) = panel.roll_plot.getViewBox().viewRange()
    assert LOWEST - 2 <= y0 <= LOWEST and LOWEST + KEYS <= y1 <= LOWEST + KEYS + 2
    assert -1 <= x0 <= 0 and panel.length.value() <= x1 <= panel.length.value() + 2
    assert panel.hint.isVisible() and "Generate" in panel.hint.text()
    names = [label for _, label in axis._tickLevels[0]] if axis._tickLevels else []
    assert "C4" in names  # pitches by name, where a player looks for them
    panel.generate()
    assert answers and not panel.hint.isVisible()


# --- listening (gui/synth.py through Qt Multimedia, the audio extra) ------------------------------------
PIECE = {"steps": [[60], [60, 64], [], [67]], "primer_steps": 0, "file": None, "quarter_length": 0.5, "bpm": 120}


class FakePlayer:
    """Stands in for gui.player.Player: no audio device offscreen."""

    made: list["FakePlayer"] = []

    def __init__(self, parent=None):
        from PySide6.QtCore import QObject, Signal

        class Signals(QObject):
            playing = Signal(bool)
            failed = Signal(str)
        self._signals = Signals()
        self.playing, self.failed = self._signals.playing, self._signals.failed
        self.played: list[str] = []
        self.stopped = 0
        FakePlayer.made.append(self)

    def play(self, path):
        self.played.append(str(path))

    def stop(self):
        self.stopped += 1


def read_wav(path):
    import wave

    import numpy as np

    with wave.open(str(path)) as wav:
        return wav.getframerate(), np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


def music_panel(qtbot, monkeypatch, why_not=None):
    import gui.player

    monkeypatch.setattr(gui.player, "unavailable", lambda: why_not)
    monkeypatch.setattr(gui.player, "Player", FakePlayer)
    FakePlayer.made.clear()
    panel = MusicPanel(lambda raw, on_done, explain=False: on_done(dict(PIECE)))
    qtbot.addWidget(panel)
    panel.show()
    return panel


def test_listen_plays_the_rendered_piece_and_stop_stops_it(qtbot, monkeypatch):
    from gui import synth

    panel = music_panel(qtbot, monkeypatch)
    assert not panel.listen_button.isEnabled()  # nothing generated yet
    panel.generate()
    assert panel.listen_button.isEnabled() and not panel.stop_button.isEnabled()
    panel.listen_button.click()
    qtbot.waitUntil(lambda: bool(FakePlayer.made and FakePlayer.made[0].played), timeout=10_000)
    rate, samples = read_wav(FakePlayer.made[0].played[0])
    assert rate == synth.RATE and abs(len(samples) / rate - (4 * 0.25 + synth.RELEASE)) < 0.01
    assert panel.stop_button.isEnabled() and not panel.listen_button.isEnabled()
    assert "s of audio" in panel.audio_status.text()
    panel.stop_button.click()
    assert FakePlayer.made[0].stopped and not panel.stop_button.isEnabled() and panel.listen_button.isEnabled()
    FakePlayer.made[0].playing.emit(True)  # the player's own state is followed too (the piece ends by itself)
    assert panel.stop_button.isEnabled()
    FakePlayer.made[0].playing.emit(False)
    assert not panel.stop_button.isEnabled() and panel.listen_button.isEnabled()


def test_a_new_piece_stops_the_old_one_and_is_rendered_afresh(qtbot, monkeypatch):
    panel = music_panel(qtbot, monkeypatch)
    panel.generate()
    panel.listen_button.click()
    qtbot.waitUntil(lambda: bool(FakePlayer.made and FakePlayer.made[0].played), timeout=10_000)
    first = panel.audio
    panel.receive({**PIECE, "steps": [[72]] * 8})
    assert FakePlayer.made[0].stopped and panel.audio is None
    panel.listen_button.click()
    qtbot.waitUntil(lambda: len(FakePlayer.made[0].played) == 2, timeout=10_000)
    assert len(panel.audio) > len(first)


def test_without_qt_multimedia_listen_says_which_extra_and_save_audio_still_works(qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog

    from gui.player import INSTALL

    panel = music_panel(qtbot, monkeypatch, why_not=f"listening needs Qt Multimedia, the audio extra: {INSTALL}")
    panel.generate()
    assert not panel.listen_button.isEnabled() and "rnn-suite[audio]" in panel.listen_button.toolTip()
    assert panel.save_audio_button.isEnabled()
    target = tmp_path / "my piece"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "WAV audio (*.wav)"))
    panel.save_audio_button.click()
    wav = tmp_path / "my piece.wav"
    qtbot.waitUntil(wav.exists, timeout=10_000)
    qtbot.waitUntil(lambda: "saved" in panel.audio_status.text(), timeout=10_000)
    rate, samples = read_wav(wav)
    assert len(samples) > rate and samples.any() and not FakePlayer.made


def test_save_audio_into_a_missing_folder_says_so(qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog

    panel = music_panel(qtbot, monkeypatch)
    panel.generate()
    target = tmp_path / "no such folder" / "piece.wav"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    panel.save_audio_button.click()
    qtbot.waitUntil(lambda: "cannot save" in panel.audio_status.text(), timeout=10_000)
    assert str(target) in panel.audio_status.text()


def test_a_silent_piece_has_nothing_to_listen_to(qtbot, monkeypatch):
    panel = music_panel(qtbot, monkeypatch)
    panel.receive({**PIECE, "steps": [[], [], []]})
    assert not panel.listen_button.isEnabled() and not panel.save_audio_button.isEnabled()


def test_the_wav_loads_into_qt_multimedia(qtbot, tmp_path):
    from gui import player, synth

    if player.multimedia() is None:  # an audio device is not needed to load a file
        pytest.skip(player.unavailable())
    from PySide6.QtCore import QUrl
    from PySide6.QtMultimedia import QMediaPlayer

    path = synth.write_wav(tmp_path / "piece.wav", synth.piece_audio(PIECE))
    media = QMediaPlayer()
    errors = []
    media.errorOccurred.connect(lambda error, message: errors.append(message))
    media.setSource(QUrl.fromLocalFile(str(path)))
    qtbot.waitUntil(lambda: bool(errors) or media.mediaStatus() == QMediaPlayer.MediaStatus.LoadedMedia, timeout=10_000)
    assert not errors and media.duration() > 1000  # ms: 1 s of notes and the release


def test_without_the_addons_wheel_the_reason_names_the_extra(monkeypatch):
    from types import SimpleNamespace

    import gui.player as player

    def missing(name):
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    monkeypatch.setattr(player, "_multimedia", None)
    monkeypatch.setattr(player, "_why_not", None)
    monkeypatch.setattr(player, "importlib", SimpleNamespace(import_module=missing))
    assert player.multimedia() is None and 'pip install "rnn-suite[audio]"' in player.unavailable()
    monkeypatch.setattr(player, "_why_not", None)

    def no_libpulse(name):
        raise ImportError("libpulse.so.0: cannot open shared object file")
    monkeypatch.setattr(player, "importlib", SimpleNamespace(import_module=no_libpulse))
    assert "libpulse.so.0" in player.unavailable()

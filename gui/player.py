"""Playing a WAV file through Qt Multimedia, which is optional: the ``audio`` extra (PySide6-Addons).

Qt Multimedia is imported on first use, never with the window: without it (or without the system's audio
libraries it loads, e.g. libpulse) ``unavailable()`` says why and how to get it, and the rest works.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal

INSTALL = 'pip install "rnn-suite[audio]"'
_multimedia = None
_why_not: str | None = None


def multimedia():
    """PySide6.QtMultimedia, or None (then ``unavailable()`` says why)."""
    global _multimedia, _why_not
    if _multimedia is None and _why_not is None:
        try:
            module = importlib.import_module("PySide6.QtMultimedia")
        except ImportError as exc:  # the Addons wheel missing, or a system library it needs
            missing = isinstance(exc, ModuleNotFoundError) and exc.name == "PySide6.QtMultimedia"
            _why_not = (f"listening needs Qt Multimedia, the audio extra: {INSTALL}" if missing else
                        f"Qt Multimedia cannot load ({exc}); install the system library it names")
        else:
            _multimedia = module
    return _multimedia


def unavailable() -> str | None:
    """Why a piece cannot be played here, or None when it can."""
    qm = multimedia()
    if qm is None:
        return _why_not
    if not qm.QMediaDevices.audioOutputs():  # asked each time: headphones may be plugged in meanwhile
        return "no audio output device found (Save audio… still writes the WAV)"
    return None


class Player(QObject):
    """One WAV file at a time through the default audio output; ``playing(bool)`` as it starts and stops."""

    playing = Signal(bool)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        qm = multimedia()
        if qm is None:
            raise RuntimeError(unavailable())
        self._qm = qm
        self.output = qm.QAudioOutput(self)
        self.media = qm.QMediaPlayer(self)
        self.media.setAudioOutput(self.output)
        self.media.playbackStateChanged.connect(
            lambda state: self.playing.emit(state == qm.QMediaPlayer.PlaybackState.PlayingState))
        self.media.errorOccurred.connect(lambda _error, message: self.failed.emit(message or "cannot play the audio"))

    def play(self, path: str | Path) -> None:
        self.media.stop()
        self.media.setSource(QUrl.fromLocalFile(str(path)))
        self.media.play()

    def stop(self) -> None:
        self.media.stop()

    def is_playing(self) -> bool:
        return self.media.playbackState() == self._qm.QMediaPlayer.PlaybackState.PlayingState

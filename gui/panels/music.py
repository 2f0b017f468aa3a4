"""Music out: generate with temperature, length, seed and a primer; see the piano roll; save the MIDI."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QApplication, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

from .. import player, synth
from ..jobs import Job
from .base import Ask, Panel

LOWEST, KEYS = 21, 88  # the piano keyboard, A0 to C8


def piano_roll(steps: list[list[int]]) -> np.ndarray:
    """(steps, 88) 0/1 matrix from a list of sounding MIDI pitches per step."""
    roll = np.zeros((len(steps), KEYS), dtype=np.float32)
    for t, pitches in enumerate(steps):
        for pitch in pitches:
            if LOWEST <= pitch < LOWEST + KEYS:
                roll[t, pitch - LOWEST] = 1.0
    return roll


_rendering: set[Job] = set()
_quit_waits = None  # the application whose quitting waits for them


def keep_until_finished(job: Job) -> None:
    """Hold a render job that has no parent until it ends, so that closing the panel (another run opened) does
    not destroy a running thread, which aborts the process; on quitting, wait for it for the same reason."""
    global _quit_waits
    app = QApplication.instance()
    if app is not None and _quit_waits is not app:
        _quit_waits = app
        app.aboutToQuit.connect(lambda: [j.wait() for j in list(_rendering)])
    _rendering.add(job)
    job.finished.connect(lambda: _rendering.discard(job))


class MusicPanel(Panel):
    """The request is a JSON object (primer, temperature, steps, seed) that the task's predict reads."""

    expects = ("steps",)

    def __init__(self, ask: Ask, parent: QWidget | None = None):
        super().__init__(ask, parent)
        self.primer = QLineEdit(self)
        self.primer.setPlaceholderText("primer: a MIDI/MusicXML file, or notes like 'C4 E4 G4', or empty")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        self.temperature = QDoubleSpinBox(self)
        self.temperature.setRange(0.05, 3.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(1.0)
        self.length = QSpinBox(self)
        self.length.setRange(1, 10000)
        self.length.setValue(64)
        self.seed = QSpinBox(self)
        self.seed.setRange(0, 2**31 - 1)
        generate = QPushButton("Generate", self)
        generate.clicked.connect(self.generate)
        self.save_button = QPushButton("Save MIDI…", self)
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self._save)
        # the piece through a small synthesiser (gui/synth.py), rendered off the GUI thread on first use
        self.listen_button = QPushButton("Listen", self)
        self.stop_button = QPushButton("Stop", self)
        self.save_audio_button = QPushButton("Save audio…", self)
        for button in (self.listen_button, self.stop_button, self.save_audio_button):
            button.setEnabled(False)
            button.setToolTip("generate a piece first")
        self.listen_button.clicked.connect(self.listen)
        self.stop_button.clicked.connect(self.stop)
        self.save_audio_button.clicked.connect(self._save_audio)
        self.audio_status = QLabel(self)
        self.audio_status.setStyleSheet("color: gray")
        self.player = None  # made on the first Listen: Qt Multimedia loads its audio back-end then
        self.audio: np.ndarray | None = None  # the current piece's samples, once rendered
        self.render_job: Job | None = None
        self._then = None  # what to do with the samples once rendered
        self._scratch = tempfile.TemporaryDirectory(prefix="rnn-suite-audio-")
        primer_row = QHBoxLayout()
        primer_row.addWidget(self.primer, 1)
        primer_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Primer", primer_row)
        form.addRow("Temperature", self.temperature)
        form.addRow("Length (steps)", self.length)
        form.addRow("Seed", self.seed)
        buttons = QHBoxLayout()
        buttons.addWidget(generate)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.listen_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.save_audio_button)
        buttons.addWidget(self.audio_status, 1)
        self.roll_plot = pg.PlotWidget(self)
        self.roll_plot.setLabel("bottom", "step")
        self.roll_plot.setLabel("left", "pitch (C4 = MIDI 60)")
        for side in ("left", "bottom"):  # pitches and steps are whole numbers: no "(x0.001)" scaling
            self.roll_plot.getAxis(side).enableAutoSIPrefix(False)
        # the Cs by name, where a player looks for them (MIDI 60 is C4)
        self.roll_plot.getAxis("left").setTicks([[(p, f"C{p // 12 - 1}") for p in range(24, 109, 12)]])
        self.hint = QLabel(self)
        self.hint.setWordWrap(True)
        self.length.valueChanged.connect(lambda _: self._empty_roll())
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("CET-L8"))
        self.roll_plot.addItem(self.image)
        self.primer_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("r", width=1, style=Qt.PenStyle.DashLine))
        self.roll_plot.addItem(self.primer_line)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.hint)
        layout.addWidget(self.roll_plot, 1)
        layout.addWidget(self.fallback, 1)
        self._empty_roll()

    def _empty_roll(self) -> None:
        """Before the first piece: the keyboard's range over the chosen length, and what to press."""
        if self.output is not None:
            return
        self.hint.setText(f"Press Generate to write {self.length.value()} steps after the primer (or from "
                          "silence, if there is none); the piano roll appears here.")
        self.roll_plot.setRange(xRange=(0, self.length.value()), yRange=(LOWEST, LOWEST + KEYS), padding=0)

    def request(self) -> str:
        return json.dumps({"primer": self.primer.text().strip(), "temperature": self.temperature.value(),
                           "steps": self.length.value(), "seed": self.seed.value()})

    def start(self, example: str) -> None:
        self.primer.setText(example)

    def generate(self) -> None:
        self.ask(self.request())

    def show_output(self, out: dict) -> None:
        self.hint.hide()
        roll = piano_roll(out["steps"])
        # brighter where the model generated, dimmer over the primer it was given
        primer = int(out.get("primer_steps") or 0)
        roll[:primer] *= 0.5
        self.image.setImage(roll, levels=(0.0, 1.0))
        self.image.setRect(0, LOWEST, roll.shape[0], KEYS)
        self.roll_plot.setRange(xRange=(0, max(1, roll.shape[0])), yRange=(LOWEST, LOWEST + KEYS), padding=0)
        self.primer_line.setValue(primer)
        self.primer_line.setVisible(primer > 0)
        self.save_button.setEnabled(bool(out.get("file")))
        self.stop()
        self.audio, self._then = None, None  # a new piece: rendered again when asked for
        self.audio_status.setText("")
        has_notes = any(out["steps"])
        why_not = player.unavailable()
        self.listen_button.setEnabled(has_notes and why_not is None)
        self.listen_button.setToolTip(why_not or "play the piece through a small synthesiser (gui/synth.py)")
        self.save_audio_button.setEnabled(has_notes)
        self.save_audio_button.setToolTip(f"the piece as a WAV file ({synth.RATE} Hz, mono, 16-bit), as Listen plays it"
                                          if has_notes else "the piece is silent: nothing to save")
        self.stop_button.setToolTip("stop playing")

    # --- listening ---------------------------------------------------------------------------------------
    def _with_audio(self, then) -> None:
        """``then(samples)`` with the current piece's audio, rendering it in the background the first time."""
        if self.audio is not None:
            then(self.audio)
            return
        self._then = then
        if self.render_job is not None:
            return  # one render at a time: the running one (or, for another piece, the next) calls ``then``
        self.audio_status.setText("rendering the audio…")
        output = self.output
        self.render_job = job = Job(lambda: synth.piece_audio(output))
        job.piece = output
        keep_until_finished(job)
        # bound methods: Qt drops the connections when the panel is destroyed first
        job.done.connect(self._rendered)
        job.failed.connect(self._render_failed)
        job.finished.connect(self._render_next)
        job.start()

    def _render_next(self) -> None:
        self.render_job = None
        if self._then is not None and self.audio is None:  # asked for while an older piece was rendering
            self._with_audio(self._then)

    def _render_failed(self, message: str) -> None:
        self._then = None
        self.audio_status.setText(f"cannot render: {message}")

    def _rendered(self, samples: np.ndarray) -> None:
        if self.render_job is None or self.render_job.piece is not self.output:  # another piece came meanwhile
            return
        self.audio = samples
        self.audio_status.setText(f"{len(samples) / synth.RATE:.1f} s of audio")
        then, self._then = self._then, None
        if then is not None:
            then(samples)

    def listen(self) -> None:
        if self.output is None or player.unavailable():
            return
        self._with_audio(self._play)

    def _play(self, samples: np.ndarray) -> None:
        if self.player is None:
            self.player = player.Player(self)
            self.player.playing.connect(self._playing)
            self.player.failed.connect(lambda message: self.audio_status.setText(f"cannot play: {message}"))
        # a fresh name each time: the player may still hold the previous file open
        handle, name = tempfile.mkstemp(suffix=".wav", dir=self._scratch.name)
        os.close(handle)
        path = Path(name)
        try:
            synth.write_wav(path, samples)
        except OSError as exc:
            self.audio_status.setText(f"cannot write the audio to {path}: {exc}")
            return
        self.player.play(path)
        self._playing(True)

    def _playing(self, on: bool) -> None:
        self.stop_button.setEnabled(on)
        self.listen_button.setEnabled(not on and self.output is not None and player.unavailable() is None
                                      and any(self.output.get("steps") or []))

    def stop(self) -> None:
        if self.player is not None:
            self.player.stop()
        self._playing(False)

    def _save_audio(self) -> None:
        if self.output is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save audio", "piece.wav", "WAV audio (*.wav)")
        if path:
            if not path.lower().endswith(".wav"):
                path += ".wav"
            self._with_audio(lambda samples: self._write_audio(path, samples))

    def _write_audio(self, path: str, samples: np.ndarray) -> None:
        try:
            synth.write_wav(path, samples)
        except OSError as exc:
            self.audio_status.setText(f"cannot save {path}: {exc.strerror or exc}")
        else:
            self.audio_status.setText(f"saved {path} ({len(samples) / synth.RATE:.1f} s)")

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Primer", "", "Music (*.mid *.midi *.xml *.musicxml *.mxl *.abc)")
        if path:
            self.primer.setText(path)

    def _save(self) -> None:
        if not (self.output and self.output.get("file")):
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save MIDI", "piece.mid", "MIDI (*.mid)")
        if path:
            shutil.copyfile(self.output["file"], path)

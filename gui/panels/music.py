"""Music out: generate with temperature, length, seed and a primer; see the piano roll; save the MIDI."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

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
        buttons.addStretch(1)
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

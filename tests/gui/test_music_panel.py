"""The music panel before its first Generate: a keyboard's range and a hint, not empty axes at -500..500."""

from __future__ import annotations

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

"""Prediction panels: each output kind's view of a task's predict output, and the JSON fallback."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from gui.panels import JsonPanel, LabelPanel, MusicPanel, TagsPanel, TranslationPanel, panel_class
from gui.panels.music import piano_roll
from gui.panels.tags import tag_colour, tag_type


class Asker:
    """Stands in for PredictPanel.ask: records requests and answers with a canned output."""

    def __init__(self, answer=None):
        self.requests: list[str] = []
        self.answer = answer

    def __call__(self, raw, on_done):
        self.requests.append(raw)
        if self.answer is not None:
            on_done(self.answer)


@pytest.fixture
def make(qtbot):
    def build(cls, answer=None):
        asker = Asker(answer)
        panel = cls(asker)
        qtbot.addWidget(panel)
        panel.show()
        return panel, asker
    return build


def test_each_output_kind_has_its_panel_and_unknown_kinds_get_json():
    assert panel_class("label") is LabelPanel
    assert panel_class("tags") is TagsPanel
    assert panel_class("text") is TranslationPanel
    assert panel_class("music") is MusicPanel
    assert panel_class("a-plugin-kind") is JsonPanel


def test_label_panel_orders_bars_by_probability_and_names_the_label(make):
    panel, _ = make(LabelPanel)
    panel.receive({"label": "positive", "probabilities": {"negative": 0.2, "positive": 0.8}})
    assert list(panel.bars) == ["positive", "negative"]
    assert panel.bars["positive"].value() == 800 and panel.bars["negative"].value() == 200
    assert panel.verdict.text().startswith("positive") and "80.0 %" in panel.verdict.text()
    panel.receive({"label": "negative", "probabilities": {"negative": 0.9, "positive": 0.1}})
    assert list(panel.bars) == ["negative", "positive"]  # rebuilt in the new order


def test_typing_asks_once_after_the_pause(make, qtbot):
    panel, asker = make(LabelPanel, {"label": "a", "probabilities": {"a": 1.0}})
    for prefix in ("g", "go", "goo", "good"):
        panel.input.setText(prefix)
    qtbot.waitUntil(lambda: bool(asker.requests), timeout=2000)
    qtbot.wait(400)
    assert asker.requests == ["good"]


def test_an_output_of_another_shape_is_shown_as_json(make):
    panel, _ = make(LabelPanel)
    panel.receive({"score": 3})
    assert panel.fallback.isVisible() and json.loads(panel.fallback.toPlainText()) == {"score": 3}
    panel.receive({"label": "x", "probabilities": {"x": 1.0}})
    assert not panel.fallback.isVisible()


def test_tag_types_and_stable_colours():
    assert tag_type("B-PER") == tag_type("I-PER") == "PER"
    assert tag_type("NOUN") == "NOUN"
    assert tag_colour("O") is None
    assert tag_colour("B-LOC") == tag_colour("I-LOC") and tag_colour("B-LOC").startswith("#")


def test_tags_panel_colours_entities_and_lists_them(make):
    panel, _ = make(TagsPanel)
    panel.receive({"tokens": ["Ada", "Lovelace", "lived", "in", "London"],
                   "tags": ["B-person", "I-person", "O", "O", "B-location"],
                   "entities": [{"text": "Ada Lovelace", "type": "person", "start": 0, "end": 2},
                                {"text": "London", "type": "location", "start": 4, "end": 5}]})
    page = panel.view.toHtml()
    assert "Lovelace" in page and "B-person" in page
    assert QColor(tag_colour("person")).name() in page.lower()
    assert panel.entities.rowCount() == 2
    assert panel.entities.item(0, 0).text() == "Ada Lovelace" and panel.entities.item(1, 1).text() == "location"


def test_translation_panel_shows_the_attention_heat_map(make):
    panel, _ = make(TranslationPanel)
    attention = [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]]
    panel.receive({"translation": "a dog", "source_tokens": ["ein", "Hund", "."],
                   "target_tokens": ["a", "dog"], "attention": attention})
    assert panel.result.text() == "a dog" and panel.heat.isVisible()
    assert np.allclose(panel.image.image, np.asarray(attention).T)
    panel.receive({"translation": "no attention here"})
    assert not panel.heat.isVisible()


def test_piano_roll_places_pitches_on_the_keyboard():
    roll = piano_roll([[60, 64], [], [21, 108, 200]])
    assert roll.shape == (3, 88)
    assert roll[0, 60 - 21] == roll[0, 64 - 21] == 1 and roll[1].sum() == 0
    assert roll[2, 0] == roll[2, 87] == 1 and roll[2].sum() == 2  # 200 is off the keyboard


def test_music_panel_sends_its_settings_and_draws_the_roll(make):
    out = {"steps": [[60], [62], [64, 67]], "primer_steps": 1, "file": None}
    panel, asker = make(MusicPanel, out)
    panel.temperature.setValue(0.7)
    panel.length.setValue(32)
    panel.seed.setValue(5)
    panel.primer.setText("C4 D4")
    panel.generate()
    assert json.loads(asker.requests[-1]) == {"primer": "C4 D4", "temperature": 0.7, "steps": 32, "seed": 5}
    assert panel.image.image.shape == (3, 88)
    assert panel.image.image[0, 60 - 21] == 0.5 and panel.image.image[2, 67 - 21] == 1.0  # primer dimmed
    assert not panel.save_button.isEnabled()  # no file written: nothing to save


def test_plots_follow_a_palette_change(make, qtbot):
    from gui.theme import recolour_plots

    panel, _ = make(TranslationPanel)
    app = QApplication.instance()
    old = app.palette()
    dark = QPalette(old)
    dark.setColor(QPalette.ColorRole.Window, QColor(30, 30, 30))
    dark.setColor(QPalette.ColorRole.WindowText, QColor(230, 230, 230))
    try:
        app.setPalette(dark)
        recolour_plots(panel)
        assert panel.heat.backgroundBrush().color() == QColor(30, 30, 30)
        axis = panel.heat.getAxis("left")
        assert axis.pen().color() == QColor(230, 230, 230)
    finally:
        app.setPalette(old)


def test_closing_the_prediction_panel_waits_for_its_job_and_starts_no_more(qtbot):
    """A thread destroyed while running aborts the whole process: closing must wait for it."""
    import threading

    from gui.predict_panel import PredictPanel

    panel = PredictPanel()
    qtbot.addWidget(panel)
    release, finished = threading.Event(), []
    panel._start(lambda: (release.wait(5), finished.append(1)), lambda _: None)
    qtbot.waitUntil(panel.job.isRunning, timeout=2000)
    threading.Timer(0.3, release.set).start()
    panel.close()
    assert finished == [1] and not panel.job.isRunning()
    panel._start(lambda: finished.append(2), lambda _: None)  # e.g. a debounce timer firing late
    qtbot.wait(100)
    assert finished == [1]

"""The translation panel's heat maps by words (pieces merged) with a toggle back to pieces, and a colour bar."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from gui.panels import TranslationPanel
from gui.panels.subwords import merge, words

# as the translation task answers (BPE pieces with metaspace marks), from a tiny Multi30k run
SOURCE = ["▁Ein", "▁Mann", "▁fähr", "t", "▁Straß", "e."]
TARGET = ["▁A", "▁man", "▁ri", "des", "."]
rng = np.random.default_rng(0)
ATTENTION = rng.dirichlet(np.ones(len(SOURCE)), size=len(TARGET))  # each row sums to 1


def answer(**more):
    return {"translation": "A man rides.", "source_tokens": SOURCE, "target_tokens": TARGET,
            "attention": ATTENTION.round(5).tolist(), **more}


def ticks(plot, side):
    return [label for _, label in plot.getAxis(side)._tickLevels[0]]


@pytest.mark.parametrize("pieces, expected, groups", [
    (SOURCE, ["Ein", "Mann", "fährt", "Straße."], [[0], [1], [2, 3], [4, 5]]),
    (["▁", "E", "s", "▁", "i"], ["Es", "i"], [[0, 1, 2], [3, 4]]),  # char mode: the mark is a piece of its own
    (["ĠThe", "Ġf", "Ã¤", "hrt"], ["The", "fährt"], [[0], [1, 2, 3]]),  # byte-level
    (["the", "rid", "##es", "[UNK]", "##x"], ["the", "rides", "[UNK]", "##x"], [[0], [1, 2], [3], [4]]),
    (["ri", "des</w>", "a</w>"], ["rides", "a"], [[0, 1], [2]]),  # classic BPE end-of-word
    (["▁a", "<unk>", "▁b"], ["a", "<unk>", "b"], [[0], [1], [2]]),  # specials stand alone
    (["ein", "Hund", "."], ["ein", "Hund", "."], [[0], [1], [2]]),  # whole words: nothing to merge
])
def test_pieces_make_words_by_their_tokenizers_marks(pieces, expected, groups):
    assert words(pieces) == (expected, groups)


def test_attention_sums_over_a_source_words_pieces_and_averages_an_output_words():
    merged = merge(ATTENTION, words(TARGET)[1], words(SOURCE)[1])
    assert merged.shape == (3, 4)  # "rides." is one word: the "." piece has no space mark before it
    assert np.allclose(merged.sum(axis=1), 1.0)  # still a distribution over the source per output word
    assert np.isclose(merged[0, 2], ATTENTION[0, 2] + ATTENTION[0, 3])
    assert np.isclose(merged[2, 0], ATTENTION[2:5, 0].mean())
    assert np.allclose(merge(ATTENTION, words(TARGET)[1], words(SOURCE)[1], rows="sum")[2],
                       merge(ATTENTION[2:5], [[0, 1, 2]], words(SOURCE)[1], rows="sum")[0])


def test_heat_map_shows_words_and_the_toggle_shows_the_pieces(qtbot):
    panel = TranslationPanel(lambda raw, on_done, explain=False: on_done(answer()))
    qtbot.addWidget(panel)
    panel.show()
    panel.receive(answer())
    assert panel.pieces.isEnabled() and not panel.pieces.isChecked()
    assert ticks(panel.heat, "bottom") == ["Ein", "Mann", "fährt", "Straße."]
    assert ticks(panel.heat, "left") == ["A", "man", "rides."]
    image = panel.image.image.T  # (output words, source words)
    assert image.shape == (3, 4) and np.allclose(image.sum(axis=1), 1.0, atol=1e-4)
    assert "words" in panel.heat.getPlotItem().titleLabel.text and "sum" in panel.heat.toolTip()
    assert "sum" in panel.pieces.toolTip() and "mean" in panel.pieces.toolTip()
    panel.pieces.setChecked(True)
    assert ticks(panel.heat, "bottom") == SOURCE and ticks(panel.heat, "left") == TARGET
    assert np.allclose(panel.image.image.T, ATTENTION, atol=1e-5)
    assert "pieces" in panel.heat.getPlotItem().titleLabel.text


def test_whole_word_tokens_leave_nothing_to_toggle(qtbot):
    panel = TranslationPanel(lambda *a, **k: None)
    qtbot.addWidget(panel)
    panel.receive({"translation": "a dog", "source_tokens": ["ein", "Hund", "."], "target_tokens": ["a", "dog"],
                   "attention": [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]]})
    assert not panel.pieces.isEnabled()
    assert ticks(panel.heat, "bottom") == ["ein", "Hund", "."]


def test_the_heat_map_has_a_named_0_to_1_colour_bar(qtbot):
    panel = TranslationPanel(lambda *a, **k: None)
    qtbot.addWidget(panel)
    panel.show()
    panel.receive(answer())
    bars = [item for item in panel.heat.getPlotItem().scene().items() if isinstance(item, pg.ColorBarItem)]
    assert bars == [panel.colour_bar]
    assert tuple(panel.colour_bar.levels()) == (0.0, 1.0) and tuple(panel.image.levels) == (0.0, 1.0)
    label = panel.colour_bar.getAxis("left").labelText
    assert "attention weight" in label and "0-1" in label
    # a diffuse sentence is not stretched to look as sharp as a peaked one
    panel.receive(answer(attention=np.full((len(TARGET), len(SOURCE)), 1 / len(SOURCE)).tolist()))
    assert tuple(panel.image.levels) == (0.0, 1.0)


def test_attributions_are_summed_over_pieces_on_both_axes(qtbot):
    values = rng.normal(size=(len(TARGET), len(SOURCE)))
    explanation = {"target_tokens": TARGET, "source_tokens": SOURCE, "attributions": values.tolist(),
                   "target": "each output token's log-probability", "steps": 8,
                   "completeness": {"holds": True, "relative_error": 0.001}}
    panel = TranslationPanel(lambda raw, on_done, explain=False: on_done(answer(explanation=explanation)))
    qtbot.addWidget(panel)
    panel.show()
    panel.enable_attributions()
    panel.attributions.setChecked(True)
    panel.receive(answer(explanation=explanation))
    assert panel.attr_heat.isVisible()
    shown = panel.attr_image.image.T
    assert shown.shape == (3, 4) and np.isclose(shown[2, 2], values[2:5, 2:4].sum())
    assert [panel.explained.itemText(i) for i in range(panel.explained.count())][2] == "3. rides."
    scale = np.abs(shown).max()
    assert np.allclose(panel.attr_bar.levels(), (-scale, scale))
    panel.pieces.setChecked(True)
    assert panel.attr_image.image.T.shape == (5, 6) and panel.explained.count() == 5

"""The tagging Try it panel (issue 19): tag colours whose words read in light and dark palettes, a legend
of the tags present, and no entity table for part-of-speech tags."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from gui.panels import TagsPanel
from gui.panels.tag_colours import HUES, MIN_CONTRAST, UPOS, chip, contrast
from gui.panels.tags import is_entity_tagging, legend_entries, tag_colour

NER = {"tokens": ["Barack", "Obama", "visited", "Paris", "with", "Google", "staff"],
       "tags": ["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG", "O"],
       "entities": [{"text": "Barack Obama", "type": "PER", "start": 0, "end": 2},
                    {"text": "Paris", "type": "LOC", "start": 3, "end": 4},
                    {"text": "Google", "type": "ORG", "start": 5, "end": 6}], "scheme": "bio"}
POS = {"tokens": ["The", "cat", "sat", "on", "the", "mat", "."],
       "tags": ["DET", "NOUN", "VERB", "ADP", "DET", "NOUN", "PUNCT"], "entities": [], "scheme": "none"}
WNUT = ["person", "location", "corporation", "group", "product", "creative-work"]


def dark() -> QPalette:
    palette = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, "#2b2b2b"), (QPalette.ColorRole.WindowText, "#e8e8e8"),
                         (QPalette.ColorRole.Base, "#1e1e1e"), (QPalette.ColorRole.Text, "#e8e8e8"),
                         (QPalette.ColorRole.Button, "#353535"), (QPalette.ColorRole.ButtonText, "#e8e8e8")):
        palette.setColor(role, QColor(colour))
    return palette


@pytest.fixture
def palette(qapp):
    """Sets the application's palette for a test (as the system's theme does) and restores it after."""
    before = QApplication.palette()
    yield QApplication.setPalette
    QApplication.setPalette(before)


@pytest.fixture
def panel(qtbot):
    panel = TagsPanel(lambda raw, on_done, explain=False: None)
    qtbot.addWidget(panel)
    panel.resize(700, 500)
    panel.show()
    return panel


def drawn(browser) -> dict[str, tuple[str | None, str]]:
    """Each word of a text view with the background and text colour Qt lays it out in."""
    found = {}
    block = browser.document().begin()
    while block.isValid():
        fragments = block.begin()
        while not fragments.atEnd():
            fragment = fragments.fragment()
            fmt = fragment.charFormat()
            background = None if fmt.background().style() == Qt.BrushStyle.NoBrush else fmt.background().color().name()
            found.setdefault(fragment.text().strip(" \u2060"), (background, fmt.foreground().color().name()))
            fragments += 1
        block = block.next()
    return found


@pytest.mark.parametrize("dark_palette", [False, True], ids=["light", "dark"])
def test_every_tag_colour_meets_wcag_contrast_for_its_text(dark_palette):
    kinds = list(HUES) + WNUT + ["NN", "VBZ", "-LRB-", "some-plugin-tag"]  # shipped sets, PTB, any other
    for kind in kinds:
        background, text = chip(kind, dark_palette)
        assert contrast(background, text) >= MIN_CONTRAST, (kind, background, text)
    assert len({chip(tag, dark_palette)[0] for tag in UPOS}) == len(UPOS)  # 17 tags, 17 colours


def test_contrast_is_wcags():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-fails grey
    assert contrast("#0072b2", "#000000") < MIN_CONTRAST  # the old entity chip under black text: unreadable


@pytest.mark.parametrize("dark_palette", [False, True], ids=["light", "dark"])
def test_the_words_as_drawn_read_on_their_tag_colours(panel, palette, dark_palette):
    if dark_palette:
        palette(dark())
    for out in (NER, POS):
        panel.receive(out)
        words = drawn(panel.view)
        for token, tag in zip(out["tokens"], out["tags"]):
            background, text = words[token]
            if tag == "O":
                assert background is None
                continue
            assert background == chip(tag.split("-")[-1], dark_palette)[0]
            assert contrast(background, text) >= MIN_CONTRAST, (token, background, text)


def test_the_panel_changes_colours_with_the_palette(panel, palette, qtbot):
    panel.receive(POS)
    light = drawn(panel.view)["cat"]
    palette(dark())  # the system switching to dark while the answer is shown: drawn again, unasked
    qtbot.waitUntil(lambda: drawn(panel.view)["cat"] == (chip("NOUN", True)[0], "#ffffff"), timeout=2000)
    assert light == (chip("NOUN")[0], "#000000")
    assert chip("NOUN", True)[0] in panel.tag_legend.text()


def test_the_legend_names_the_entity_types_once_each(panel):
    panel.receive(NER)
    assert panel.tag_legend.isVisibleTo(panel)
    legend = panel.tag_legend.text()
    for kind in ("PER", "LOC", "ORG"):
        assert f"&nbsp;{kind}&nbsp;" in legend and tag_colour(f"B-{kind}") in legend
    assert "B-PER" not in legend and "I-PER" not in legend and "&nbsp;O&nbsp;" not in legend
    assert legend_entries(["B-PER", "I-PER", "E-PER", "S-LOC", "O"], True) == ["PER", "LOC"]


def test_the_legend_names_each_part_of_speech_present(panel):
    panel.receive(POS)
    assert legend_entries(POS["tags"], False) == ["DET", "NOUN", "VERB", "ADP", "PUNCT"]
    legend = panel.tag_legend.text()
    for tag in ("DET", "NOUN", "VERB", "ADP", "PUNCT"):
        assert f"&nbsp;{tag}&nbsp;" in legend and chip(tag)[0] in legend
    assert "PRON" not in legend  # only the tags of this sentence


def test_a_tag_stays_on_its_words_line(panel):
    words = ["word"] * 40 + ["!"]
    panel.receive({"tokens": words, "tags": ["NOUN"] * 40 + ["PUNCT"], "scheme": "none"})
    for width in range(150, 700, 7):  # wherever the line breaks fall
        document = panel.view.document().clone()
        document.setTextWidth(width)
        document.size()  # laid out
        block = document.begin()
        layout = block.layout()
        starts = [layout.lineAt(i).textStart() for i in range(1, layout.lineCount())]
        assert all(not block.text()[start:].startswith(("NOUN", "PUNCT")) for start in starts), width


def test_part_of_speech_tags_get_no_entity_table_and_the_words_its_space(panel, qtbot):
    panel.receive(NER)
    qtbot.wait(10)
    assert panel.entities.isVisibleTo(panel) and panel.entities.rowCount() == 3
    with_table = panel.view.height()
    panel.receive(POS)
    qtbot.waitUntil(lambda: panel.view.height() > with_table, timeout=2000)
    assert not panel.entities.isVisibleTo(panel)
    panel.receive(NER)
    assert panel.entities.isVisibleTo(panel)


def test_entity_tag_sets_are_told_from_others_without_the_tasks_word():
    assert is_entity_tagging(NER) and not is_entity_tagging(POS)
    plugin = {"tokens": ["a", "b"], "tags": ["B-X", "O"]}
    assert is_entity_tagging(plugin) and not is_entity_tagging({"tokens": ["a"], "tags": ["NOUN"]})
    assert not is_entity_tagging({"tokens": ["a"], "tags": ["O"]})  # nothing found, nothing known


def test_the_entity_table_types_read_on_their_colours(panel, palette):
    palette(dark())
    panel.receive(NER)
    item = panel.entities.item(0, 1)
    assert item.text() == "PER"
    assert contrast(item.background().color().name(), item.foreground().color().name()) >= MIN_CONTRAST


@pytest.mark.realdata
def test_an_ewt_model_answers_with_no_entity_table(qtbot, tmp_path, data_root):
    """The tagging task's own predict (an untrained model over an EWT slice: the panel's shape needs no
    training) reaches the panel: UPOS tags, a legend, no entity table."""
    from suite import api
    from suite.registry import get_task
    from suite.trained import Trained

    source = data_root / "tagging" / "ud_english_ewt" / "en_ewt-ud-train.conllu"
    sentences = source.read_text(encoding="utf-8").split("\n\n")[:60]
    (tmp_path / "ewt").mkdir()
    for split in ("train", "dev"):
        (tmp_path / "ewt" / f"en_ewt-ud-{split}.conllu").write_text("\n\n".join(sentences) + "\n\n", encoding="utf-8")
    task = get_task("tagging")
    cfg = api.resolve("tagging", data=str(tmp_path / "ewt"), hidden=4, word_dim=4, char_features=4)
    datamodule = task.datamodule(cfg)
    datamodule.setup("fit")
    predictor = api.Predictor(Trained(task, cfg, datamodule, task.model(cfg, datamodule), tmp_path / "x.ckpt"))
    out = predictor.predict("The cat sat on the mat .")
    panel = TagsPanel(lambda raw, on_done, explain=False: on_done(out))
    qtbot.addWidget(panel)
    panel.show()
    panel.ask("The cat sat on the mat .")
    assert panel.output is out and out["scheme"] == "none"
    assert not panel.entities.isVisibleTo(panel) and panel.tag_legend.isVisibleTo(panel)
    assert all(f"&nbsp;{tag}&nbsp;" in panel.tag_legend.text() for tag in set(out["tags"]) if tag != "O")

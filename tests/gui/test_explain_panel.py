"""The Try it panels' "Show attributions": toggled on, the answer is asked for again with its Integrated
Gradients attributions and the inputs are shaded from them (words, source tokens, time steps x variables);
toggled off, the plain view returns."""

from __future__ import annotations

import csv
import random
import re

import numpy as np
import pytest

from gui.panels import LabelPanel, SeriesPanel, TagsPanel, TranslationPanel
from gui.panels.shading import LOWERED, RAISED, shade

CHECK = {"holds": True, "relative_error": 0.002, "sum": 0.4, "f_x": 0.9, "f_baseline": 0.5}
SPAN = re.compile(r"<span style='(?:background-color:(#[0-9a-f]{6}); color:(?:black|white); )?padding:2px' "
                  r"title='[^']*'>([^<]*)</span>")


class Asker:
    """Stands in for PredictPanel.ask: records each request and whether it asked for attributions."""

    def __init__(self, prediction: dict, explanation: dict):
        self.requests: list[tuple[str, bool]] = []
        self.prediction, self.explanation = prediction, explanation

    def __call__(self, raw, on_done, explain=False):
        self.requests.append((raw, explain))
        on_done({**self.prediction, "explanation": self.explanation} if explain else dict(self.prediction))


def shades_of(html: str) -> list[tuple[str, str | None]]:
    return [(token, colour or None) for colour, token in SPAN.findall(html)]


def backgrounds(browser, tokens: list[str]) -> list[str | None]:
    """The background each token is drawn on in a text view (read from its document, as Qt lays it out)."""
    from PySide6.QtCore import Qt

    found: dict[str, str | None] = {}
    block = browser.document().begin()
    while block.isValid():
        fragments = block.begin()
        while not fragments.atEnd():
            fragment = fragments.fragment()
            brush = fragment.charFormat().background()
            if fragment.text() in tokens and fragment.text() not in found:
                found[fragment.text()] = None if brush.style() == Qt.BrushStyle.NoBrush else brush.color().name()
            fragments += 1
        block = block.next()
    return [found.get(token) for token in tokens]


@pytest.fixture
def make(qtbot):
    def build(cls, prediction, explanation):
        asker = Asker(prediction, explanation)
        panel = cls(asker)
        qtbot.addWidget(panel)
        panel.show()
        panel.enable_attributions(None)
        return panel, asker
    return build


def test_label_panel_shades_the_words_by_their_attributions(make):
    tokens, values = ["the", "plot", "was", "splendid"], [0.02, -0.2, 0.0, 0.4]
    explanation = {"tokens": tokens, "attributions": values, "target": "the probability of 'positive'",
                   "steps": 50, "completeness": CHECK}
    panel, asker = make(LabelPanel, {"label": "positive", "probabilities": {"positive": 0.9, "negative": 0.1}},
                        explanation)
    assert panel.attributions.isVisibleTo(panel) and panel.attributions.isEnabled()
    panel.ask("the plot was splendid")
    assert asker.requests == [("the plot was splendid", False)] and not panel.words.isVisibleTo(panel)

    panel.attributions.setChecked(True)  # the same text again, explained
    assert asker.requests[-1] == ("the plot was splendid", True)
    assert panel.words.isVisibleTo(panel) and "completeness holds" in panel.words_legend.text()
    drawn = shades_of(panel.words.text())
    assert drawn == [(t, shade(v, 0.4)) for t, v in zip(tokens, values)]
    colours = dict(drawn)
    assert colours["splendid"] == "#%02x%02x%02x" % RAISED  # the largest: full strength, warm
    blue = tuple(int(colours["plot"][i:i + 2], 16) for i in (1, 3, 5))  # half the largest, lowered: blue, paler
    assert blue == tuple(round(255 + (c - 255) * 0.5) for c in LOWERED)
    assert colours["was"] is None  # nothing attributed: no shade

    panel.ask("the plot was splendid")  # while on, every answer comes explained
    assert asker.requests[-1][1] is True
    panel.attributions.setChecked(False)  # off: the plain view, without asking again
    assert len(asker.requests) == 3 and not panel.words.isVisibleTo(panel)


def test_the_toggle_is_greyed_with_the_reason_when_the_run_cannot_explain(qtbot):
    panel = LabelPanel(Asker({"label": "a", "probabilities": {"a": 1.0}}, {}))
    qtbot.addWidget(panel)
    assert not panel.attributions.isVisibleTo(panel)  # a task that cannot explain: no toggle at all
    panel.enable_attributions("--explain needs Captum (Integrated Gradients), which is not installed: pip install "
                              "rnn-suite[insight]")
    assert panel.attributions.isVisibleTo(panel) and not panel.attributions.isEnabled()
    assert "rnn-suite[insight]" in panel.attributions.toolTip() and not panel.explaining()


def test_tags_panel_shades_the_words_for_the_chosen_tag(make):
    tokens, tags = ["Barack", "Obama", "visited", "Paris"], ["B-PER", "I-PER", "O", "B-LOC"]
    matrix = [[0.9, 0.3, 0.0, 0.0], [0.5, 1.0, 0.1, 0.0], [0.0, 0.2, 0.4, -0.1], [0.0, 0.0, -0.3, 0.6]]
    explanation = {"tokens": tokens, "tags": tags, "attributions": matrix, "target": "the score of each tag",
                   "steps": 50, "completeness": CHECK}
    panel, asker = make(TagsPanel, {"tokens": tokens, "tags": tags, "entities": []}, explanation)
    panel.attributions.setChecked(True)
    panel.ask("Barack Obama visited Paris")
    assert panel.explained.isVisibleTo(panel) and panel.explained.count() == 4
    assert panel.explained.currentIndex() == 0  # the first entity's tag
    assert backgrounds(panel.view, tokens) == [shade(v, 0.9) for v in matrix[0]]
    panel.explained.setCurrentIndex(3)  # Paris' tag: its own row of the matrix
    drawn = backgrounds(panel.view, tokens)
    assert drawn == [shade(v, 0.6) for v in matrix[3]]
    assert drawn[3] == "#%02x%02x%02x" % RAISED and drawn[2] == shade(-0.3, 0.6) and drawn[0] is None
    assert "B-LOC" in panel.view.toPlainText()  # the tags stay readable beside the shading
    panel.attributions.setChecked(False)
    assert not panel.explained.isVisibleTo(panel)
    assert backgrounds(panel.view, tokens)[2] is None and backgrounds(panel.view, tokens)[0] is not None  # by tag


def test_translation_panel_shades_the_source_and_draws_the_attributions_beside_the_attention(make):
    source, target = ["▁ein", "▁hund", "."], ["▁a", "▁dog", "."]
    matrix = [[0.8, 0.1, 0.0], [0.1, 1.2, 0.0], [0.0, -0.1, 0.5]]
    prediction = {"translation": "a dog.", "source_tokens": source, "target_tokens": target,
                  "attention": [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]]}
    explanation = {"source_tokens": source, "target_tokens": target, "attributions": matrix,
                   "target": "each output token's log-probability", "steps": 50, "completeness": CHECK}
    panel, _ = make(TranslationPanel, prediction, explanation)
    panel.pieces.setChecked(True)  # the tokenizer's pieces, as the explanation has them (words: test_translation_panel.py)
    panel.attributions.setChecked(True)
    panel.ask("ein hund.")
    assert panel.attr_heat.isVisibleTo(panel) and panel.heat.isVisibleTo(panel)
    assert np.array_equal(panel.attr_image.image, np.asarray(matrix).T)
    assert shades_of(panel.source_view.text()) == [(t, shade(v, 0.8)) for t, v in zip(source, matrix[0])]
    panel.explained.setCurrentIndex(1)
    assert shades_of(panel.source_view.text()) == [(t, shade(v, 1.2)) for t, v in zip(source, matrix[1])]
    panel.attributions.setChecked(False)
    assert not panel.attr_heat.isVisibleTo(panel)


def test_series_panel_draws_a_strip_of_time_steps_by_variables(make):
    history = [float(v) for v in range(6)]
    prediction = {"targets": ["load"], "history": {"load": history}, "forecast": {"load": [6.0, 7.0]},
                  "actual": {"load": []}, "origin": 40, "rows": 40, "steps": 2}
    cells = [[0.1 * i, -0.05 * i] for i in range(6)]  # (time steps, variables)
    explanation = {"variables": ["load", "price"], "time_steps": [f"row {34 + i}" for i in range(6)],
                   "explained": [{"target": "load", "step": 1, "forecast": 6.0, "attributions": cells}],
                   "target": "each explained forecast value", "steps": 50, "completeness": CHECK}
    panel, asker = make(SeriesPanel, prediction, explanation)
    panel.source.setText("data.csv")
    panel.attributions.setChecked(True)
    panel.forecast(None)
    assert asker.requests[-1] == ("data.csv", True)
    assert panel.strip.isVisibleTo(panel)
    assert np.array_equal(panel.strip_values, np.asarray(cells))
    assert np.array_equal(panel.strip_image.image, np.asarray(cells))
    rect = panel.strip_image.mapRectToParent(panel.strip_image.boundingRect())
    assert (rect.left(), rect.width(), rect.height()) == (34, 6, 2)  # under the history rows, one band a variable
    assert panel.strip_image.levels[0] == -0.5 and panel.strip_image.levels[1] == 0.5  # symmetric: zero is white
    panel.attributions.setChecked(False)
    assert not panel.strip.isVisibleTo(panel) and panel.strip_values is None


@pytest.fixture
def sentiment_model(tmp_path):
    """A real sentiment model (untrained: attributions and completeness need no training), as the Try it
    page holds a loaded run."""
    from gui.predict_panel import TrainedModel, explain_unavailable
    from suite import api
    from suite.registry import get_task
    from suite.trained import Trained

    rng = random.Random(1)
    filler = "the a film plot scene story music and with of it was very quite splendid dreadful".split()
    with open(tmp_path / "toy.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(60):
            writer.writerow([" ".join(rng.choices(filler, k=6)), i % 2])
    task = get_task("sentiment")
    # the default model, the n-gram member on: explain credits both members, the fitted member's share with the
    # untrained encoder's (docs/tasks/sentiment.md)
    cfg = api.resolve("sentiment", data=str(tmp_path / "toy.csv"), hidden=4, embedding_dim=4, min_freq=1)
    assert cfg.options.ngrams > 0
    datamodule = task.datamodule(cfg)
    datamodule.setup("fit")
    network = task.model(cfg, datamodule)
    network.eval()
    model = TrainedModel.__new__(TrainedModel)  # what TrainedModel(run_dir) holds, without a run on disk
    model.predictor = api.Predictor(Trained(task, cfg, datamodule, network, tmp_path / "untrained.ckpt"))
    model.task, model.cfg, model.unexplainable = task, cfg, explain_unavailable(task)
    return model


def test_the_explanation_runs_in_the_prediction_job(qtbot, sentiment_model):
    from gui.predict_panel import PredictPanel

    panel = PredictPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel._loaded(sentiment_model)  # as when the job loading a run finishes
    body = panel.body
    qtbot.waitUntil(lambda: body.output is not None, timeout=60_000)  # the example's plain answer
    assert "explanation" not in body.output
    assert body.attributions.isVisibleTo(body) and body.attributions.isEnabled()
    body.attributions.setChecked(True)
    assert panel.job is not None and panel.status.text() == "predicting and explaining…"
    qtbot.waitUntil(lambda: "explanation" in (body.output or {}) or panel.status.text().startswith("error"),
                    timeout=60_000)
    explanation = body.output["explanation"]
    assert explanation["prediction"]["label"] == body.output["label"]
    check = explanation["completeness"]
    assert check["holds"], check
    # over the whole answer, the member's share included: the words shaded add up to the change of probability
    difference = check["f_x"] - check["f_baseline"]
    assert abs(sum(explanation["attributions"]) - difference) <= 0.01 * abs(difference), (check, explanation)
    assert any(explanation["parts"]["ngrams"]) and any(explanation["parts"]["encoder"])  # both members credited
    scale = max(abs(v) for v in explanation["attributions"])
    assert shades_of(body.words.text()) == [(t, shade(v, scale)) for t, v in
                                            zip(explanation["tokens"], explanation["attributions"])]


def test_every_shade_keeps_its_word_readable():
    """The darkest blue under black text read poorly: each shade's text has a WCAG contrast of at least 4.5."""
    from gui.panels.shading import shaded_span
    from gui.panels.tag_colours import contrast

    for value in np.linspace(-1.0, 1.0, 41):
        span = shaded_span("word", float(value), 1.0)
        found = re.search(r"background-color:(#[0-9a-f]{6}); color:(\w+);", span)
        if found is None:
            continue  # too faint to shade: the palette's own text colour
        text = {"black": "#000000", "white": "#ffffff"}[found.group(2)]
        assert contrast(found.group(1), text) >= 4.5, (value, found.groups())

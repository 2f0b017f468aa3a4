"""``--explain``: Integrated Gradients attributions of one prediction, for sentiment, tagging, forecast and
translation, with the completeness check (the attributions sum to f(x) - f(baseline) within 1%).

The models are tiny and built on toy data written here. Completeness is a property of the attribution
method and the function, not of a good model, so three of the four are untrained (random weights, built
without a Trainer); the sentiment model is trained on toy reviews where one planted word decides the class,
so that the decisive word can be checked to get the largest attribution.
"""

from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import one_line_error
from suite import api
from suite.errors import UserError
from suite.insight.attribution import TOLERANCE
from suite.registry import get_task

FILLER = ("the a film movie plot actor scene story music and with of it was is very quite rather camera "
          "light").split()


def check_completeness(explanation: dict, matrices: list[np.ndarray]) -> None:
    """The reported check holds, and is true of the attributions returned (not just claimed)."""
    check = explanation["completeness"]
    assert check["holds"] and check["relative_error"] <= TOLERANCE, check
    rows = check.get("per_output") or [check]
    assert len(rows) == len(matrices)
    for row, values in zip(rows, matrices):
        difference = row["f_x"] - row["f_baseline"]
        assert abs(values.sum() - difference) <= TOLERANCE * abs(difference) + 1e-5, (row, values.sum())


def untrained(task_name: str, **settings):
    """A task's model with its initial weights, its datamodule read from the toy data: no training."""
    task = get_task(task_name)
    cfg = api.resolve(task_name, **settings)
    datamodule = task.datamodule(cfg)
    datamodule.setup("fit")
    model = task.model(cfg, datamodule)
    model.eval()
    return task, model


# --- sentiment: a trained toy model whose class one planted word decides ------------------------------------
@pytest.fixture(scope="module")
def sentiment_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sentiment")
    rng = random.Random(0)
    with open(folder / "toy.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(400):
            words = rng.choices(FILLER, k=rng.randint(4, 9))
            words.insert(rng.randrange(len(words) + 1), "splendid" if i % 2 else "dreadful")
            writer.writerow([" ".join(words), i % 2])
    results = api.train("sentiment", data=str(folder / "toy.csv"), hidden=8, embedding_dim=8, max_epochs=4,
                        lr=0.03, embedding_dropout=0.0, classifier_dropout=0.0, min_freq=1, batch_size=32,
                        threads=1, run_dir=folder / "run")
    assert results["metrics"]["test"]["acc"] >= 0.95, results["metrics"]  # it learnt the planted word
    return folder / "run"


@pytest.fixture(scope="module")
def sentiment(sentiment_run):
    return api.load(sentiment_run)


@pytest.mark.parametrize("text, word, label", [
    ("the plot was splendid and the music quite very", "splendid", "positive"),
    ("a film with dreadful light and a story of music", "dreadful", "negative"),
])
def test_sentiment_the_planted_word_gets_the_largest_attribution(sentiment, text, word, label):
    explanation = sentiment.explain(text)
    assert explanation["prediction"]["label"] == label
    tokens, values = explanation["tokens"], explanation["attributions"]
    assert tokens == text.split()
    strongest = max(range(len(values)), key=lambda i: abs(values[i]))
    assert tokens[strongest] == word and values[strongest] > 0, list(zip(tokens, values))
    check_completeness(explanation, [np.asarray(values)])
    # f is the predicted class's probability: f(x) is the probability predict reports
    assert explanation["completeness"]["f_x"] == pytest.approx(explanation["prediction"]["probabilities"][label],
                                                               abs=1e-4)
    assert explanation["target"] == f"the probability of '{label}'"


def test_fixed_steps_are_used_as_given_and_a_poor_count_is_reported_honestly(sentiment):
    few = sentiment.explain("the plot was splendid and the music quite very", steps=2)
    assert few["steps"] == 2 and few["completeness"]["steps_tried"] == [2]
    check = few["completeness"]  # whatever 2 steps gave, said as it is: the error is the attributions' own
    difference = check["f_x"] - check["f_baseline"]
    own = abs(sum(few["attributions"]) - difference) / abs(difference)
    assert check["relative_error"] == pytest.approx(own, rel=0.02, abs=1e-4)
    assert check["holds"] == (check["relative_error"] <= TOLERANCE)
    with pytest.raises(UserError, match="--explain-steps: expected a whole number"):
        sentiment.explain("splendid", steps=1)


def test_the_command_line_prints_the_words_and_the_completeness_line(sentiment_run, capsys, tmp_path):
    from suite.cli import main

    text = "the plot was splendid and the music quite very"
    assert main(["--checkpoint", str(sentiment_run), "--predict", text, "--explain"]) == 0
    out = capsys.readouterr().out
    assert "positive (" in out and "splendid" in out
    line = next(row for row in out.splitlines() if row.startswith("attributions sum to"))
    assert "f(x) - f(baseline) = " in line and ": completeness holds within " in line and line.endswith("%")
    target = tmp_path / "why.json"
    assert main(["--checkpoint", str(sentiment_run), "--predict", text, "--explain", "--explain-steps", "64",
                 "--output", str(target)]) == 0
    assert "completeness holds" in capsys.readouterr().out
    saved = json.loads(target.read_text())
    assert saved["steps"] == 64 and saved["tokens"] == text.split() and saved["prediction"]["label"] == "positive"
    assert set(saved["completeness"]) >= {"sum", "f_x", "f_baseline", "relative_error", "holds"}
    # the default model (the n-gram member on) is explained whole: both members' parts, per word and per n-gram
    assert "encoder     n-grams" in out and "n-grams, the most influential first: 'splendid' +" in out
    assert set(saved["parts"]) == {"encoder", "ngrams"} and len(saved["parts"]["ngrams"]) == len(saved["tokens"])
    assert saved["ngram_terms"][0]["ngram"] == "splendid"


def ngram_split(tokens: list[str], terms: list[dict]) -> np.ndarray:
    """Each listed n-gram's attribution split equally among its occurrences in the text and their words,
    recomputed from the words (what --explain documents)."""
    per_word = np.zeros(len(tokens))
    for term in terms:
        gram = term["ngram"].split()
        where = [i for i in range(len(tokens) - len(gram) + 1) if tokens[i:i + len(gram)] == gram]
        assert len(where) == term["occurrences"], term
        for i in where:
            per_word[i:i + len(gram)] += term["attribution"] / (len(where) * len(gram))
    return per_word


def test_sentiment_the_whole_model_is_explained_beside_the_ngram_member(sentiment):
    model = sentiment.model
    assert model.ngrams is not None  # the default: the member on
    text = "the plot was splendid and the music quite very splendid"
    explanation = sentiment.explain(text)
    tokens, totals = explanation["tokens"], np.asarray(explanation["attributions"])
    encoder, ngrams = (np.asarray(explanation["parts"][k]) for k in ("encoder", "ngrams"))
    assert np.allclose(totals, encoder + ngrams, rtol=1e-5, atol=1e-9)
    check_completeness(explanation, [totals])  # over the whole output: f(x) - f(baseline) of the answer
    # the baseline is what it says: zero embeddings and the member's bias alone
    from suite.insight.attribution import output_replaced

    ids = torch.tensor([model.preprocessor.ids(tokens)[0]])
    with torch.no_grad(), output_replaced(model.embedding, torch.zeros(1, len(tokens), model.embedding.embedding_dim)):
        enc, member = model.members(ids, torch.tensor([len(tokens)]))
        empty = model.answer(enc.double(), model.ngrams.bias.double().reshape(member.shape))
    label = model.classes.index(explanation["prediction"]["label"])
    assert explanation["completeness"]["f_baseline"] == pytest.approx(float(model.probabilities(empty)[0, label]),
                                                                      abs=1e-9)
    assert "no n-grams" in explanation["baseline"]
    # the member's share: non-zero, the sum of its n-grams', each split among its occurrences and words
    terms = explanation["ngram_terms"]
    assert terms[0]["ngram"] == "splendid" and terms[0]["occurrences"] == 2 and terms[0]["attribution"] > 0
    assert ngrams.sum() == pytest.approx(sum(t["attribution"] for t in terms), rel=1e-4)
    assert abs(ngrams.sum()) > 0.01 * abs(totals.sum())
    assert np.allclose(ngrams, ngram_split(tokens, terms), rtol=1e-4, atol=1e-8)


def test_sentiment_a_word_the_encoder_cannot_see_is_credited_by_the_ngram_member(sentiment_run):
    """With 'splendid''s embedding zeroed, the encoder cannot tell it from the baseline: whatever it gets, the
    n-gram member gave it."""
    predictor = api.load(sentiment_run)  # its own copy: the embedding is changed below
    model = predictor.model
    with torch.no_grad():
        model.embedding.weight[model.preprocessor.vocab.encode(["splendid"])[0]] = 0
    explanation = predictor.explain("the plot was splendid and the music quite very")
    check_completeness(explanation, [np.asarray(explanation["attributions"])])
    at = explanation["tokens"].index("splendid")
    assert explanation["parts"]["encoder"][at] == 0
    assert explanation["attributions"][at] == explanation["parts"]["ngrams"][at] > 0
    strongest = max(range(len(explanation["tokens"])), key=lambda i: abs(explanation["attributions"][i]))
    assert strongest == at


def test_sentiment_without_the_ngram_member_the_embeddings_are_the_whole_model(sentiment_run):
    from tasks.sentiment.explain import BASELINE, render

    task, model = untrained("sentiment", data=str(sentiment_run.parent / "toy.csv"), hidden=4, embedding_dim=4,
                            min_freq=1, ngrams=0)
    assert model.ngrams is None
    explanation = task.explain(model, "the plot was splendid and the music quite very")
    assert explanation["baseline"] == BASELINE and "parts" not in explanation and "ngram_terms" not in explanation
    check_completeness(explanation, [np.asarray(explanation["attributions"])])
    text = render(explanation)
    assert "n-grams" not in text and "completeness holds" in text


def test_explain_flags_are_refused_where_they_mean_nothing(sentiment_run, capsys):
    run = str(sentiment_run)
    assert "--explain needs --checkpoint RUN --predict INPUT" in one_line_error(capsys, "--checkpoint", run,
                                                                              "--explain")
    assert "--explain needs --checkpoint RUN --predict INPUT" in one_line_error(capsys, "--task", "sentiment",
                                                                              "--explain")
    assert "belongs to --explain" in one_line_error(capsys, "--checkpoint", run, "--predict", "x",
                                                    "--explain-steps", "10")
    assert ".json" in one_line_error(capsys, "--checkpoint", run, "--predict", "x", "--explain", "--output", "a.csv")
    assert "cannot be combined with --evaluate" in one_line_error(capsys, "--checkpoint", run, "--predict", "x",
                                                                  "--explain", "--evaluate", "x.csv")
    assert "only forecast models have a horizon" in one_line_error(capsys, "--checkpoint", run, "--predict",
                                                                   "splendid", "--explain", "--explain-horizon", "2")


def test_without_captum_explain_names_the_extra(sentiment_run, sentiment, capsys, monkeypatch):
    for name in [m for m in sys.modules if m == "captum" or m.startswith("captum.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "captum", None)  # import captum now fails, as when it is not installed
    monkeypatch.setitem(sys.modules, "captum.attr", None)
    message = one_line_error(capsys, "--checkpoint", str(sentiment_run), "--predict", "splendid", "--explain")
    assert "pip install rnn-suite[insight]" in message
    with pytest.raises(UserError, match=r"pip install rnn-suite\[insight\]"):
        sentiment.explain("splendid")


def test_music_does_not_support_explain(tmp_path, capsys):
    from suite.cli import main

    run = tmp_path / "music-run"  # a run folder's settings are enough: the refusal comes before any model
    run.mkdir()
    assert main(["--task", "music", "--print-config"]) == 0
    (run / "config.yaml").write_text(capsys.readouterr().out, encoding="utf-8")
    message = one_line_error(capsys, "--checkpoint", str(run), "--predict", "C4", "--explain")
    assert message == "task 'music' does not support --explain"
    with pytest.raises(UserError, match="does not support --explain"):
        get_task("music").explain(None, "C4")


# --- tagging: words x words --------------------------------------------------------------------------------
CONLLU_SENTENCES = [
    [("The", "DET"), ("cat", "NOUN"), ("sat", "VERB"), ("on", "ADP"), ("the", "DET"), ("mat", "NOUN"), (".", "PUNCT")],
    [("A", "DET"), ("dog", "NOUN"), ("ran", "VERB"), ("in", "ADP"), ("Paris", "PROPN"), (".", "PUNCT")],
    [("Sarah", "PROPN"), ("likes", "VERB"), ("the", "DET"), ("new", "ADJ"), ("film", "NOUN"), (".", "PUNCT")],
]
BIO_SENTENCES = [
    [("Barack", "B-PER"), ("Obama", "I-PER"), ("visited", "O"), ("Paris", "B-LOC"), (".", "O")],
    [("Sarah", "B-PER"), ("flew", "O"), ("to", "O"), ("New", "B-LOC"), ("York", "I-LOC"), (".", "O")],
    [("The", "O"), ("film", "O"), ("was", "O"), ("shot", "O"), ("in", "O"), ("London", "B-LOC"), (".", "O")],
]


def write_conllu(path: Path, sentences, copies: int = 4) -> Path:
    blocks = []
    for _ in range(copies):
        for sentence in sentences:
            blocks.append("\n".join(f"{i}\t{w}\t{w.lower()}\t{t}\t_\t_\t0\t_\t_\t_"
                                    for i, (w, t) in enumerate(sentence, 1)))
    path.write_text("\n\n".join(blocks) + "\n\n", encoding="utf-8")
    return path


def write_bio(path: Path, sentences, copies: int = 4) -> Path:
    blocks = ["\n".join(f"{w}\t{t}" for w, t in sentence) for _ in range(copies) for sentence in sentences]
    path.write_text("\n\n".join(blocks) + "\n\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["upos-cnn", "bio-crf-ensemble-lstm"])
def test_tagging_attributes_every_tag_to_every_word(tmp_path, kind):
    if kind == "upos-cnn":
        data = write_conllu(tmp_path / "toy.conllu", CONLLU_SENTENCES)
        task, model = untrained("tagging", preset="none", data=str(data), hidden=8, word_dim=8, char_features=8,
                                char_dim=8)
    else:
        data = write_bio(tmp_path / "toy.bio", BIO_SENTENCES)
        task, model = untrained("tagging", preset="none", data=str(data), hidden=8, word_dim=8, char_features=8,
                                char_dim=8, char_encoder="lstm", crf="on", ensemble=2)
    sentence = "Sarah visited the new cat in London ."
    explanation = task.explain(model, sentence)
    tokens, tags = explanation["tokens"], explanation["tags"]
    assert tokens == sentence.split() and tags == explanation["prediction"]["tags"]
    matrix = np.asarray(explanation["attributions"])
    assert matrix.shape == (len(tokens), len(tokens))
    check_completeness(explanation, list(matrix))
    # an unseen word ("visited") still counts through its characters: its own tag depends on it
    assert abs(matrix[1, 1]) > 0
    rendered = task.render_explanation(explanation)
    assert "completeness holds for all 8 tags" in rendered and "London" in rendered


# --- forecast: time steps x variables ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def series_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("series") / "toy.csv"
    t = np.arange(300)
    frame = {"time": [f"2024-01-{1 + i // 24:02d} {i % 24:02d}:00" for i in t],
             "load": np.sin(t / 6) * 10 + 50, "temp": np.cos(t / 9) * 3 + 10, "price": (t % 24) / 24.0}
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(frame))
        for i in t:
            writer.writerow([frame["time"][i]] + [f"{frame[c][i]:.5f}" for c in ("load", "temp", "price")])
    return path


@pytest.mark.parametrize("model_kind", ["segment", "sequence"])
def test_forecast_attributions_are_time_steps_by_variables(series_csv, model_kind):
    task, model = untrained("forecast", data=str(series_csv), time_column="time", target="load,temp",
                            covariates="price", lookback=24, horizon=6, segment=6, split="200,50,50",
                            model=model_kind, hidden=8)
    explanation = task.explain(model, f"{series_csv}@250")
    prediction = explanation["prediction"]
    assert explanation["variables"] == ["load", "temp", "price"]
    assert len(explanation["time_steps"]) == 24 and explanation["time_steps"][0] == "row 226"
    assert explanation["times"][-1] == "2024-01-11 09:00"  # the row before the origin, 249
    items = explanation["explained"]
    assert [(e["target"], e["step"]) for e in items] == [("load", 1), ("temp", 1)]
    for item in items:
        assert np.asarray(item["attributions"]).shape == (24, 3)
        assert item["forecast"] == pytest.approx(prediction["forecast"][item["target"]][0], rel=1e-5)
    check_completeness(explanation, [np.asarray(e["attributions"]) for e in items])
    # reported in the target's units: f(x) is the forecast itself
    assert explanation["completeness"]["per_output"][0]["f_x"] == pytest.approx(items[0]["forecast"], rel=1e-5)

    every = task.explain(model, f"{series_csv}@250", horizon="all")
    assert [(e["target"], e["step"]) for e in every["explained"]] == [(c, h) for h in range(1, 7)
                                                                      for c in ("load", "temp")]
    check_completeness(every, [np.asarray(e["attributions"]) for e in every["explained"]])
    third = task.explain(model, f"{series_csv}@250", horizon="3")
    assert [e["step"] for e in third["explained"]] == [3, 3]
    assert "by variable: load" in task.render_explanation(third)
    for bad in ("0", "7", "last"):
        with pytest.raises(UserError, match="--explain-horizon: expected a forecast step from 1 to 6"):
            task.explain(model, f"{series_csv}@250", horizon=bad)


def test_forecast_synthetic_sequence_is_explained_per_step(tmp_path):
    task, model = untrained("forecast", data="synthetic:adding", sequence_length=12, lookback=12,
                            examples=64, hidden=8)
    explanation = task.explain(model, "0.2 *0.5 0.1 *0.3 0.9 0.4 0.6 0.1 0.2 0.3 0.8 0.7")
    values = np.asarray(explanation["explained"][0]["attributions"])
    assert values.shape == (12, 3) and explanation["variables"] == ["target", "value", "marker"]
    assert np.all(values[:, 0] == 0)  # the target column is held at its mean, the baseline: nothing to attribute
    check_completeness(explanation, [values])


# --- translation: output tokens x source tokens --------------------------------------------------------------
PAIRS = [("ein mann fährt fahrrad .", "a man rides a bike ."), ("eine frau liest ein buch .", "a woman reads a book ."),
         ("zwei hunde spielen im park .", "two dogs play in the park ."), ("ein kind isst .", "a child eats .")]


@pytest.mark.parametrize("feeding", [False, True])
def test_translation_attributes_each_output_token_to_the_source(tmp_path, feeding):
    folder = tmp_path / "pairs"
    folder.mkdir()
    for split, copies in (("train", 10), ("val", 1), ("test", 1)):
        (folder / f"{split}.de").write_text("\n".join(de for de, _ in PAIRS * copies) + "\n", encoding="utf-8")
        (folder / f"{split}.en").write_text("\n".join(en for _, en in PAIRS * copies) + "\n", encoding="utf-8")
    task, model = untrained("translation", data=str(folder), embedding=8, decoder_hidden=16, hidden=8,
                            tokenizer="word", source_vocab=60, target_vocab=60, input_feeding=feeding,
                            beam_size=2 if feeding else 1, max_decode_ratio=0.5)
    explanation = task.explain(model, "ein mann liest ein buch .")
    prediction = explanation["prediction"]
    source, targets = explanation["source_tokens"], explanation["target_tokens"]
    assert source == prediction["source_tokens"]
    assert targets == (prediction["target_tokens"] or ["</s>"])
    matrix = np.asarray(explanation["attributions"])
    assert matrix.shape == (len(targets), len(source))
    check_completeness(explanation, list(matrix))
    # teacher forcing reproduces the decoder: each token's log-probability is at most 0, and with greedy
    # decoding together they are the hypothesis' score less its end-of-sentence term (which is <= 0)
    logp = explanation["log_probabilities"]
    assert all(v <= 1e-6 for v in logp)
    if prediction["target_tokens"] and prediction["decoding"] == "greedy":
        assert sum(logp) >= prediction["score"] - 1e-3
    assert "output token" in task.render_explanation(explanation)

"""--export for the tagging task: predict.py, run where torch cannot be imported, gives --predict's tokens,
tags and entities exactly, for a model with a CRF (Viterbi in numpy over the exported transition scores)
and one without (each token's best tag), for one sentence and for a file of sentences."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pytest

from export_helpers import export_in_process, predict_exported, predict_in_process, run_without_torch
from helpers import REPO
from test_tagging_data import head_sentences

#: the EWT slice's validation sentences hold a tag its training sentences lack; said, and beside the point here
pytestmark = pytest.mark.filterwarnings("ignore:.*does not occur in the training data")

SENTENCES = ["Barack Obama visited Paris with @sarah_j yesterday , didn't he ?",
             "The new Star Wars movie was great !",
             "I live in New York City and work at Google since 2019 .",
             "Supercalifragilisticexpialidocious-ly long-hyphenated-words and https://example.com/a?b=c stay whole"]


def train(folder, name, files, **settings):
    from suite import api

    api.train("tagging", preset="none", run_dir=folder / name, max_epochs=1, hidden=16, word_dim=16,
              char_features=8, threads=1, **files, **settings)
    return folder / name


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data_root):
    """UPOS taggers of an EWT slice: one with a CRF, one without (and with character LSTMs instead of CNNs).
    (A one-epoch entity tagger of a WNUT-17 slice tags everything O, which would test little.)"""
    folder = tmp_path_factory.mktemp("tagging-export")
    ewt = data_root / "tagging" / "ud_english_ewt"
    for name, n in (("en_ewt-ud-train.conllu", 150), ("en_ewt-ud-dev.conllu", 30), ("en_ewt-ud-test.conllu", 30)):
        head_sentences(ewt / name, folder / "ewt" / name, n)
    (folder / "sentences.txt").write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    made = {"file": folder / "sentences.txt"}
    settings = {"crf": {"crf": "on"}, "plain": {"crf": "off", "char_encoder": "lstm"}}

    def run(kind: str):  # trained on first use: the fast tests need only the CRF tagger
        if kind not in made and kind != "file":
            made[kind] = train(folder, kind, {"data": str(folder / "ewt")}, **settings[kind])
        return made[kind]

    return run


def compare(capsys, run, out, raw, tmp_path, allow_torch=False):
    expected = predict_in_process(capsys, run, raw)
    assert predict_exported(out, raw, allow_torch=allow_torch).stdout == expected
    want, have = tmp_path / "want.json", tmp_path / "have.json"
    predict_in_process(capsys, run, raw, output=want)
    predict_exported(out, raw, output=have, allow_torch=allow_torch)
    assert json.loads(have.read_text()) == json.loads(want.read_text())  # tags, entities, spans: identical
    return json.loads(have.read_text())


@pytest.mark.realdata
@pytest.mark.parametrize("kind", ["crf", pytest.param("plain", marks=pytest.mark.slow)])
def test_onnx_predictor_gives_the_same_tags(runs, kind, tmp_path, capsys):
    out = tmp_path / "onnx"
    run = runs(kind)
    export_in_process(capsys, run, "onnx", out)
    settings = json.loads((out / "preprocessing.json").read_text())
    assert (settings["crf"] is not None) == (kind == "crf")
    compare(capsys, run, out, SENTENCES[0], tmp_path)
    answer = compare(capsys, run, out, str(runs("file")), tmp_path)
    tags = {t for s in answer["sentences"] for t in s["tags"]}
    assert len(tags) > 1, tags  # a model that tags everything alike would prove little
    nothing = run_without_torch([out / "predict.py", " . "])
    assert nothing.returncode == 0 or "has no words" in nothing.stderr


@pytest.mark.slow
@pytest.mark.realdata
def test_torchscript_predictor(runs, tmp_path, capsys):
    out = tmp_path / "ts"
    export_in_process(capsys, runs("crf"), "torchscript", out)
    compare(capsys, runs("crf"), out, str(runs("file")), tmp_path, allow_torch=True)


def load_template():
    sys.path.insert(0, str(REPO / "suite" / "export"))  # textinput, which the template imports from beside it
    spec = importlib.util.spec_from_file_location("tagging_predict", REPO / "tasks" / "tagging" / "exported_predict.py")
    predictor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(predictor)
    return predictor


def test_numpy_viterbi_is_the_crf_decoder():
    """The predictor's Viterbi against tasks/tagging/crf.py on random scores, padding and forbidden moves."""
    import torch

    from tasks.tagging.crf import CRF
    from tasks.tagging.schemes import allowed_transitions

    predictor = load_template()
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    torch.manual_seed(0)
    crf = CRF(len(tags), allowed_transitions(tags, "bio"))
    with torch.no_grad():
        for p in (crf.start, crf.end, crf.transitions):
            p.normal_(0, 2.0)
    emissions = torch.randn(64, 11, len(tags)) * 3
    lengths = torch.randint(1, 12, (64,))
    mask = torch.arange(11)[None] < lengths[:, None]
    expected = crf.decode(emissions, mask).numpy()
    start, trans, end = (t.detach().numpy() for t in crf.potentials())
    got = predictor.viterbi(emissions.numpy(), lengths.numpy(), start, trans, end)
    np.testing.assert_array_equal(got, expected)
    assert len(np.unique(got[mask.numpy()])) >= 3  # paths through several tags, not one


def test_entity_spans_are_the_suites():
    """The predictor's entity spans against tasks/tagging/schemes.py on random, often ill-formed, tag rows."""
    import random

    from tasks.tagging.schemes import entities

    predictor = load_template()
    rng = random.Random(0)
    tags = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "I-ORG", "S-ORG"]
    for _ in range(500):
        row = [rng.choice(tags) for _ in range(rng.randint(1, 12))]
        assert predictor.entities(row) == entities(row), row

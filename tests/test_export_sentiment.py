"""--export for the sentiment task: predict.py, run where torch cannot be imported, gives --predict's labels
and probabilities (the network's within 1e-5; the printed ones, rounded to 4 places, within one rounding
step), token counts and warnings, for one text and for a file of texts, printed and as CSV and JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from export_helpers import (assert_close_csv, assert_close_json_text, export_in_process, predict_exported,
                            predict_in_process, run_without_torch)

#: the printed probabilities are rounded to 4 places: a value within 1e-5 may round to the next step
PRINTED = 1e-4 + 1e-9
TEXTS = ["A moving, beautifully acted film.",
         "Dull, lifeless and far too long; I wanted my money back after the first act.",
         "zxqv blorft wibble",  # no word of it in the vocabulary
         "It is <b>not</b> bad &amp; the cast is fine, although the second half, which drags on and on "
         "with scene after scene of nothing much, loses the thread entirely."]  # markup, entities, cut


@pytest.fixture(scope="module")
def run(tmp_path_factory, data_root):
    from suite import api

    folder = tmp_path_factory.mktemp("sentiment-export")
    api.train("sentiment", data=str(data_root / "sentiment" / "rt_polarity"), limit=300, max_epochs=1, hidden=8,
              embedding_dim=16, max_length=20, threads=1, run_dir=folder / "run")
    (folder / "texts.txt").write_text("\n".join(TEXTS[:2] + [""] + TEXTS[2:]) + "\n", encoding="utf-8")
    return folder


@pytest.mark.realdata
def test_onnx_predictor_matches_predict(run, tmp_path, capsys):
    model_run, texts = run / "run", run / "texts.txt"
    out = tmp_path / "onnx"
    export_in_process(capsys, model_run, "onnx", out)
    for raw in (TEXTS[0], TEXTS[3], str(texts)):
        expected = predict_in_process(capsys, model_run, raw)
        # the same text, percentages (one decimal of the rounded probabilities) and bars included
        assert predict_exported(out, raw).stdout == expected
    for suffix in (".json", ".csv"):
        want, have = tmp_path / f"want{suffix}", tmp_path / f"have{suffix}"
        predict_in_process(capsys, model_run, str(texts), output=want)
        assert predict_exported(out, str(texts), output=have).stdout.strip() == f"wrote {have}"
        if suffix == ".csv":
            assert_close_csv(want, have, atol=PRINTED)
        else:
            assert_close_json_text(want.read_text(), have.read_text(), atol=PRINTED)
    answer = json.loads((tmp_path / "have.json").read_text())
    assert [p["unknown_words"] for p in answer["predictions"]][2] == 3
    assert "the model reads 20 (head+tail)" in answer["predictions"][3]["warning"]
    empty = run_without_torch([out / "predict.py", "  "])
    assert empty.returncode == 2 and empty.stderr.strip() == "error: --predict: the text is empty"


@pytest.mark.slow
@pytest.mark.realdata
def test_network_probabilities_within_1e5_and_torchscript(run, tmp_path, capsys):
    """The exported graph against the trained module on a padded batch of texts of different lengths."""
    import onnxruntime as ort
    import torch

    from suite import api
    from suite.data.text import pad_batch

    model_run = run / "run"
    out = tmp_path / "onnx"
    export_in_process(capsys, model_run, "onnx", out)
    model = api.load(model_run).model
    pre = model.preprocessor
    ids, lengths = pad_batch([torch.tensor(pre.ids(pre.tokens(t))[0] or [1]) for t in TEXTS])
    with torch.no_grad():
        expected = model.probabilities(model(ids, lengths)).numpy()
    session = ort.InferenceSession(str(out / "classifier.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(["probabilities"], {"ids": ids.numpy(), "lengths": lengths.numpy()})[0]
    assert np.abs(got - expected).max() <= 1e-5
    ts = tmp_path / "ts"
    export_in_process(capsys, model_run, "torchscript", ts)
    want, have = tmp_path / "want.json", tmp_path / "have.json"
    predict_in_process(capsys, model_run, str(run / "texts.txt"), output=want)
    predict_exported(ts, str(run / "texts.txt"), output=have, allow_torch=True)
    assert_close_json_text(want.read_text(), have.read_text(), atol=PRINTED)

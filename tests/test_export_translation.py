"""--export for the translation task: predict.py, run where torch cannot be imported, gives --predict's
translations exactly with greedy and beam search (pieces, beam lists and scores too; attention within one
rounding step of its 5 places), for the default attentional GRU, an LSTM with additive attention and input
feeding, and the seed's character LSTM without attention; the exported encoder and decoder step read padded
batches of any size, and the numpy search over a batch equals decoding.py's."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from export_helpers import (assert_close_outputs, export_in_process, predict_exported, predict_in_process,
                            run_without_torch)

pytestmark = pytest.mark.realdata

#: scores are printed to 4 places, attention to 5: the exported network's float rounding (about 1e-6) can
#: move a printed value by one step of its last place, never more
SCORE_STEP, ATTENTION_STEP = 1e-4 + 1e-9, 1e-5 + 1e-9
TINY = dict(embedding=24, decoder_hidden=32, hidden=24, source_vocab=300, target_vocab=300, batch_size=32,
            io_dropout=0.0, label_smoothing=0.0, lr=5e-3, threads=1)
SENTENCES = ["Ein Mann fährt mit dem Fahrrad die Straße entlang.",
             "Zwei Hunde spielen im Schnee.",
             "Xylophonquartett übt Quantenmechanik!"]  # words never seen in training: <unk> and odd pieces


def multi30k_slice(data_root: Path, folder: Path, train: int = 300) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", train), ("val", 30), ("test_2016_flickr", 20)):
        for lang in ("de", "en"):
            lines = (data_root / "translation" / "multi30k" / f"{split}.{lang}").read_text(encoding="utf-8")
            (folder / f"{split}.{lang}").write_text("\n".join(lines.splitlines()[:n]) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def runs(data_root, tmp_path_factory):
    """The default model (attentional BiGRU, linear bridge, tied embeddings), trained for a few seconds."""
    from suite import api

    folder = tmp_path_factory.mktemp("translation-export")
    data = multi30k_slice(data_root, folder / "m30k")
    api.train("translation", data=str(data), max_epochs=4, beam_size=3, run_dir=folder / "gru", **TINY)
    return folder


@pytest.fixture(scope="module")
def exported(runs):
    """The default model exported as ONNX once for the tests that only read it."""
    from suite.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["--checkpoint", str(runs / "gru"), "--export", "onnx", "--output", str(runs / "onnx")]) == 0
    return runs / "onnx"


@pytest.fixture(scope="module")
def other_runs(runs, data_root):
    """Two other shapes of the network, trained for one epoch: what matters there is the graphs' layout."""
    from suite import api

    api.train("translation", data=str(runs / "m30k"), max_epochs=1, beam_size=2, cell="lstm", layers=2,
              attention="additive", input_feeding=True, run_dir=runs / "lstm", **TINY)
    pairs = runs / "pairs.txt"
    lines = (data_root / "translation" / "tatoeba_fra_eng" / "fra.txt").read_text(encoding="utf-8").splitlines()
    pairs.write_text("\n".join(lines[:300]) + "\n", encoding="utf-8")
    api.train("translation", preset="seed", data=str(pairs), max_pairs=300, max_epochs=1, hidden=32, embedding=16,
              decoder_hidden=32, beam_size=2, threads=1, run_dir=runs / "seed")
    return runs


def exported_in_process(capsys, export: Path, *args: str) -> str:
    """What DIR/predict.py ARGS prints, run in this process: for a TorchScript export, which needs torch anyway
    (the ONNX tests run the same script in a process where neither torch nor the suite can be imported)."""
    spec = importlib.util.spec_from_file_location(f"exported_translation_{export.name}", export / "predict.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    capsys.readouterr()
    assert module.main(list(args)) == 0
    return capsys.readouterr().out


def compare(capsys, run: Path, export: Path, tmp_path: Path, text: str, *flags: str, in_process=False,
            printed=False) -> dict:
    """--predict and predict.py on one sentence: the --output JSON (and with ``printed`` what both print)."""
    def run_predictor(*args: str) -> str:
        if in_process:
            return exported_in_process(capsys, export, *args)
        return predict_exported(export, *args).stdout

    if printed:
        expected = predict_in_process(capsys, run, text, *flags)
        assert run_predictor(text, *flags) == expected
    want, have = tmp_path / "want.json", tmp_path / "have.json"
    predict_in_process(capsys, run, text, *flags, output=want)
    assert run_predictor(text, *flags, "--output", str(have)).strip() == f"wrote {have}"
    expected, got = json.loads(want.read_text()), json.loads(have.read_text())
    assert_close_outputs(expected, got, atol=SCORE_STEP)
    assert np.abs(np.array(expected["attention"]) - np.array(got["attention"])).max(initial=0) <= ATTENTION_STEP
    return got


def test_onnx_predictor_translates_as_predict_with_greedy_and_beam(runs, exported, tmp_path, capsys):
    run, out = runs / "gru", exported
    assert {"encoder.onnx", "decoder_step.onnx", "source.tokenizer.json", "target.tokenizer.json",
            "preprocessing.json", "predict.py", "_runtime.py", "manifest.json"} <= {p.name for p in out.iterdir()}
    translations = set()
    for i, text in enumerate(SENTENCES):
        if i < 2:
            beam = compare(capsys, run, out, tmp_path, text, printed=i == 0)
            assert beam["decoding"] == "beam 3" and len(beam["beam"]) == 3
            assert len({h["translation"] for h in beam["beam"]}) > 1  # a real search, not three copies
        greedy = compare(capsys, run, out, tmp_path, text, "--beam-size", "1", printed=i == 0)
        assert greedy["decoding"] == "greedy" and "beam" not in greedy
        assert len(greedy["attention"]) == len(greedy["target_tokens"])
        translations.add(greedy["translation"])
    assert len(translations) == len(SENTENCES)  # the model reads its input: every sentence its own output
    assert greedy["unknown_source_tokens"] > 0
    # the length penalty and the length limit are the predictor's flags too, as they are --predict's
    compare(capsys, run, out, tmp_path, SENTENCES[1], "--length-penalty", "0", "--max-decode-ratio", "0.2")

    moved = tmp_path / "elsewhere" / "model"
    shutil.copytree(out, moved)  # the folder reads its files from beside predict.py, wherever it is
    assert predict_exported(moved, SENTENCES[0]).stdout == predict_in_process(capsys, run, SENTENCES[0])


def test_torchscript_predictor_translates_as_predict(runs, tmp_path, capsys):
    run, out = runs / "gru", tmp_path / "ts"
    export_in_process(capsys, run, "torchscript", out)
    assert (out / "encoder.pt").is_file() and (out / "decoder_step.pt").is_file()
    compare(capsys, run, out, tmp_path, SENTENCES[0], in_process=True, printed=True)


@pytest.mark.slow
@pytest.mark.parametrize("name, sentence", [("lstm", SENTENCES[1]), ("seed", "I am cold.")])
def test_other_network_shapes_export_and_match(other_runs, tmp_path, capsys, name, sentence):
    """LSTM state (h, c) through two encoder layers, additive attention and the attentional vector fed back
    (lstm); no attention, a copied bridge and characters (seed): each graph's inputs and outputs differ."""
    run, out = other_runs / name, tmp_path / name
    export_in_process(capsys, run, "onnx", out)
    settings = json.loads((out / "preprocessing.json").read_text())
    assert settings["states"] == ["h", "c"]
    assert (settings["attention"], settings["input_feeding"]) == \
        (("additive", True) if name == "lstm" else ("none", False))
    compare(capsys, run, out, tmp_path, sentence)
    compare(capsys, run, out, tmp_path, sentence, "--beam-size", "1")


def test_exported_networks_decode_padded_batches_as_decoding_py(runs, exported):
    """The graphs' batch and source axes are dynamic and honour the lengths: the predictor's own search over
    a padded batch of sentences of different lengths gives decoding.py's tokens, greedy and beam."""
    import torch

    from suite import api
    from suite.data.text import pad_batch
    from tasks.translation.decoding import beam_search, greedy

    run, out = runs / "gru", exported
    spec = importlib.util.spec_from_file_location("exported_translation", out / "predict.py")
    predictor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(predictor)
    model = api.load(run).model
    source = model.segmenters[0]
    texts = SENTENCES + ["Ein Hund.", "Eine Frau mit einem roten Hut sitzt auf einer Bank im Park und liest."]
    src, src_len = pad_batch([torch.tensor(source.encode(t)) for t in texts], 0)
    settings = json.loads((out / "preprocessing.json").read_text())
    network = predictor.Model(out, settings)
    ids, lengths = src.numpy(), src_len.numpy()
    want = [h.tokens for h in greedy(model, src, src_len, 1.5)]
    assert [h.tokens for h in predictor.greedy(network, ids, lengths, 1.5, eos=3, bos=2)] == want
    want = [[h.tokens for h in hyps] for hyps in beam_search(model, src, src_len, 3, 1.0, 1.5, n_best=3)]
    got = predictor.beam_search(network, ids, lengths, 3, 1.0, 1.5, eos=3, bos=2, n_best=3)
    assert [[h.tokens for h in hyps] for hyps in got] == want


def test_bad_input_is_one_line_and_exit_code_2(exported, tmp_path):
    out = exported
    empty = run_without_torch([out / "predict.py", "   "])
    assert (empty.returncode, empty.stderr) == (2, "error: expected a sentence to translate, got empty text\n")
    beam = run_without_torch([out / "predict.py", "Hello.", "--beam-size", "0"])
    assert beam.returncode == 2 and beam.stderr.startswith("error: argument --beam-size: must be from 1 to 100")
    folder = run_without_torch([out / "predict.py", "Hello.", "--output", str(tmp_path)])
    assert folder.returncode == 2 and folder.stderr.strip() == \
        f"error: {tmp_path}: --output is a folder; give a file name"


def test_without_the_tokenizers_package_the_predictor_says_what_to_install(exported):
    import subprocess
    import sys

    from export_helpers import BLOCKED, _site_dir, blocked_env

    env = {**blocked_env(), "PYTHONPATH": str(_site_dir(BLOCKED + ("tokenizers",)))}
    done = subprocess.run([sys.executable, str(exported / "predict.py"), "Ein Hund."], capture_output=True,
                          text=True, env=env, timeout=120)
    assert (done.returncode, done.stderr) == (2, "error: this translation predictor needs the tokenizers package "
                                                 "(the segmentation the model was trained with): pip install "
                                                 "tokenizers\n")

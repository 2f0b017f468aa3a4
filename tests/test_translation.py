"""The translation task on slices of Multi30k: data errors, tokenizers, attention masking, decoding
equivalences, overfitting a handful of pairs, and the CLI end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from helpers import one_line_error, read_results, run_cli
from suite.config import build_run_config
from suite.data.splits import seeded_holdout
from suite.errors import DataError
from suite.registry import get_task
from tasks.translation.corpus import read_corpus
from suite.trained import load_checkpoint_file
from tasks.translation.data import TranslationState, collate
from tasks.translation.decoding import beam_search, greedy
from tasks.translation.metrics import corpus_scores
from tasks.translation.segmenters import UNK_ID, Segmenter

pytestmark = pytest.mark.realdata

TINY = {"options.embedding": 32, "options.decoder_hidden": 64, "backbone.hidden": 32,
        "options.source_vocab": 400, "options.target_vocab": 400, "train.batch_size": 32}


def slice_folder(root: Path, folder: Path, sizes=(("train", 400), ("val", 40), ("test_2016_flickr", 40))) -> Path:
    """The first lines of each Multi30k de/en split, written to ``folder`` (a temporary copy)."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in sizes:
        for lang in ("de", "en"):
            lines = (root / "translation" / "multi30k" / f"{split}.{lang}").read_text(encoding="utf-8").splitlines()
            (folder / f"{split}.{lang}").write_text("\n".join(lines[:n]) + "\n", encoding="utf-8")
    return folder


def build(data: Path, **explicit):
    task = get_task("translation")
    cfg = build_run_config(task, explicit={"options.data": str(data), "backbone.dropout": 0.0, **TINY, **explicit})
    dm = task.datamodule(cfg)
    dm.setup("fit")
    return task, cfg, dm, task.model(cfg, dm)


def fit(model, batches, steps: int, lr: float = 3e-3, smoothing: float = 0.0) -> float:
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    loss = torch.tensor(0.0)
    for i in range(steps):
        opt.zero_grad()
        loss, _, _ = model.loss(batches[i % len(batches)], smoothing)
        loss.backward()
        opt.step()
    model.eval()
    return float(loss.detach())


@pytest.fixture(scope="module")
def small(data_root, tmp_path_factory):
    """A tiny model trained briefly on 400 pairs: enough for non-trivial, varied decoding."""
    folder = slice_folder(data_root, tmp_path_factory.mktemp("m30k"))
    torch.manual_seed(0)
    task, cfg, dm, model = build(folder, **{"options.io_dropout": 0.0})
    batches = list(dm.train_dataloader())
    fit(model, batches, 60)
    return task, cfg, dm, model


# --- data ----------------------------------------------------------------------------------------------
def test_reads_multi30k_splits_by_file_name(data_root):
    corpus = read_corpus(str(data_root / "translation" / "multi30k"), "de", "en", ("en", "fr"))
    assert (len(corpus.train), len(corpus.val), len(corpus.test)) == (29000, 1014, 1000)
    assert corpus.origin["test"].startswith("test_2016_flickr")
    assert corpus.train[0][1].startswith("Two young, White males")


def test_tatoeba_pairs_file_direction_and_carved_splits(data_root, tmp_path):
    lines = (data_root / "translation" / "tatoeba_fra_eng" / "fra.txt").read_text(encoding="utf-8").splitlines()
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("\n".join(lines[:500]) + "\n", encoding="utf-8")
    task, cfg, dm, _ = build(pairs, **{"options.source_lang": "en", "options.target_lang": "fr",
                                        "options.tokenizer": "char"})
    assert dm.sizes() == {"train": 400, "val": 50, "test": 50}
    _, (val, test) = seeded_holdout(500, [0.1, 0.1], cfg.train.seed)  # the shared seeded carve-out
    assert dm.val_set.source_text == [lines[i].split("\t")[0] for i in val]
    assert dm.test_set.source_text == [lines[i].split("\t")[0] for i in test]
    assert set(dm.train_set.source_text + dm.val_set.source_text + dm.test_set.source_text) == \
        {line.split("\t")[0] for line in lines[:500]}
    first = lines[0].split("\t")
    all_pairs = dict(zip(dm.train_set.source_text + dm.val_set.source_text,
                         dm.train_set.target_text + dm.val_set.target_text))
    assert all_pairs.get(first[0], first[1]) in {l.split("\t")[1] for l in lines[:500] if l.startswith(first[0] + "\t")}


@pytest.mark.parametrize("case", ["misaligned", "empty_line", "encoding", "missing_lang", "bad_tsv"])
def test_bad_data_names_file_and_line(data_root, tmp_path, case):
    folder = slice_folder(data_root, tmp_path / "d", sizes=(("train", 30),))
    de, en = folder / "train.de", folder / "train.en"
    data, expected = str(folder), ""
    if case == "misaligned":
        en.write_text("\n".join(en.read_text(encoding="utf-8").splitlines()[:25]) + "\n", encoding="utf-8")
        expected = f"{en}, line 26: has 25 lines but train.de has 30"
    elif case == "empty_line":
        lines = de.read_text(encoding="utf-8").splitlines()
        lines[6] = "   "
        de.write_text("\n".join(lines) + "\n", encoding="utf-8")
        expected = f"{de}, line 7: empty line"
    elif case == "encoding":
        de.write_bytes(de.read_bytes().replace("Männer".encode(), "Männer".encode("latin-1"), 1))
        expected = f"{de}, line 1: not UTF-8 text"
    elif case == "missing_lang":
        en.unlink()
        expected = f"{en}: language file not found; this folder's training languages: de"
    else:
        tsv = tmp_path / "pairs.txt"
        tsv.write_text("Hi.\tSalut !\nno tab here\n", encoding="utf-8")
        data, expected = str(tsv), f"{tsv}, line 2: expected en<TAB>fr"
    with pytest.raises(DataError) as info:
        read_corpus(data, "de" if case != "bad_tsv" else "en", "en" if case != "bad_tsv" else "fr", ("en", "fr"))
    assert str(info.value).startswith(expected), str(info.value)
    assert "\n" not in str(info.value)


def test_cli_reports_bad_data_in_one_line(data_root, in_tmp, capsys):
    folder = slice_folder(data_root, in_tmp / "d", sizes=(("train", 30),))
    (folder / "train.en").write_text("A dog.\n", encoding="utf-8")
    message = one_line_error(capsys, "--task", "translation", "--data", str(folder), "--run-dir", str(in_tmp / "run"))
    assert message == f"{folder / 'train.en'}, line 2: has 1 lines but train.de has 30; the files must be line-aligned"


@pytest.mark.parametrize("mode", ["bpe", "unigram", "word", "char"])
def test_segmenters_round_trip_and_serialise(data_root, mode):
    corpus = read_corpus(str(data_root / "translation" / "multi30k"), "de", "en", ("en", "fr"))
    seg = Segmenter.train([s for s, _ in corpus.train[:2000]], mode, 1000)
    state = TranslationState(mode, seg.tokenizer.to_str(), seg.tokenizer.to_str())
    saved = json.loads(json.dumps(state.to_dict()))  # the checkpoint's plain values
    assert saved["version"] == 1 and TranslationState.from_dict(saved) == state
    again = TranslationState.from_dict(saved).segmenters[0]
    for sentence, _ in corpus.val[:50]:
        ids = seg.encode(sentence)
        assert again.encode(sentence) == ids
        if UNK_ID not in ids:
            assert seg.decode(ids) == sentence
    unknown = seg.decode(seg.encode("Ein Qwxzy-Mädchen ☃ singt."))
    assert unknown.startswith("Ein") and unknown.endswith("singt.") and "<unk>" in unknown


def test_long_pairs_are_dropped_or_truncated(data_root, tmp_path):
    folder = slice_folder(data_root, tmp_path / "d", sizes=(("train", 200), ("val", 20)))
    _, _, dropped, _ = build(folder, **{"options.max_length": 12})
    _, _, truncated, _ = build(folder, **{"options.max_length": 12, "options.long_pairs": "truncate"})
    n_long = dropped.long_pairs["train"]
    assert 0 < n_long < 180 and len(dropped.train_set) == 180 - n_long  # 20 of 200 are validation
    assert len(truncated.train_set) == 180 and max(len(s) for s in truncated.train_set.sources) == 12
    assert len(dropped.val_set) == 20  # evaluation pairs are never dropped
    assert json.loads(json.dumps(dropped.state_dict()))["segmentation"] == "bpe"


# --- model ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["multiplicative", "additive"])
def test_attention_sums_to_one_over_real_source_tokens(small, kind):
    task, cfg, dm, _ = small
    torch.manual_seed(1)
    model = task.model(build_run_config(task, explicit={**TINY, "options.data": cfg.options.data,
                                                        "options.attention": kind}), dm).eval()
    batch = collate([dm.val_set[i] for i in range(8)])
    src, src_len = batch[0], batch[1]
    assert src_len.min() < src_len.max()
    enc = model.encode(src, src_len)
    h = torch.randn(src.shape[0], 5, cfg.options.decoder_hidden)
    _, weights = model.attend(h, enc)
    for b, n in enumerate(src_len.tolist()):
        assert torch.allclose(weights[b, :, :n].sum(-1), torch.ones(5), atol=1e-5)
        assert torch.all(weights[b, :, n:] == 0)
    hyp = greedy(model, src[:1], src_len[:1], 1.5, keep_attention=True)[0]
    assert all(abs(sum(row) - 1) < 1e-4 for row in hyp.attention)


@pytest.mark.parametrize("variant", [{}, {"options.input_feeding": True, "backbone.cell": "lstm"}])
def test_beam_of_one_equals_greedy_and_batched_equals_one_by_one(small, variant):
    task, cfg, dm, model = small
    if variant:
        torch.manual_seed(0)
        _, _, _, model = build(Path(cfg.options.data), **{"options.io_dropout": 0.0, **variant})
        fit(model, list(dm.train_dataloader()), 30)
    batch = collate([dm.val_set[i] for i in range(12)])
    src, src_len = batch[0], batch[1]
    g = greedy(model, src, src_len, 1.5)
    b1 = beam_search(model, src, src_len, 1, 1.0, 1.5)
    assert [h.tokens for h in g] == [h.tokens for h in b1]
    assert len({tuple(h.tokens) for h in g}) > 3  # the model says different things for different sentences
    together = beam_search(model, src, src_len, 4, 1.0, 1.5)
    alone = [beam_search(model, src[i:i + 1, : src_len[i]], src_len[i:i + 1], 4, 1.0, 1.5)[0]
             for i in range(len(src))]
    assert [h.tokens for h in together] == [h.tokens for h in alone]
    assert [round(h.score, 3) for h in together] == [round(h.score, 3) for h in alone]
    assert [h.tokens for h in together] != [h.tokens for h in g]  # a wider beam does change some outputs


def test_tiny_model_overfits_a_handful_of_pairs_to_perfect_bleu(data_root, tmp_path):
    folder = slice_folder(data_root, tmp_path / "d", sizes=(("train", 8), ("val", 8)))
    torch.manual_seed(0)
    _, _, dm, model = build(folder, **{"options.tokenizer": "word", "options.io_dropout": 0.0,
                                      "options.label_smoothing": 0.0, "options.val_fraction": 0.0})
    batch = collate([dm.train_set[i] for i in range(len(dm.train_set))])
    before = corpus_scores([model.segmenters[1].decode(h.tokens) for h in greedy(model, batch[0], batch[1], 1.5)],
                           dm.train_set.target_text)["bleu"]
    fit(model, [batch], 150, lr=1e-2)
    hyps = beam_search(model, batch[0], batch[1], 3, 1.0, 1.5)
    texts = [model.segmenters[1].decode(h.tokens) for h in hyps]
    assert texts == dm.train_set.target_text
    assert corpus_scores(texts, dm.train_set.target_text)["bleu"] == pytest.approx(100.0)
    assert before < 5


def test_predict_with_unknown_words_and_attention_shape(small):
    task, cfg, dm, model = small
    out = task.predict(model, "Ein Xylqwzfant ☃ spielt mit 12345 Zzzorgs im Schnee.")
    assert set(out) >= {"translation", "source_tokens", "target_tokens", "attention", "beam"}
    assert out["unknown_source_tokens"] >= 1
    assert len(out["attention"]) == len(out["target_tokens"])
    assert all(len(row) == len(out["source_tokens"]) for row in out["attention"])
    assert all(abs(sum(row) - 1) < 1e-3 for row in out["attention"])
    assert out["translation"] == model.segmenters[1].decode(model.segmenters[1].tokenizer.encode(
        out["translation"], add_special_tokens=False).ids) or "<unk>" in out["translation"]
    json.dumps(out)
    assert task.predict(model, "☃☃☃")["translation"] is not None


# --- the command line ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cli_run(data_root, tmp_path_factory):
    """A run trained by the command line for one epoch: its folder and the Multi30k slice it read."""
    tmp_path = tmp_path_factory.mktemp("cli")
    folder = slice_folder(data_root, tmp_path / "m30k", sizes=(("train", 300), ("val", 30), ("test_2016_flickr", 30)))
    run_dir = tmp_path / "run"
    flags = ["--embedding", "32", "--decoder-hidden", "64", "--hidden", "32", "--source-vocab", "300",
             "--target-vocab", "300", "--beam-size", "3", "--threads", "1", "--num-workers", "0"]
    proc = run_cli("--task", "translation", "--data", str(folder), "--max-epochs", "1", "--run-dir", str(run_dir),
                   *flags, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return run_dir, folder


def test_cli_train_predict_evaluate(cli_run, tmp_path):
    run_dir, folder = cli_run
    results = read_results(run_dir)
    test = results["metrics"]["test"]
    assert {"bleu", "chrf", "bleu_greedy", "loss"} <= set(test)
    assert results["baseline"]["name"] == "copy_source" and results["baseline"]["test"]["bleu"] >= 0
    ckpt = torch.load(run_dir / "checkpoints" / "best.ckpt", weights_only=True)
    state = ckpt["rnn_suite"]["data_state"]
    assert state["version"] == 1 and isinstance(state["source_tokenizer"], str)  # the tokenizer travels as JSON
    assert (run_dir / "translations.tsv").read_text(encoding="utf-8").count("\n") == 31

    proc = run_cli("--checkpoint", str(run_dir), "--predict", "Ein Hund läuft.", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
    out = tmp_path / "p.json"
    proc = run_cli("--checkpoint", str(run_dir), "--predict", "Ein Hund läuft.", "--beam-size", "1",
                   "--output", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(out.read_text(encoding="utf-8"))
    assert answer["decoding"] == "greedy" and len(answer["attention"]) == len(answer["target_tokens"])

    proc = run_cli("--checkpoint", str(run_dir), "--evaluate", str(folder), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["examples"] == 30
    assert report["metrics"]["bleu"] == pytest.approx(test["bleu"], abs=1e-6)


def with_data_state(run_dir: Path, path: Path, change) -> Path:
    """A copy of the run's best checkpoint at ``path``, its data state replaced by ``change(state)``."""
    ckpt = torch.load(run_dir / "checkpoints" / "best.ckpt", weights_only=True)
    ckpt["rnn_suite"]["data_state"] = change(ckpt["rnn_suite"]["data_state"])
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize("with_info", [True, False])
def test_a_version_0_data_state_loads_and_predicts_the_same(cli_run, tmp_path, with_info):
    run_dir, _ = cli_run

    def version_0(state):  # the layout checkpoints were written in before data states had versions
        old = {"source": {"mode": "bpe", "tokenizer": state["source_tokenizer"]},
               "target": {"mode": "bpe", "tokenizer": state["target_tokenizer"]}}
        if with_info:  # "info" was absent from some
            old["info"] = {"source_vocab": 300, "target_vocab": 300, "long_pairs": {"train": 0, "val": 0, "test": 0},
                           "splits": {"train": "train.de/.en", "val": "val.de/.en", "test": "test_2016_flickr.de/.en"}}
        return old

    new = load_checkpoint_file(run_dir / "checkpoints" / "best.ckpt")
    old = load_checkpoint_file(with_data_state(run_dir, tmp_path / "old.ckpt", version_0))
    assert old.datamodule.state == new.datamodule.state and old.datamodule.state.segmentation == "bpe"
    for sentence in ("Ein Hund läuft.", "Zwei Männer spielen Fußball im Park."):
        assert old.task.predict(old.model, sentence) == new.task.predict(new.model, sentence)


@pytest.mark.parametrize("damage, reason", [
    (lambda s: {k: v for k, v in s.items() if k != "target_tokenizer"}, "field 'target_tokenizer' is missing"),
    (lambda s: {**s, "source_tokenizer": s["source_tokenizer"][:100]},
     "field 'source_tokenizer': not a tokenizer's JSON text"),
    (lambda s: {"source": {"mode": "bpe", "tokenizer": s["source_tokenizer"]}}, "field 'target_tokenizer' is missing"),
], ids=["missing", "garbled", "version-0-missing"])
def test_a_damaged_data_state_is_one_line_naming_the_field(cli_run, tmp_path, capsys, damage, reason):
    path = with_data_state(cli_run[0], tmp_path / "damaged.ckpt", damage)
    message = one_line_error(capsys, "--checkpoint", str(path), "--predict", "Ein Hund läuft.")
    assert message == (f"{path}: its translation data state is unreadable ({reason}); not a checkpoint of this "
                       "run, or damaged")


# --- long quality runs (pytest -m slow) ----------------------------------------------------------------
@pytest.mark.slow
def test_multi30k_default_reaches_bleu_30_with_beam_beating_greedy(data_root, tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli("--task", "translation", "--run-dir", str(run_dir), "--data-root", str(data_root),
                   cwd=tmp_path, timeout=3600)
    assert proc.returncode == 0, proc.stderr
    test = read_results(run_dir)["metrics"]["test"]
    assert test["bleu"] >= 30
    assert test["bleu"] > test["bleu_greedy"]


@pytest.mark.slow
def test_seed_preset_translates_short_sentences(data_root, tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli("--task", "translation", "--preset", "seed", "--run-dir", str(run_dir), "--data-root",
                   str(data_root), cwd=tmp_path, timeout=3600)
    assert proc.returncode == 0, proc.stderr
    results = read_results(run_dir)
    assert results["metrics"]["test"]["chrf"] > results["baseline"]["test"]["chrf"] + 10
    proc = run_cli("--checkpoint", str(run_dir), "--predict", "I am cold.", cwd=tmp_path)
    assert "froid" in proc.stdout

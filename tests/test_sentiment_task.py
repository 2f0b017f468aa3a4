"""The sentiment task: data formats and splits, labels, bad input, the model's padding invariance,
pretrained vectors, the seed preset, and the CLI end to end (train, predict, evaluate) on real slices."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest
import torch

from helpers import one_line_error, read_results, run_cli
from suite.config import build_run_config
from suite.data.text import pad_batch
from suite.errors import ConfigError, DataError
from suite.registry import get_task
from tasks.sentiment.sources import find_sources

TASK = get_task("sentiment")
pytestmark = pytest.mark.realdata


def imdb_slice(data_root, n=300, split="train") -> pd.DataFrame:
    """``n`` reviews, half of each class (the files are ordered by label)."""
    frame = pd.read_csv(data_root / f"sentiment/imdb/{split}.csv.gz")
    return pd.concat([frame[frame.label == 0].head(n // 2), frame[frame.label == 1].head(n // 2)])


def setup(data, **options):
    explicit = {"options.data": str(data), "backbone.hidden": 8, "options.embedding_dim": 8,
                **{k if "." in k else f"options.{k}": v for k, v in options.items()}}
    cfg = build_run_config(TASK, explicit=explicit)
    dm = TASK.datamodule(cfg)
    dm.setup("fit")
    return cfg, dm


# --- sources and splits ---------------------------------------------------------------------------

def test_splits_are_found_by_file_name(data_root):
    imdb = find_sources(str(data_root / "sentiment/imdb"))
    assert {k: v.name for k, v in imdb.items()} == {"train": "train.csv.gz", "test": "test.csv.gz"}
    sst2 = find_sources(str(data_root / "sentiment/sst2"))
    assert {k: v.name for k, v in sst2.items()} == {"train": "train.tsv", "val": "dev.tsv"}
    rt = find_sources(str(data_root / "sentiment/rt_polarity"))  # PROVENANCE.md is not a class
    assert sorted(p.name for p in rt["train"]) == ["rt-polarity.neg", "rt-polarity.pos"]


def test_class_files_and_a_stratified_validation_carve(data_root):
    cfg, dm = setup(data_root / "sentiment/rt_polarity", limit=1000, val_fraction=0.2)
    assert dm.state.classes == ["neg", "pos"]
    assert dm.sizes() == {"train": 800, "val": 200, "test": 200}
    assert dm.test_split.startswith("validation")
    assert torch.bincount(dm.val_set.labels).tolist() == [100, 100]
    assert torch.bincount(dm.train_set.labels).tolist() == [400, 400]


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".tsv", ".jsonl", ".parquet"])
def test_every_table_format_reads_the_same(tmp_path, data_root, suffix):
    frame = imdb_slice(data_root, 120)[["text", "label"]].rename(columns={"text": "review", "label": "sentiment"})
    frame["sentiment"] = frame["sentiment"].map({0: "bad", 1: "good"})
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / f"train{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
    frame.head(40).to_csv(folder / "test.csv", index=False)
    _, dm = setup(folder)
    assert dm.state.classes == ["bad", "good"]  # string labels keep their names
    assert dm.sizes() == {"train": 96, "val": 24, "test": 40}
    assert len(dm.state.vocabulary) > 500


def test_vocabulary_comes_from_the_training_split_only(tmp_path):
    train = pd.DataFrame({"text": ["good film", "bad film", "good plot", "bad plot"] * 5, "label": [1, 0, 1, 0] * 5})
    test = pd.DataFrame({"text": ["zanzibar film"], "label": [1]})
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    _, dm = setup(tmp_path)
    assert "zanzibar" not in dm.state.vocabulary and "good" in dm.state.vocabulary
    assert dm.state.classes == ["negative", "positive"]  # 0/1 labels get names
    assert dm.test_set.ids[0].tolist() == [dm.state.vocabulary.unk_index, dm.state.vocabulary.index("film")]
    state = json.loads(json.dumps(dm.state_dict()))  # JSON-able, as the checkpoint needs
    assert state["vocab"] == dm.state.vocabulary.itos and state["class_counts"] == [8, 8]  # after the 20% validation carve


def test_multiclass_labels_and_names(tmp_path, data_root):
    frame = imdb_slice(data_root, 300)
    frame["stars"] = pd.cut(frame["rating"], [0, 2, 8, 10], labels=["low", "middle", "high"]).astype(str)
    frame[["text", "stars"]].to_csv(tmp_path / "reviews.csv", index=False)
    cfg, dm = setup(tmp_path / "reviews.csv", label_column="stars")
    assert dm.state.classes == ["high", "low", "middle"]
    model = TASK.model(cfg, dm)
    batch = dm.train_set.__getitems__(list(range(16)))
    loss = model.step(batch, "train")
    assert loss.ndim == 0 and model(batch[0], batch[1]).shape == (16, 3)
    baseline = TASK.baseline(dm)
    majority = max(range(3), key=dm.state.class_counts.__getitem__)
    share = float((dm.test_set.labels == majority).float().mean())
    assert baseline.test["acc"] == pytest.approx(share)
    # macro F1 of always answering one class: that class's F1 over the number of classes
    assert baseline.test["f1"] == pytest.approx(2 * share / (1 + share) / 3, abs=1e-6)


def test_label_names_option(tmp_path):
    pd.DataFrame({"text": ["a b", "c d"] * 10, "label": [0, 1] * 10}).to_csv(tmp_path / "t.csv", index=False)
    _, dm = setup(tmp_path / "t.csv", label_names="bad,good")
    assert dm.state.classes == ["bad", "good"]
    with pytest.raises(ConfigError, match="2 labels"):
        setup(tmp_path / "t.csv", label_names="x,y,z")


# --- bad input ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("rows,files,message,line", [
    ({"text": ["ok film", "", "fine"], "label": [1, 0, 1]}, None, "empty text", 3),
    ({"text": ["ok film", "<br />", "fine"], "label": [1, 0, 1]}, None, "empty text", 3),
    ({"text": ["ok film", "bad", "fine"], "label": [1, None, 1]}, None, "missing label", 3),
    ({"text": ["ok film", "bad", "fine"], "label": [1, 0.5, 1]}, None, "continuous score", 3),
    ({"body_text": ["ok film", "bad"], "score": [1, 0]}, None, "no label column", None),
])
def test_bad_tables_name_file_and_line(tmp_path, rows, files, message, line):
    path = tmp_path / "train.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    with pytest.raises(DataError) as info:
        setup(path)
    assert message in str(info.value) and str(path) in str(info.value)
    assert info.value.line == line


def test_unknown_label_in_test_and_missing_named_column(tmp_path):
    pd.DataFrame({"text": ["good", "bad"] * 10, "label": ["pos", "neg"] * 10}).to_csv(tmp_path / "train.csv",
                                                                                    index=False)
    pd.DataFrame({"text": ["good", "meh"], "label": ["pos", "neutral"]}).to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(DataError) as info:
        setup(tmp_path)
    assert "'neutral' is not one of the training labels (neg, pos)" in str(info.value)
    assert info.value.line == 3 and info.value.source.endswith("test.csv")
    with pytest.raises(DataError, match="no text column 'review'.*columns: text, label"):
        setup(tmp_path / "train.csv", text_column="review")


def test_wrong_encoding_is_named_and_latin1_reads(tmp_path):
    folder = tmp_path / "mr"
    folder.mkdir()
    (folder / "mr.pos").write_bytes("a charming caf\u00e9 comedy\nfun\n".encode("latin-1"))
    (folder / "mr.neg").write_bytes(b"dull\nboring film\n")
    with pytest.raises(DataError) as info:
        setup(folder)
    assert "not valid utf-8" in str(info.value) and "--encoding" in str(info.value)
    assert info.value.line == 1 and info.value.source.endswith("mr.pos")
    _, dm = setup(folder, encoding="latin-1", val_fraction=0.25, min_freq=1)
    assert "caf\u00e9" in dm.state.vocabulary


def test_over_long_texts_are_cut_with_a_warning(tmp_path, data_root, capsys):
    imdb_slice(data_root, 60).to_csv(tmp_path / "r.csv", index=False)
    _, dm = setup(tmp_path / "r.csv", max_length=50, truncate="tail")
    warning = capsys.readouterr().err.splitlines()[0]
    assert warning == (f"warning: train: {dm.truncated['train']} of 48 texts are longer than --max-length 50 tokens "
                       "and were cut (keeping tail)")
    assert max(dm.train_set.lengths) == 50 and dm.truncated["train"] > 0


# --- the model -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("pooling", ["last", "max", "mean", "max_mean", "attention"])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_prediction_alone_equals_prediction_padded_in_a_batch(data_root, pooling, cell):
    cfg, dm = setup(data_root / "sentiment/rt_polarity", limit=400, pooling=pooling, **{"backbone.cell": cell})
    model = TASK.model(cfg, dm).eval()
    rows = [0, 5, 17, 42, 79]
    ids, lengths, _, _ = dm.val_set.__getitems__(rows)
    assert len(set(lengths.tolist())) > 1  # really padded
    with torch.no_grad():
        batch = model(ids, lengths)
        for k, row in enumerate(rows):
            alone, n = pad_batch([dm.val_set.ids[row]])
            torch.testing.assert_close(model(alone, n)[0], batch[k], rtol=0, atol=1e-6)


def test_pretrained_vectors_frozen_or_fine_tuned(tmp_path):
    train = pd.DataFrame({"text": ["Good film", "bad film", "good plot", "bad plot"] * 5, "label": [1, 0, 1, 0] * 5})
    train.to_csv(tmp_path / "train.csv", index=False)
    vectors = tmp_path / "vec.txt"
    vectors.write_text("3 4\ngood 1 0 0 0\nbad 0 1 0 0\nfilm 0 0 1 0\n", encoding="utf-8")
    for freeze in (True, False):
        cfg, dm = setup(tmp_path / "train.csv", embeddings=str(vectors), freeze_embeddings=freeze,
                        embedding_dim=50, min_freq=1)
        assert dm.vectors_found == 3
        model = TASK.model(cfg, dm)
        assert model.embedding.weight.shape == (len(dm.state.vocabulary), 4)  # the file decides the size
        before = model.embedding.weight.detach().clone()
        torch.testing.assert_close(before[dm.state.vocabulary.index("good")], torch.tensor([1.0, 0, 0, 0]))
        optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
        model.train()
        model.step(dm.train_set.__getitems__(list(range(8))), "train").backward()
        optimizer.step()
        changed = not torch.equal(before, model.embedding.weight.detach())
        assert changed is not freeze


def test_seed_preset_is_the_keras_model(data_root):
    cfg = build_run_config(TASK, preset="seed", explicit={"options.data": str(data_root / "sentiment/rt_polarity"),
                                                          "options.limit": 500})
    assert (cfg.backbone.cell, cfg.backbone.hidden, cfg.backbone.bidirectional) == ("rnn", 32, False)
    assert (cfg.train.optimizer, cfg.train.batch_size, cfg.train.max_epochs) == ("rmsprop", 128, 10)
    assert (cfg.options.max_length, cfg.options.truncate, cfg.options.val_fraction) == (500, "tail", 0.2)
    dm = TASK.datamodule(cfg)
    dm.setup("fit")
    model = TASK.model(cfg, dm)
    assert len(dm.state.vocabulary) <= 10000 and model.embedding.embedding_dim == 32
    assert model.classifier.out_features == 1 and model.pool.kind == "last" and not model.bag
    assert model.word_dropout.p == 0 and model.dropout.p == 0
    assert dm.state.vocabulary.unk_index not in torch.cat(dm.train_set.ids).tolist()  # Keras' Tokenizer drops unknowns


def test_evaluation_batches_follow_eval_batch_size(data_root):
    cfg, dm = setup(data_root / "sentiment/rt_polarity", limit=600, **{"train.batch_size": 16})
    assert max(len(b[0]) for b in dm.val_dataloader()) == 16  # 0: as training
    cfg, dm = setup(data_root / "sentiment/rt_polarity", limit=600,
                    **{"train.batch_size": 16, "train.eval_batch_size": 100})
    assert max(len(b[0]) for b in dm.train_dataloader()) == 16
    assert max(len(b[0]) for b in dm.val_dataloader()) == max(len(b[0]) for b in dm.test_dataloader()) == 100


# --- end to end -----------------------------------------------------------------------------------

def test_cli_train_predict_evaluate(tmp_path, data_root, capsys):
    run = tmp_path / "run"
    common = ["--data-root", str(data_root)]
    done = run_cli("--task", "sentiment", "--data", "sentiment/rt_polarity", "--limit", "3000", "--max-epochs", "3",
                   "--hidden", "16", "--embedding-dim", "32", "--lr", "0.01", "--run-dir", str(run), "--threads", "1",
                   *common, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    results = read_results(run)
    test = results["metrics"]["test"]
    assert set(test) >= {"acc", "f1", "auroc", "loss"}
    assert results["baseline"]["name"].startswith("majority class")
    matrix = results["report"]["confusion_matrix"]["matrix"]
    assert sum(map(sum, matrix)) == results["data"]["test"] == 600
    correct = sum(matrix[i][i] for i in range(2)) / 600
    assert test["acc"] == pytest.approx(correct, abs=1e-6)
    assert test["acc"] > results["baseline"]["test"]["acc"] + 0.05  # it learned something in 3 epochs
    predictions = pd.read_csv(run / "predictions.csv")
    assert len(predictions) == 600 and (predictions["true"] == predictions["predicted"]).mean() == pytest.approx(
        test["acc"], abs=1e-6)

    said = run_cli("--checkpoint", str(run), "--predict", "an utterly charming , funny and moving film", *common,
                   cwd=tmp_path)
    assert said.returncode == 0, said.stderr
    assert said.stdout.split()[0] in ("neg", "pos") and "%" in said.stdout

    lines = tmp_path / "lines.txt"
    lines.write_text("a dull , lifeless mess\n\nwitty and warm\n", encoding="utf-8")
    out = tmp_path / "p.json"
    said = run_cli("--checkpoint", str(run), "--predict", str(lines), "--output", str(out), *common, cwd=tmp_path)
    assert said.returncode == 0, said.stderr
    answer = json.loads(out.read_text())
    assert [p["text"] for p in answer["predictions"]] == ["a dull , lifeless mess", "witty and warm"]
    assert all(abs(sum(p["probabilities"].values()) - 1) < 1e-3 for p in answer["predictions"])

    other = tmp_path / "other.csv"
    pd.DataFrame({"sentence": ["a triumph", "a disaster", "great fun"], "label": ["pos", "neg", "pos"]}).to_csv(
        other, index=False)
    report = tmp_path / "eval.json"
    said = run_cli("--checkpoint", str(run), "--evaluate", str(other), "--output", str(report), *common, cwd=tmp_path)
    assert said.returncode == 0, said.stderr
    evaluated = json.loads(report.read_text())
    assert evaluated["examples"] == 3 and "acc" in evaluated["metrics"]
    assert sum(map(sum, evaluated["report"]["confusion_matrix"]["matrix"])) == 3

    bad = tmp_path / "bad.csv"
    pd.DataFrame({"words": ["x"], "label": ["pos"]}).to_csv(bad, index=False)
    pd.DataFrame({"words": [1], "label": ["pos"]}).to_csv(bad, index=False)
    assert "no text column" in one_line_error(capsys, "--checkpoint", str(run), "--evaluate", str(bad), *common)


def test_cli_bad_data_is_one_line_exit_2(in_tmp, capsys):
    path = in_tmp / "train.csv"
    pd.DataFrame({"text": ["fine", "good", "bad"], "label": ["pos", "pos", None]}).to_csv(path, index=False)
    message = one_line_error(capsys, "--task", "sentiment", "--data", str(path), "--run-dir", str(in_tmp / "r"))
    assert message == f"{path}, line 4: missing label"
    assert not (in_tmp / "r").exists()


def test_trained_state_predicts_like_the_trained_model(tmp_path, data_root):
    """Vocabulary and classes restored from the datamodule state read text exactly as in training."""
    cfg, dm = setup(data_root / "sentiment/rt_polarity", limit=300, max_length=400)  # the default reads all
    model = TASK.model(cfg, dm).eval()
    restored_dm = TASK.datamodule(cfg)
    restored_dm.load_state_dict(json.loads(json.dumps(dm.state_dict())))
    restored = TASK.model(cfg, restored_dm)
    restored.load_state_dict(model.state_dict())
    text = "the plot is thin but the cast is wonderful"
    assert TASK.predict(restored, text) == TASK.predict(model, text)
    assert set(TASK.predict(model, text)["probabilities"]) == {"neg", "pos"}
    long_answer = TASK.predict(model, "good " * 450)
    assert long_answer["tokens"] == 450 and "the model reads 400 (head+tail)" in long_answer["warning"]
    assert "warning:" in TASK.render_prediction(long_answer)
    evaluation = type(dm)(cfg, dm.state, test_data=str(data_root / "sentiment/rt_polarity"))
    evaluation.setup("test")
    assert evaluation.state.vocabulary == dm.state.vocabulary and len(evaluation.test_set) == 10662
    assert dataclasses.asdict(cfg.options)["data"].endswith("rt_polarity")


def test_the_validation_carve_is_the_shared_seeded_holdout(tmp_path):
    """The carve is suite.data.splits.seeded_holdout stratified by label; these are the rows the task's own
    stratified carve held out before it (the same draw), so documented figures keep their validation sets."""
    labels = ["pos", "neg", "neg", "pos", "pos", "neg", "pos", "neg", "neg", "pos"] * 3
    texts = [f"film {' '.join(str(i))}" for i in range(30)]  # row 14 reads "film 1 4": every digit is known
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "t.csv", index=False)
    _, dm = setup(tmp_path / "t.csv", min_freq=1, val_fraction=0.2)
    held = sorted(int("".join(dm.state.vocabulary.decode(ids)[1:])) for ids in dm.val_set.ids)
    assert held == [7, 12, 16, 20, 21, 24]  # what the old carve (seed 42) drew
    assert dm.state.class_counts == [12, 12]


# --- the data state in checkpoints -----------------------------------------------------------------------

ROWS = [("a wonderful moving film", "pos"), ("a dull boring mess", "neg"), ("great acting and a great story", "pos"),
        ("boring and far too long", "neg"), ("wonderful music", "pos"), ("a mess of a plot", "neg")] * 4


@pytest.fixture(scope="module")
def state_run(tmp_path_factory):
    """A one-epoch run on a small table, and a file of texts to predict."""
    from suite.cli import main

    root = tmp_path_factory.mktemp("sentiment-state")
    pd.DataFrame(ROWS, columns=["review", "label"]).to_csv(root / "train.csv", index=False)
    (root / "texts.txt").write_text("a wonderful film\nboring dull and unknownword\n", encoding="utf-8")
    assert main(["--task", "sentiment", "--data", str(root / "train.csv"), "--min-freq", "1", "--hidden", "8",
                 "--embedding-dim", "8", "--max-epochs", "1", "--threads", "1", "--run-dir", str(root / "run")]) == 0
    return root


def rewritten(state_run, tmp_path, data_state) -> str:
    """The run's best checkpoint, alone in ``tmp_path``, with its data state replaced."""
    ckpt = torch.load(state_run / "run" / "checkpoints" / "best.ckpt", weights_only=True)
    ckpt["rnn_suite"]["data_state"] = data_state
    torch.save(ckpt, tmp_path / "best.ckpt")
    return str(tmp_path / "best.ckpt")


def saved_state(state_run) -> dict:
    return torch.load(state_run / "run" / "checkpoints" / "best.ckpt", weights_only=True)["rnn_suite"]["data_state"]


def test_the_state_round_trips_and_checkpoints_carry_version_1(state_run):
    from tasks.sentiment.data import SentimentState

    _, dm = setup(state_run / "train.csv", min_freq=1)
    assert SentimentState.from_dict(dm.state.to_dict()) == dm.state
    saved = saved_state(state_run)
    assert saved["version"] == 1 and SentimentState.from_dict(saved).to_dict() == saved
    assert {k: v for k, v in saved.items() if k != "vocab"} == {
        "version": 1, "classes": ["neg", "pos"], "label_values": ["neg", "pos"], "class_counts": [10, 10],
        "vector_dim": None}
    assert saved["vocab"][:2] == ["<pad>", "<unk>"] and "wonderful" in saved["vocab"]


def test_a_version_0_state_loads_and_predicts_the_same(state_run, tmp_path):
    from suite.api import load
    from tasks.sentiment.data import SentimentState

    # the layout checkpoints held before the state had a version; class_counts came later than the rest
    old = {"vocab": {"itos": ["<pad>", "<unk>", "a", "film"]}, "classes": ["negative", "positive"],
           "label_values": [0, 1]}
    assert SentimentState.from_dict(old) == SentimentState(["<pad>", "<unk>", "a", "film"],
                                                           ["negative", "positive"], [0, 1], [], None)
    new = saved_state(state_run)
    as_v0 = {"vocab": {"itos": new["vocab"]}, "classes": new["classes"], "label_values": new["label_values"],
             "class_counts": new["class_counts"]}  # this run's state, written as version 0 did
    texts, data = str(state_run / "texts.txt"), str(state_run / "train.csv")
    current = load(state_run / "run" / "checkpoints" / "best.ckpt")
    upgraded = load(rewritten(state_run, tmp_path, as_v0))
    assert upgraded._trained.datamodule.state == current._trained.datamodule.state
    expected = current.predict(texts)
    assert upgraded.predict(texts) == expected and expected["predictions"][1]["unknown_words"] == 1
    assert upgraded.evaluate(data)["metrics"] == current.evaluate(data)["metrics"]
    assert upgraded.evaluate(data)["baseline"]["name"] == "majority class (neg)"
    without_counts = load(rewritten(state_run, tmp_path, {k: v for k, v in as_v0.items() if k != "class_counts"}))
    assert without_counts.predict(texts) == expected  # no majority known: --evaluate reports no baseline
    assert without_counts.evaluate(data)["baseline"] is None


@pytest.mark.parametrize("damage, reason", [
    (lambda s: {k: v for k, v in s.items() if k != "classes"}, "field 'classes' is missing"),
    (lambda s: {**s, "vocab": "abc"}, "field 'vocab': expected list, got str"),
    (lambda s: {**s, "vocab": ["the", "a"]}, "field 'vocab': a vocabulary starts with '<pad>', '<unk>'"),
])
def test_a_damaged_state_is_one_line_naming_the_field(state_run, tmp_path, capsys, damage, reason):
    path = rewritten(state_run, tmp_path, damage(saved_state(state_run)))
    message = one_line_error(capsys, "--checkpoint", path, "--predict", "a wonderful film")
    assert message.startswith(f"{path}: its sentiment data state is unreadable ({reason}"), message


def test_a_run_with_word_vectors_of_another_width_loads_back(tmp_path, capsys):
    """The vectors' width is in the state: a checkpoint alone rebuilds the embedding it was trained with
    (before, it was built --embedding-dim wide and the weights did not fit)."""
    from suite.api import load
    from suite.cli import main

    pd.DataFrame(ROWS, columns=["review", "label"]).to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "vec.txt").write_text("3 4\nwonderful 1 0 0 0\nboring 0 1 0 0\nfilm 0 0 1 0\n", encoding="utf-8")
    assert main(["--task", "sentiment", "--data", str(tmp_path / "train.csv"), "--embeddings",
                 str(tmp_path / "vec.txt"), "--min-freq", "1", "--hidden", "8", "--max-epochs", "1", "--threads", "1",
                 "--run-dir", str(tmp_path / "run")]) == 0, capsys.readouterr().err
    trained = load(tmp_path / "run" / "checkpoints" / "best.ckpt")
    assert trained.model.embedding.weight.shape[1] == 4 and trained._trained.datamodule.state.vector_dim == 4
    assert trained.predict("a wonderful film")["label"] in ("neg", "pos")

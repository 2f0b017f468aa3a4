"""Tagging data: CoNLL-U and CoNLL readers on the real corpora, bad input, folders, Hub tables, batches."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from suite.config import build_run_config
from suite.errors import ConfigError, DataError, UserError
from suite.registry import get_task
from tasks.tagging.conll import find_splits, read_file, sentences_from_dataset
from tasks.tagging.data import TagBatch, clip_word

TASK = get_task("tagging")
EWT = Path("tagging/ud_english_ewt")
WNUT = Path("tagging/wnut17")


def head_sentences(src: Path, dst: Path, n: int) -> Path:
    """The first ``n`` sentences of a real file (a slice for fast tests)."""
    out, count = [], 0
    with open(src, encoding="utf-8") as handle:
        for line in handle:
            out.append(line)
            if not line.strip():
                count += 1
                if count >= n:
                    break
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text("".join(out), encoding="utf-8")
    return dst


@pytest.mark.realdata
def test_ewt_dev_words_skip_multiword_ranges_and_empty_nodes(data_root):
    sentences = read_file(data_root / EWT / "en_ewt-ud-dev.conllu")
    assert len(sentences) == 2001
    assert sum(len(s.tokens) for s in sentences) == 25147  # the treebank's syntactic words
    didnt = next(s for s in sentences if "did" in s.tokens and "n't" in s.tokens)
    assert "didn't" not in didnt.tokens
    i = didnt.tokens.index("n't")
    assert didnt.tags[i] == "PART"
    # the sentence with empty node 8.1 (a copy of 'write') keeps only its real words
    copy = next(s for s in sentences if s.line > 1590 and s.line <= 1602)
    assert copy.tokens.count("write") == 1
    tags = {t for s in sentences for t in s.tags}
    assert tags <= {"NOUN", "PUNCT", "VERB", "PRON", "ADP", "DET", "ADJ", "PROPN", "AUX", "ADV", "CCONJ", "PART",
                    "NUM", "SCONJ", "INTJ", "SYM", "X"}


@pytest.mark.realdata
def test_xpos_column(data_root, tmp_path):
    path = head_sentences(data_root / EWT / "en_ewt-ud-dev.conllu", tmp_path / "d.conllu", 5)
    first = read_file(path, tag_column="xpos")[0]
    assert first.tokens[:3] == ["From", "the", "AP"] and first.tags[:3] == ["IN", "DT", "NNP"]


@pytest.mark.realdata
def test_wnut_files_with_tab_only_separator_lines(data_root):
    train = read_file(data_root / WNUT / "wnut17train.conll")
    assert len(train) == 3394 and sum(len(s.tokens) for s in train) == 62730
    assert train[0].tokens[:2] == ["@paulwalk", "It"]
    assert sum(t.startswith("B-") for s in train for t in s.tags) == 1975
    test = read_file(data_root / WNUT / "emerging.test.annotated")
    assert len(test) == 1287


@pytest.mark.realdata
def test_folders_are_split_by_file_name(data_root, tmp_path):
    assert {k: v.name for k, v in find_splits(data_root / WNUT).items()} == {
        "train": "wnut17train.conll", "val": "emerging.dev.conll", "test": "emerging.test.annotated"}
    assert {k: v.name for k, v in find_splits(data_root / EWT).items()} == {
        "train": "en_ewt-ud-train.conllu", "val": "en_ewt-ud-dev.conllu", "test": "en_ewt-ud-test.conllu"}
    (tmp_path / "a.test.conll").write_text("x O\n")
    (tmp_path / "b.test.conll").write_text("x O\n")
    with pytest.raises(DataError, match="several files look like the test split.*--test"):
        find_splits(tmp_path)


def test_space_separated_conll_with_docstart_and_chosen_columns(tmp_path):
    path = tmp_path / "eng.train"
    path.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n"
                    "Peter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n\n-DOCSTART- -X- -X- O\n\nBRUSSELS NNP B-NP B-LOC\n")
    ner = read_file(path)
    assert [s.tokens for s in ner] == [["EU", "rejects"], ["Peter", "Blackburn"], ["BRUSSELS"]]
    assert ner[1].tags == ["B-PER", "I-PER"] and ner[1].line == 6
    pos = read_file(path, tag_column="2")
    assert pos[0].tags == ["NNP", "VBZ"]


CONLLU_OK = "1\tHi\thi\tINTJ\tUH\t_\t0\troot\t0:root\t_\n"


@pytest.mark.parametrize("name,content,message", [
    ("bad.conllu", "# c\n" + CONLLU_OK + "2\tthere\tthere\tADV\tRB\t_\t1\n", r"bad.conllu, line 3: expected 10 tab"),
    ("bad.conllu", CONLLU_OK + "x\tthere\tthere\tADV\tRB\t_\t1\tadvmod\t_\t_\n", r"line 2: expected an integer word id"),
    ("bad.conllu", CONLLU_OK + "1\tthere\tthere\t_\tRB\t_\t1\tadvmod\t_\t_\n", r"line 2: .*out of order"),
    ("bad.conll", "a O\nb O\nc O extra\n", r"bad.conll, line 3: expected 2 columns like line 1, got 3"),
    ("bad.conll", "a\nb\n", r"line 1: expected a token and a tag column"),
    ("empty.conll", "\n\n  \n", r"empty.conll: file is empty"),
    ("comments.conllu", "# only a comment\n", r"no sentences"),
])
def test_malformed_files_name_file_and_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_file(path)


def test_missing_file_and_wrong_encoding(tmp_path):
    with pytest.raises(DataError, match="nope.conll: file not found"):
        read_file(tmp_path / "nope.conll")
    path = tmp_path / "latin.conll"
    path.write_bytes("a O\n\nCaf\u00e9 O\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin.conll, line 3: not UTF-8"):
        read_file(path)


def test_hub_style_tables_with_class_label_tags():
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({
        "tokens": datasets.Sequence(datasets.Value("string")),
        "ner_tags": datasets.Sequence(datasets.ClassLabel(names=["O", "B-PER", "I-PER"])),
    })
    table = datasets.Dataset.from_dict({"tokens": [["Ada", "Lovelace", "wrote"], []],
                                        "ner_tags": [[1, 2, 0], []]}, features=features)
    sentences = sentences_from_dataset(table, "demo")
    assert len(sentences) == 1 and sentences[0].tags == ["B-PER", "I-PER", "O"]
    with pytest.raises(DataError, match="no tag column 'upos_tags'"):
        sentences_from_dataset(table, "demo", tag_column="upos_tags")


def small_setup(tmp_path: Path, data_root: Path, which: str = "ewt", n: int = 300, **options):
    if which == "ewt":
        src, names = data_root / EWT, ["en_ewt-ud-train.conllu", "en_ewt-ud-dev.conllu", "en_ewt-ud-test.conllu"]
    else:
        src, names = data_root / WNUT, ["wnut17train.conll", "emerging.dev.conll", "emerging.test.annotated"]
    folder = tmp_path / which
    for name in names:
        head_sentences(src / name, folder / name, n)
    explicit = {"options.data": str(folder), "backbone.hidden": 16, "options.word_dim": 16,
                "options.char_features": 8, **{f"options.{k}": v for k, v in options.items()}}
    cfg = build_run_config(TASK, explicit=explicit)
    dm = TASK.datamodule(cfg)
    dm.setup("fit")
    return cfg, dm


@pytest.mark.realdata
def test_vocabulary_from_training_split_only_and_batches(tmp_path, data_root):
    cfg, dm = small_setup(tmp_path, data_root)
    words = set(dm.state.words)
    train_words = {t.lower() for s in dm.train_set.sentences for t in s.tokens}
    assert words - {"<pad>", "<unk>"} == train_words
    assert dm.state.scheme == "none" and dm.state.crf is False
    batch = next(iter(dm.train_dataloader()))
    assert isinstance(batch, TagBatch)
    b, t = batch.words.shape
    assert batch.tags.shape == (b, t) and batch.forms.shape == (b, t) and batch.lengths.max() == t
    # every distinct form of the batch is encoded once
    assert batch.chars.shape[0] == len({tok for i in range(b) for tok in []} or batch.forms.unique())
    assert int(batch.char_lengths.max()) == batch.chars.shape[1]


@pytest.mark.realdata
@pytest.mark.parametrize("which,encoder", [("ewt", "cnn"), ("wnut", "lstm")])
def test_prediction_is_identical_alone_and_padded_in_a_batch(tmp_path, data_root, which, encoder):
    cfg, dm = small_setup(tmp_path, data_root, which, char_encoder=encoder)
    model = TASK.model(cfg, dm).eval()
    assert (model.net.crf is not None) == (which == "wnut")
    ds = dm.val_set
    lengths = torch.tensor(ds.lengths)
    short, long = int(lengths.argmin()), int(lengths.argmax())
    with torch.no_grad():
        alone = ds.collate([ds[short]])
        together = ds.collate([ds[long], ds[short]])
        s_alone, s_together = model(alone)[0], model(together)[1, : len(ds.sentences[short].tokens)]
        assert torch.allclose(s_alone, s_together, atol=1e-5)
        assert model.predict_ids(alone)[0].tolist() == \
            model.predict_ids(together)[1, : len(ds.sentences[short].tokens)].tolist()
        assert model.net.loss(model(alone), alone).isfinite()


@pytest.mark.realdata
def test_ensemble_members_learn_apart_and_decode_their_averaged_scores(tmp_path, data_root):
    cfg, dm = small_setup(tmp_path, data_root, "wnut", ensemble=3)
    model = TASK.model(cfg, dm).eval()
    first, second, third = model.net.members
    assert not torch.equal(first.head.weight, second.head.weight)  # each from its own initialisation
    assert all(k.startswith("net.members.") for k in model.state_dict())  # each weight saved once
    batch = dm.val_set.collate([dm.val_set[i] for i in range(8)])
    with torch.no_grad():
        scores = model(batch)
        assert scores.shape[0] == 3 and torch.allclose(scores[1], second(batch))
        losses = [m.loss(m(batch), batch) for m in model.net.members]
        assert torch.allclose(model.net.loss(scores, batch), sum(losses) / 3)
        # members that agree decode as one of them does, so averaging is all the ensemble adds
        second.load_state_dict(first.state_dict())
        third.load_state_dict(first.state_dict())
        assert torch.equal(model.predict_ids(batch), first.decode(first(batch), batch))
        # members that differ: Viterbi over the averaged tag and transition scores
        for p in third.parameters():
            p.mul_(10)
        mean = torch.stack([m(batch) for m in model.net.members]).mean(0)
        crf = [torch.stack(p).mean(0) for p in zip(*(m.crf.potentials() for m in model.net.members))]
        assert torch.equal(model.predict_ids(batch), first.crf.decode(mean, first.mask(batch), tuple(crf)))


@pytest.mark.realdata
def test_wnut_scheme_bioes_conversion_and_unknown_test_tags(tmp_path, data_root):
    cfg, dm = small_setup(tmp_path, data_root, "wnut", scheme="bioes")
    assert dm.state.scheme == "bioes" and dm.state.crf is True
    assert "S-location" in dm.state.tags and "E-person" in dm.state.tags
    assert any(t.startswith("S-") for s in dm.train_set.sentences for t in s.tags)
    bad = tmp_path / "wnut" / "emerging.test.annotated"
    bad.write_text("Paris\tB-city\n", encoding="utf-8")
    with pytest.warns(UserWarning, match=r"emerging.test.annotated, line 1: tag 'B-city' \(1 token\(s\) in test\) "
                                         r"does not occur in the training data.*scored as errors"):
        dm = TASK.datamodule(cfg)
        dm.setup("fit")
    # an output the model never learns, so the gold token stays in the test set and counts as a miss
    assert "B-city" in dm.state.tags and "S-city" in dm.state.tags
    assert [dm.state.tags[i] for i in dm.test_set[0][-1].tolist()] == ["S-city"]
    assert "B-city" not in {t for s in dm.train_set.sentences for t in s.tags}
    bad.write_text("Paris\tCITY\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"emerging.test.annotated, line 1: tag 'CITY': expected O or B-/I-/E-/S-"):
        TASK.datamodule(cfg).setup("fit")


@pytest.mark.realdata
def test_val_to_train_moves_a_seeded_share_of_validation(tmp_path, data_root):
    _, plain = small_setup(tmp_path / "a", data_root, "wnut", n=200)
    _, moved = small_setup(tmp_path / "b", data_root, "wnut", n=200, val_to_train=0.5)
    assert len(moved.val_set) == 100 and len(moved.train_set) == len(plain.train_set) + 100
    val_words = {tuple(s.tokens) for s in moved.val_set.sentences}
    added = [tuple(s.tokens) for s in moved.train_set.sentences[len(plain.train_set):]]
    assert not val_words & set(added) and "rest trained on" in moved.sources["val"]
    again = small_setup(tmp_path / "c", data_root, "wnut", n=200, val_to_train=0.5)[1]
    assert [s.tokens for s in again.val_set.sentences] == [s.tokens for s in moved.val_set.sentences]


@pytest.mark.realdata
def test_aux_corpus_trains_alongside_in_its_own_batches(tmp_path, data_root):
    aux = head_sentences(data_root / EWT / "en_ewt-ud-train.conllu", tmp_path / "aux" / "en_ewt-ud-train.conllu", 150)
    cfg, dm = small_setup(tmp_path, data_root, "wnut", n=100, aux_data=str(aux.parent), aux_share=0.5)
    assert dm.sizes()["aux_train"] == 150 and "PROPN" in dm.state.aux_tags and dm.state.tags[0] == "O"
    # the auxiliary corpus' words get embeddings; its tags never reach the main output or the baseline
    aux_words = {t.lower() for s in dm.aux_set.sentences for t in s.tokens}
    assert aux_words <= set(dm.state.words)
    assert "PROPN" not in dm.state.tags and "PROPN" not in dm.state.baseline_words.values()
    main, seen_aux = len(dm.train_set), []
    for epoch in range(2):
        loader = dm.train_dataloader()
        loader.batch_sampler.set_epoch(epoch)
        batches = list(loader.batch_sampler)
        flat = [i for b in batches for i in b]
        assert sorted(i for i in flat if i < main) == list(range(main))  # every main sentence once
        picked = sorted(i - main for i in flat if i >= main)
        assert len(picked) == len(set(picked)) == 50  # half as many as the main sentences, no repeats
        assert all(max(b) < main or min(b) >= main for b in batches)  # one task per batch
        seen_aux.append(picked)
        assert len(loader) == len(batches)
    assert seen_aux[0] != seen_aux[1]  # a fresh sample each epoch
    model = TASK.model(cfg, dm)
    aux_batch = next(b for b in loader if b.task == 1)
    main_batch = next(b for b in loader if b.task == 0)
    assert model(aux_batch).shape[-1] == len(dm.state.aux_tags) and model(main_batch).shape[-1] == len(dm.state.tags)
    assert model.net.loss(model(aux_batch), aux_batch).isfinite()  # cross-entropy: the CRF is the main task's
    dev_only = head_sentences(data_root / EWT / "en_ewt-ud-dev.conllu", tmp_path / "dev-only" / "dev.conllu", 5)
    with pytest.raises(DataError, match="dev-only: --aux-data: no training file found by name"):
        small_setup(tmp_path / "b", data_root, "wnut", n=10, aux_data=str(dev_only.parent))
    with pytest.warns(UserWarning, match=r"en_ewt-ud-train.conllu: \d+ training sentence\(s\) longer than 12 tokens"):
        _, short = small_setup(tmp_path / "d", data_root, "wnut", n=10, aux_data=str(aux.parent), max_length=12)
    assert max(short.aux_set.lengths) == 12
    with pytest.raises(UserError, match="^--aux-data nosuch/corpus: not a local file or folder"):
        small_setup(tmp_path / "c", data_root, "wnut", n=10, aux_data="nosuch/corpus")


@pytest.mark.realdata
def test_entity_scheme_on_pos_tags_is_a_config_error(tmp_path, data_root):
    with pytest.raises(ConfigError, match="options.scheme.*B-PER"):
        small_setup(tmp_path, data_root, "ewt", scheme="bio")


@pytest.mark.realdata
def test_baseline_is_the_most_frequent_tag_per_word(tmp_path, data_root):
    _, dm = small_setup(tmp_path, data_root)
    assert dm.state.baseline_words["the"] == "DET" and dm.state.baseline_default == "NOUN"
    base = TASK.baseline(dm)
    assert 0.7 < base.test["accuracy"] < 0.95 and base.test["score"] == base.test["accuracy"]


def test_a_version_0_state_with_every_optional_key_is_upgraded():
    from tasks.tagging.data import TaggingState

    old = {"info": {"tags": ["O", "B-person", "I-person"], "scheme": "bio", "aux_tags": ["NOUN", "VERB"],
                    "crf": True, "words": {"itos": ["<pad>", "<unk>", "paris", "zyxqword"]},
                    "chars": {"itos": ["<pad>", "<unk>", "a"]}, "lowercase": True, "max_word_chars": 30,
                    "word_dim": 16, "baseline": {"words": {"Paris": "B-person"}, "default": "O"},
                    "trained_words": 3, "vector_dim": 3}}
    state = TaggingState.from_dict(old)
    assert state == TaggingState(tags=["O", "B-person", "I-person"], scheme="bio", crf=True,
                                 words=["<pad>", "<unk>", "paris", "zyxqword"], chars=["<pad>", "<unk>", "a"],
                                 lowercase=True, max_word_chars=30, word_dim=16, baseline_words={"Paris": "B-person"},
                                 baseline_default="O", aux_tags=["NOUN", "VERB"], trained_words=3, vector_dim=3)
    assert TaggingState.from_dict(state.to_dict()) == state and state.to_dict()["version"] == 1


def test_long_words_keep_prefix_and_suffix():
    assert clip_word("internationalisation", 10) == "inter" + "ation"
    assert clip_word("short", 10) == "short"


def write_conll(path: Path, sentences: int, tag: str = "B-X") -> Path:
    path.write_text("".join(f"w{i} {tag}\nand O\n\n" for i in range(sentences)), encoding="utf-8")
    return path


def test_explicit_split_files_and_a_carved_validation_split(tmp_path):
    files = {split: write_conll(tmp_path / f"{split}.txt", n) for split, n in (("train", 20), ("val", 5), ("test", 7))}
    cfg = build_run_config(TASK, explicit={f"options.{k}": str(v) for k, v in files.items()})
    assert cfg.options.data.endswith("ud_english_ewt") and cfg.preset is None  # the default, not read
    dm = TASK.datamodule(cfg)
    dm.setup("fit")
    assert dm.sizes() == {"train": 20, "val": 5, "test": 7}
    assert dm.state.scheme == "bio" and dm.state.crf is True
    one = build_run_config(TASK, explicit={"options.data": str(files["train"])})
    dm = TASK.datamodule(one)
    dm.setup("fit")
    assert dm.sizes() == {"train": 18, "val": 2, "test": 2} and "validation" in dm.test_split
    quarter = build_run_config(TASK, explicit={"options.data": str(files["train"]), "options.val_fraction": 0.25})
    dm = TASK.datamodule(quarter)
    dm.setup("fit")  # --val-fraction, as sentiment and translation have it
    assert dm.sizes() == {"train": 15, "val": 5, "test": 5} and "25% random carve-out" in dm.sources["val"]


@pytest.mark.realdata
def test_vector_channel_gives_words_unseen_in_training_their_vectors(tmp_path, data_root):
    from tasks.tagging.data import encode_sentences
    from tasks.tagging.models import TaggingModule

    vectors = tmp_path / "vectors.txt"
    vectors.write_text("4 3\nthe 1 0 0\nzyxqword 0 1 0\nzyxqword 0 1 0\nbeyondlimit 0 0 1\n", encoding="utf-8")
    cfg, dm = small_setup(tmp_path, data_root, "wnut", embeddings=str(vectors), vector_words=3, feature_dropout=0.0)
    state, itos = dm.state, dm.state.words
    trained = state.trained_words
    # 'the' is a training word already, a repeated word joins once, the file's fourth word is past N
    assert itos[trained:] == ["zyxqword"] and state.vector_dim == 3 and state.word_dim == 16
    model = TASK.model(cfg, dm)
    net = model.net
    assert net.word_embed.num_embeddings == trained and not net.vectors.weight.requires_grad
    assert net.vectors.weight[itos.index("the")].tolist() == [1, 0, 0]
    assert net.vectors.weight[trained].tolist() == [0, 1, 0] and net.vectors.weight[5].abs().sum() == 0
    sentences = encode_sentences([["the", "Zyxqword", "qqqnotaword"]], state)
    batch = sentences.collate([sentences[0]])
    assert batch.words[0].tolist() == [itos.index("the"), trained, 1]
    # a model rebuilt for prediction, from the checkpoint's data state alone, has the vectors again
    fresh = TaggingModule(cfg, state)
    fresh.load_state_dict(model.state_dict())
    assert fresh.net.vectors.weight[trained].tolist() == [0, 1, 0]
    # the vectors count in prediction; word dropout hides a word's vector with its trained embedding
    with torch.no_grad():
        net.eval()
        seen = net(batch)
        net.train()
        net.drop_chance = torch.ones_like(net.drop_chance)
        dropped = net(batch)
        net.vectors.weight.zero_()
        assert torch.allclose(dropped, net(batch))
        net.eval()
        assert not torch.allclose(seen, net(batch))
    with pytest.raises(ConfigError, match="options.vectors_from .*not both"):
        build_run_config(TASK, explicit={"options.embeddings": str(vectors), "options.vectors_from": str(vectors)})
    # the user's own vectors replace those the (default) preset would learn
    own = build_run_config(TASK, explicit={"options.embeddings": str(vectors)})
    assert own.preset == "ewt" and own.options.vectors_from == "" and own.options.vector_words == 0
    assert build_run_config(TASK).options.vectors_from.endswith("imdb")
    vectors.write_text("Zyxqword 0 1 0\n", encoding="utf-8")  # lowercased lookups never reach it
    with pytest.raises(DataError, match="vectors.txt: none of the training words or of its first"):
        small_setup(tmp_path / "again", data_root, "wnut", embeddings=str(vectors), vector_words=3)

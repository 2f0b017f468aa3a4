"""suite/data/text.py: normalisation, tokens, vocabularies, bucketed batches, padding, word vectors."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest
import torch
from torch import nn

from suite.backbones import RecurrentBackbone
from suite.data.text import (PAD, UNK, LengthBucketSampler, Vocabulary, load_word_vectors, normalise,
                             pad_batch, tokenize, truncate)
from suite.errors import DataError


# --- normalisation and tokens -----------------------------------------------------------------------

def test_normalise_breaks_tags_entities_and_space():
    text = "Great film.<br /><br />Really<br>good &amp; <i>moving</i>\u00a0 end"
    assert normalise(text) == "Great film. Really good & moving end"
    assert normalise("Caf\u0065\u0301  OK", lowercase=True) == "caf\u00e9 ok"  # NFC: e + combining acute


@pytest.mark.parametrize("text,tokens", [
    ("I don't like it, well-known!", ["I", "don't", "like", "it", ",", "well-known", "!"]),
    ("does n't work ...", ["does", "n't", "work", ".", ".", "."]),
    ("It costs $1,000.50 (or 3.5)", ["It", "costs", "$", "1,000.50", "(", "or", "3.5", ")"]),
    ("a--b 'quoted' end-", ["a", "-", "-", "b", "'", "quoted", "'", "end", "-"]),
    ("Über naïve café", ["Über", "naïve", "café"]),
    ("line<br />break", ["line", "break"]),
    ("", []),
])
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens


def test_tokenize_lowercase_only_when_asked():
    assert tokenize("The END") == ["The", "END"]
    assert tokenize("The END", lowercase=True) == ["the", "end"]


@pytest.mark.realdata
def test_imdb_reviews_lose_their_markup(data_root):
    frame = pd.read_csv(data_root / "sentiment/imdb/train.csv.gz", nrows=300)
    with_breaks = [t for t in frame["text"] if "<br" in t]
    assert with_breaks, "the slice should contain reviews with <br /> tags"
    for text in with_breaks:
        tokens = tokenize(text)
        assert "br" not in tokens and "<" not in tokens
        assert len(tokens) > 0.9 * len(text.split())


# --- vocabulary ----------------------------------------------------------------------------------

def test_vocabulary_ranks_by_frequency_then_alphabet():
    vocab = Vocabulary.build([["b", "a", "c", "b"], ["c", "b", "d"]])
    assert vocab.itos == [PAD, UNK, "b", "c", "a", "d"]
    assert vocab.pad_index == 0 and vocab.unk_index == 1
    assert vocab.encode(["d", "zzz", "b"]) == [5, 1, 2]
    assert vocab.decode([2, 3, 0]) == ["b", "c", PAD]
    assert vocab.index("never seen") == vocab.unk_index


def test_vocabulary_min_freq_max_size_and_extra():
    lists = [["x"] * 5 + ["y"] * 3 + ["z"] * 2 + ["w"]]
    assert Vocabulary.build(lists, min_freq=2).itos == [PAD, UNK, "x", "y", "z"]
    assert Vocabulary.build(lists, max_size=4).itos == [PAD, UNK, "x", "y"]  # the specials count
    with_extra = Vocabulary.build(lists, max_size=5, extra=["<num>"])
    assert with_extra.itos == [PAD, UNK, "<num>", "x", "y"]
    assert Vocabulary.build([], max_size=10).itos == [PAD, UNK]


def test_vocabulary_is_deterministic_and_survives_json():
    lists = [tokenize("the cat sat on the mat, the end"), tokenize("a dog sat")]
    first, second = Vocabulary.build(lists), Vocabulary.build(list(reversed(lists)))
    assert first == second
    state = json.loads(json.dumps(first.state_dict()))
    assert Vocabulary.from_state(state) == first
    with pytest.raises(ValueError):
        Vocabulary(["a", "b"])


# --- truncation, padding and batches ------------------------------------------------------------------

def test_truncate_keeps_the_chosen_end():
    ids = list(range(10))
    assert truncate(ids, 4, "head") == [0, 1, 2, 3]
    assert truncate(ids, 4, "tail") == [6, 7, 8, 9]
    assert truncate(ids, 5, "head_tail") == [0, 1, 7, 8, 9]
    assert truncate(ids, 20, "tail") == ids
    assert truncate(ids, 0, "head") == ids  # 0: no limit


def test_pad_batch():
    padded, lengths = pad_batch([torch.tensor([5, 6, 7]), torch.tensor([8])], pad_value=0)
    assert padded.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert lengths.tolist() == [3, 1] and lengths.dtype == torch.int64 and lengths.device.type == "cpu"


def test_bucket_sampler_covers_every_example_once_with_little_padding():
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(5, 500, (1000,), generator=g).tolist()
    sampler = LengthBucketSampler(lengths, batch_size=32, shuffle=True, seed=3, bucket_size_multiplier=10)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 32
    assert sorted(i for b in batches for i in b) == list(range(1000))

    def padding(batch_list):
        return sum(len(b) * max(lengths[i] for i in b) - sum(lengths[i] for i in b) for b in batch_list)

    # pools of 320 spread over lengths 5..500 leave each batch about a tenth of the range: ~1/6 of the
    # padding of random batches (whose padding is the whole range's)
    random_batches = torch.randperm(1000, generator=g).split(32)
    assert padding(batches) < 0.2 * padding([b.tolist() for b in random_batches])


def test_bucket_sampler_is_seeded_and_reshuffles_per_epoch():
    lengths = list(range(200))
    a = LengthBucketSampler(lengths, 16, shuffle=True, seed=1, bucket_size_multiplier=4)
    b = LengthBucketSampler(lengths, 16, shuffle=True, seed=1, bucket_size_multiplier=4)
    first = list(a)
    assert first == list(b)
    assert list(a) != first  # each pass is a new epoch
    a.set_epoch(0)
    assert list(a) == first
    a.set_epoch(5)
    b.set_epoch(5)
    assert list(a) == list(b)
    dropped = LengthBucketSampler(lengths, 16, shuffle=True, drop_last=True)
    assert len(dropped) == 12 and all(len(batch) == 16 for batch in dropped)


def test_lightning_sets_the_bucket_samplers_epoch():
    from lightning.fabric.utilities.data import _set_sampler_epoch
    from torch.utils.data import DataLoader

    sampler = LengthBucketSampler(list(range(100)), 8, shuffle=True)
    loader = DataLoader(list(range(100)), batch_sampler=sampler)
    _set_sampler_epoch(loader, 7)
    assert sampler.epoch == 7


def test_bucket_sampler_without_shuffle_sorts_longest_first():
    lengths = [3, 9, 1, 9, 5]
    batches = list(LengthBucketSampler(lengths, 2, shuffle=False))
    assert batches == [[1, 3], [4, 0], [2]]


def test_padding_never_changes_a_sequence_encoding():
    """The point of packing: one sequence's encoding alone equals its encoding inside a padded batch."""
    torch.manual_seed(0)
    embed = nn.Embedding(50, 8, padding_idx=0)
    for cell in ("gru", "lstm"):
        rnn = RecurrentBackbone(8, cell=cell, hidden=6, bidirectional=True, layers=2).eval()
        seqs = [torch.randint(2, 50, (n,)) for n in (7, 3, 12, 1)]
        ids, lengths = pad_batch(seqs)
        out, state = rnn(embed(ids), lengths)
        batch_last = rnn.last_hidden(state)
        for i, seq in enumerate(seqs):
            alone_out, alone_state = rnn(embed(seq[None]), torch.tensor([len(seq)]))
            torch.testing.assert_close(rnn.last_hidden(alone_state)[0], batch_last[i], rtol=0, atol=1e-6)
            torch.testing.assert_close(alone_out[0], out[i, :len(seq)], rtol=0, atol=1e-6)
            assert torch.all(out[i, len(seq):] == 0)


# --- word vectors ---------------------------------------------------------------------------------

def write_vectors(path, lines, header=None, compress=False):
    text = ((header + "\n") if header else "") + "\n".join(lines) + "\n"
    if compress:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


VECTORS = ["the 0.1 0.2 0.3", "good 1.0 0.0 -1.0", "Paris 2.0 2.0 2.0", "paris -2.0 -2.0 -2.0",
           "movie 0.5 0.5 0.5"]


@pytest.mark.parametrize("header,compress", [(None, False), ("5 3", False), (None, True)])
def test_word_vectors_glove_word2vec_and_gzip(tmp_path, header, compress):
    vocab = Vocabulary([PAD, UNK, "the", "Good", "Paris", "unseen"])
    path = write_vectors(tmp_path / ("v.txt.gz" if compress else "v.txt"), VECTORS, header, compress)
    matrix, found = load_word_vectors(path, vocab)
    assert matrix.shape == (6, 3) and found == 3
    assert matrix[0].abs().sum() == 0  # PAD
    torch.testing.assert_close(matrix[2], torch.tensor([0.1, 0.2, 0.3]))
    torch.testing.assert_close(matrix[3], torch.tensor([1.0, 0.0, -1.0]))  # Good -> good
    torch.testing.assert_close(matrix[4], torch.tensor([2.0, 2.0, 2.0]))   # the exact form wins
    assert matrix[5].abs().sum() > 0 and matrix[5].abs().max() < 10  # random, small


@pytest.mark.parametrize("lines,header,dim,line,words", [
    (["the 0.1 0.2 0.3", "good 1.0 0.0"], None, None, 2, "expected a word and 3 numbers"),
    (["the 0.1 0.2 0.3", "good 1.0 x 0.0"], None, None, 2, "expected numbers"),
    (["the 0.1 0.2 0.3"], "1 4", None, 2, "expected a word and 4 numbers"),
    (["the 0.1 0.2 0.3"], None, 5, 1, "expected a word and 5 numbers"),
])
def test_word_vectors_bad_lines_name_the_line(tmp_path, lines, header, dim, line, words):
    path = write_vectors(tmp_path / "v.txt", lines, header)
    with pytest.raises(DataError) as info:
        load_word_vectors(path, Vocabulary([PAD, UNK, "good", "the"]), dim=dim)
    assert info.value.line == line and words in str(info.value) and str(path) in str(info.value)


def test_word_vectors_missing_or_not_text(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_word_vectors(tmp_path / "none.txt", Vocabulary([PAD, UNK]))
    binary = tmp_path / "v.bin"
    binary.write_bytes(b"the 0.1\n\xff\xfe\x00garbage 1\n")
    with pytest.raises(DataError, match="not UTF-8"):
        load_word_vectors(binary, Vocabulary([PAD, UNK, "the"]))


def test_predict_input_is_a_text_or_a_file_of_lines(tmp_path):
    from suite.data.inputs import text_or_lines
    from suite.errors import DataError, UserError

    assert text_or_lines("a fine film") == (None, [(0, "a fine film")])
    texts = tmp_path / "texts.txt"
    texts.write_text("\ufefffirst\n\n  \nsecond\n", encoding="utf-8")
    assert text_or_lines(str(texts)) == (texts, [(1, "first"), (4, "second")])  # blank lines skipped, BOM too
    with pytest.raises(UserError, match="the sentence is empty"):
        text_or_lines("  ", "sentence")
    (tmp_path / "blank.txt").write_text("\n \n")
    with pytest.raises(DataError, match="no sentences in it"):
        text_or_lines(str(tmp_path / "blank.txt"), "sentence")
    (tmp_path / "latin1.txt").write_bytes(b"ok\ncaf\xe9\n")
    with pytest.raises(DataError, match=r"line 2: not UTF-8 text \(byte 0xe9\)"):
        text_or_lines(str(tmp_path / "latin1.txt"))
    assert text_or_lines("x" * 5000)[0] is None  # too long to be a file name: a text

"""Word vectors learnt from local text (suite/data/vectors.py): what they capture, their file, the cache."""

from __future__ import annotations

import random

import pytest
import torch

from suite.data.text import PAD, UNK, Vocabulary, load_word_vectors, vector_file_words
from suite.data.vectors import VectorSettings, build_vectors, cached_vectors, learn_vectors, main
from suite.errors import DataError

ANIMALS = ["cat", "dog", "horse", "cow", "goat", "sheep"]
FOODS = ["bread", "cheese", "apple", "rice", "soup", "cake"]
PLACES = ["paris", "london", "rome", "berlin", "madrid", "oslo"]


def corpus(n: int = 3000, seed: int = 0) -> list[list[str]]:
    """Sentences in which words of one kind share their neighbours."""
    rng = random.Random(seed)
    templates = [lambda: ["the", rng.choice(ANIMALS), "eats", "the", rng.choice(FOODS)],
                 lambda: ["a", rng.choice(ANIMALS), "lives", "in", rng.choice(PLACES)],
                 lambda: ["we", "flew", "to", rng.choice(PLACES), "and", "ate", rng.choice(FOODS)]]
    return [rng.choice(templates)() for _ in range(n)]


def mean_similarity(vectors: torch.Tensor, index: dict[str, int], a: list[str], b: list[str]) -> float:
    sims = [float(vectors[index[x]] @ vectors[index[y]]) for x in a for y in b if x != y]
    return sum(sims) / len(sims)


def test_words_of_a_kind_get_similar_vectors():
    settings = VectorSettings(dim=8, min_count=2)
    words, vectors, tokens = learn_vectors(corpus(), settings)
    assert tokens == sum(len(s) for s in corpus())
    assert words[0] == "the" and len(words) == len(set(words)) == 6 * 3 + 10  # most frequent first
    torch.testing.assert_close(vectors.norm(dim=1), torch.ones(len(words)))
    index = {w: i for i, w in enumerate(words)}
    for kind, others in ((ANIMALS, FOODS), (FOODS, PLACES), (PLACES, ANIMALS)):
        assert mean_similarity(vectors, index, kind, kind) > mean_similarity(vectors, index, kind, others) + 0.3
    again = learn_vectors(corpus(), settings)[1]
    assert torch.equal(vectors, again)  # the same seed, the same vectors


def test_rare_words_get_no_vector_and_too_little_text_is_an_error():
    text = corpus(200) + [["zebra"]]
    words = learn_vectors(text, VectorSettings(dim=4, min_count=2))[0]
    assert "zebra" not in words
    with pytest.raises(ValueError, match=r"only \d+ distinct words occur 2\+ times .* need more text"):
        learn_vectors(corpus(50), VectorSettings(dim=100, min_count=2))


def write_corpus(path, sentences):
    path.write_text("\n".join(" ".join(s) for s in sentences) + "\n", encoding="utf-8")
    return path


def test_command_writes_a_vector_file_that_embeddings_read(tmp_path, capsys):
    source = write_corpus(tmp_path / "corpus.txt", corpus())
    out = tmp_path / "vectors.txt"
    assert main([str(source), "--out", str(out), "--dim", "8", "--min-count", "2"]) == 0
    assert "28 words x 8 from" in capsys.readouterr().out
    assert out.read_text().splitlines()[0] == "28 8"
    assert vector_file_words(out, 3)[0] == "the" and len(vector_file_words(out, 3)) == 3
    matrix, found = load_word_vectors(out, Vocabulary([PAD, UNK, "cat", "Paris", "unseen"]), missing="zero")
    assert matrix.shape == (5, 8) and found == 2 and matrix[4].abs().sum() == 0


def test_tables_folders_and_bad_sources(tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    rows = ["review,stars"] + [f"\"{' '.join(s)}\",3" for s in corpus(1500)]
    (folder / "part1.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    write_corpus(folder / "part2.txt", corpus(1500, seed=1))
    (folder / "README.md").write_text("# not text to learn from\n")
    summary = build_vectors([str(folder)], tmp_path / "v.txt", VectorSettings(dim=8, min_count=2), log=lambda _: None)
    assert summary["files"] == 2 and summary["tokens"] == sum(len(s) for s in corpus(1500) + corpus(1500, seed=1))
    with pytest.raises(DataError, match="part1.csv: no text column 'body'"):
        build_vectors([str(folder)], tmp_path / "w.txt", VectorSettings(text_column="body"))
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9 au lait\n")
    with pytest.raises(DataError, match=r"latin1.txt, line 1: not UTF-8 text"):
        build_vectors([str(tmp_path / "latin1.txt")], tmp_path / "x.txt")
    with pytest.raises(DataError, match=r"small.txt: only \d+ distinct words"):
        build_vectors([str(write_corpus(tmp_path / "small.txt", corpus(5)))], tmp_path / "y.txt")
    with pytest.raises(DataError, match="nowhere: file or folder not found"):
        build_vectors([str(tmp_path / "nowhere")], tmp_path / "z.txt")
    assert not (tmp_path / "y.txt").exists()  # nothing half-written


def test_cache_is_keyed_by_the_files_and_the_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_SUITE_CACHE", str(tmp_path / "cache"))
    source = write_corpus(tmp_path / "corpus.txt", corpus())
    settings = VectorSettings(dim=8, min_count=2)
    path, summary = cached_vectors([str(source)], settings, log=lambda _: None)
    assert not summary["cached"] and path.parent == tmp_path / "cache" / "vectors"
    again, summary = cached_vectors([str(source)], settings, log=lambda _: None)
    assert again == path and summary["cached"]
    other, summary = cached_vectors([str(source)], VectorSettings(dim=6, min_count=2), log=lambda _: None)
    assert other != path and not summary["cached"]
    write_corpus(source, corpus(seed=5))  # new text, new vectors
    changed, summary = cached_vectors([str(source)], settings, log=lambda _: None)
    assert changed != path and not summary["cached"]

"""Segmentation into subwords, words or characters through Hugging Face ``tokenizers``.

Every mode is a ``tokenizers.Tokenizer`` trained on the training split only, so one code path encodes,
decodes and serialises: the checkpoint keeps ``Tokenizer.to_str()`` (JSON text), never a pickle. Spaces
become the metaspace mark '▁' before splitting, so decoding restores the original spacing exactly
(detokenised output, as sacreBLEU expects).
"""

from __future__ import annotations

from typing import Iterable, Sequence

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = [PAD, UNK, BOS, EOS]
PAD_ID, UNK_ID, BOS_ID, EOS_ID = range(4)


def train_segmenter(sentences: Iterable[str], mode: str, vocab_size: int) -> Tokenizer:
    """A tokenizer of ``mode`` (bpe, unigram, word, char) trained on ``sentences``."""
    if mode == "bpe":
        tok = Tokenizer(models.BPE(unk_token=UNK))
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False)
    elif mode == "unigram":
        tok = Tokenizer(models.Unigram())
        trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, unk_token=UNK,
                                          show_progress=False)
    elif mode in ("word", "char"):
        tok = Tokenizer(models.WordLevel(unk_token=UNK))
        trainer = trainers.WordLevelTrainer(vocab_size=vocab_size if mode == "word" else 1_000_000,
                                            special_tokens=SPECIALS, show_progress=False)
    else:
        raise ValueError(f"unknown segmentation {mode!r}")
    tok.normalizer = normalizers.NFC()
    metaspace = pre_tokenizers.Metaspace()
    if mode == "word":
        tok.pre_tokenizer = pre_tokenizers.Sequence([metaspace, pre_tokenizers.Punctuation()])
    elif mode == "char":
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [metaspace, pre_tokenizers.Split(Regex("."), behavior="isolated")])
    else:
        tok.pre_tokenizer = metaspace
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(sentences, trainer=trainer)
    ids = [tok.token_to_id(s) for s in SPECIALS]
    if ids != [PAD_ID, UNK_ID, BOS_ID, EOS_ID]:
        raise RuntimeError(f"special tokens got ids {ids}; expected 0..3")
    return tok


class Segmenter:
    """A trained tokenizer with the conversions the task needs."""

    def __init__(self, tokenizer: Tokenizer, mode: str):
        self.tokenizer = tokenizer
        self.mode = mode
        self.size = tokenizer.get_vocab_size()
        # a word-level <unk> stands for a whole word, space included; elsewhere for a piece of one
        self.unk_piece = "\u2581" + UNK if mode == "word" else UNK

    @classmethod
    def train(cls, sentences: Sequence[str], mode: str, vocab_size: int) -> "Segmenter":
        return cls(train_segmenter(sentences, mode, vocab_size), mode)

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def pieces(self, ids: Sequence[int]) -> list[str]:
        return [self.tokenizer.id_to_token(int(i)) or UNK for i in ids]

    def decode(self, ids: Sequence[int]) -> str:
        """Detokenised text; specials dropped, an unknown piece shown as <unk>."""
        pieces = [self.unk_piece if int(i) == UNK_ID else self.tokenizer.id_to_token(int(i))
                  for i in ids if int(i) not in (PAD_ID, BOS_ID, EOS_ID)]
        return self.tokenizer.decoder.decode([p for p in pieces if p is not None])

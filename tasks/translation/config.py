"""The translation task's options and presets."""

from __future__ import annotations

from dataclasses import dataclass

from suite.config import option
from suite.errors import ConfigError

MULTI30K = "translation/multi30k"
TATOEBA = "translation/tatoeba_fra_eng/fra.txt"
MAX_UNITS = 8192  # as the backbone's --hidden: beyond it a layer no longer fits in memory
# Decoding bounds. Translations run to about 1.5 times the source's tokens between these languages and
# tokenisations; a ratio of 10 lets one run to 10 times its source (inf overflowed the length limit: a
# run trained fully, then crashed in its test pass). Each beam is a decoder row per sentence: beyond 100
# a test pass takes hours for no better output. GNMT's alpha lies in 0.6-1; above 5 the penalty only
# decides by length.
MAX_DECODE_RATIO = 10.0
MAX_BEAM = 100
MAX_LENGTH_PENALTY = 5.0


@dataclass
class TranslationConfig:
    data: str = option(MULTI30K, "parallel data: a folder of <split>.<lang> text files (Multi30k layout: "
                                 "train.de/train.en, val.*, test*), a tab-separated pairs file (Tatoeba/Anki: "
                                 "first<TAB>second[<TAB>attribution]), or a Hugging Face dataset name",
                       path=True)
    source_lang: str = option("de", "source language code (a file suffix, a pairs-file column or a dataset "
                                    "field)", group="data")
    target_lang: str = option("en", "target language code", group="data")
    pair_columns: str = option("en,fr", "pairs file: the language codes of its first two columns", group="data")
    test_split: str = option("auto", "folder: the test file prefix ('auto': 'test' if present, else the only "
                                     "test* split)", group="data")
    val_fraction: float = option(0.1, "fraction of training pairs held out for validation when the data has "
                                      "no validation split", min=0.0, lt=1.0, group="data")
    test_fraction: float = option(0.1, "fraction held out for testing when the data has no test split",
                                  min=0.0, lt=1.0, group="data")
    max_pairs: int = option(0, "use only the first N training pairs (0: all; the seed uses 10000)", min=0, group="data")
    tokenizer: str = option("bpe", "segmentation trained on the training split: bpe or unigram subwords, "
                                   "whole words, or characters", choices=("bpe", "unigram", "word", "char"))
    source_vocab: int = option(8000, "source vocabulary size (subword/word modes)", min=8)
    target_vocab: int = option(6000, "target vocabulary size (subword/word modes)", min=8)
    max_length: int = option(80, "longest sentence in tokens; longer pairs are handled by --long-pairs",
                             min=2)
    long_pairs: str = option("drop", "training pairs over --max-length: drop or truncate (evaluation pairs "
                                     "are never dropped; their sources are truncated)",
                             choices=("drop", "truncate"), group="advanced")
    embedding: int = option(256, "token embedding size", min=1, max=MAX_UNITS)
    decoder_hidden: int = option(512, "decoder state size", min=1, max=MAX_UNITS)
    attention: str = option("multiplicative", "attention over the encoder states: multiplicative (Luong "
                                              "'general'), additive (Bahdanau), or none (the seed's plain "
                                              "encoder-decoder)",
                            choices=("multiplicative", "additive", "none"))
    input_feeding: bool = option(False, "feed the previous attentional vector into the next decoder step "
                                        "(Luong); needs a step-by-step decoder loop in training, slower on CPU",
                                        group="advanced")
    bridge: str = option("linear", "initial decoder state from the encoder's final state: linear (tanh "
                                   "layer), copy (sizes must match, the seed's way) or zero",
                         choices=("linear", "copy", "zero"))
    io_dropout: float = option(0.3, "dropout on embeddings, encoder outputs and the attentional vector (the "
                                    "backbone's --dropout is between stacked layers)", min=0.0, lt=1.0)
    tie_embeddings: bool = option(True, "share the target embedding with the output layer")
    teacher_forcing: float = option(1.0, "probability of feeding the reference token (not the model's own) "
                                         "at each training step", min=0.0, max=1.0, group="advanced")
    label_smoothing: float = option(0.1, "label smoothing of the training loss", min=0.0, lt=1.0, group="advanced")
    beam_size: int = option(5, f"beam width for test and --predict (1: greedy), at most {MAX_BEAM}", min=1,
                            max=MAX_BEAM)
    length_penalty: float = option(1.0, "beam length normalisation: scores divided by length**alpha (0: none; "
                                        f"at most {MAX_LENGTH_PENALTY:g})", min=0.0, max=MAX_LENGTH_PENALTY,
                                        group="advanced")
    max_decode_ratio: float = option(1.5, "decode at most ratio * source length + 10 tokens (at most "
                                          f"{MAX_DECODE_RATIO:g})", gt=0.0, max=MAX_DECODE_RATIO, group="advanced")
    val_beam: bool = option(False, "score validation with beam search instead of greedy (slower)", group="advanced")

    def validate(self) -> None:
        if self.source_lang == self.target_lang:
            raise ConfigError("options.source_lang (--source-lang)",
                              f"source and target are both {self.source_lang!r}")
        if len([c for c in self.pair_columns.split(",") if c.strip()]) != 2:
            raise ConfigError("options.pair_columns (--pair-columns)",
                              f"expected two language codes like en,fr; got {self.pair_columns!r}")


DEFAULTS = {
    "backbone.cell": "gru",
    "backbone.hidden": 256,
    "backbone.bidirectional": True,
    "backbone.init": "pytorch",
    "train.lr": 1e-3,
    "train.batch_size": 128,
    # Multi30k: about 270 s of one core's CPU time per epoch (measured on batches), so 8 epochs fit 45 minutes
    "train.max_epochs": 8,
    "train.schedule": "cosine",
    "train.grad_clip": 1.0,
}

#: The seed tutorial (Keras' lstm_seq2seq): characters, LSTM(256) encoder whose final (h, c) start an
#: LSTM(256) decoder, softmax over characters, rmsprop, batch 64, the first 10000 English-French pairs.
SEED_PRESET = {
    "options.data": TATOEBA,
    "options.source_lang": "en",
    "options.target_lang": "fr",
    "options.pair_columns": "en,fr",
    "options.max_pairs": 10000,
    "options.tokenizer": "char",
    "options.embedding": 64,
    "options.decoder_hidden": 256,
    "options.attention": "none",
    "options.bridge": "copy",
    "options.io_dropout": 0.0,
    "options.tie_embeddings": False,
    "options.label_smoothing": 0.0,
    "options.beam_size": 1,
    "options.max_length": 100,
    "backbone.cell": "lstm",
    "backbone.hidden": 256,
    "backbone.bidirectional": False,
    "backbone.init": "keras",
    "train.optimizer": "rmsprop",
    "train.lr": 1e-3,
    "train.batch_size": 64,
    "train.max_epochs": 30,
    "train.schedule": "none",
    "train.grad_clip": 0.0,
}

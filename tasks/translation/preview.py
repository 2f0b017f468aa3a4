"""The translation task's data preview (``python -m suite.preview --task translation``): the first sentence
pairs, source and target as the readers pair them, and the splits a run would use (validation and test
carved from training as the datamodule carves them)."""

from __future__ import annotations

from pathlib import Path

from suite.config import RunConfig
from suite.preview import Preview, Split, hub_preview, shown

from .corpus import read_corpus
from .data import TranslationDataModule


def preview(cfg: RunConfig, rows: int) -> Preview:
    data = cfg.options.data
    try:
        local = Path(data).expanduser().exists()
    except OSError:
        local = False
    if not local and "/" in data and not data.startswith((".", "/", "~")) and not Path(data).suffix:
        return hub_preview(data, lambda: _preview(cfg, rows))
    return _preview(cfg, rows)


def _preview(cfg: RunConfig, rows: int) -> Preview:
    opts = cfg.options
    module = TranslationDataModule(cfg)
    corpus = read_corpus(opts.data, opts.source_lang, opts.target_lang, module._columns(), opts.test_split)
    result = Preview(opts.data, kind="pairs", header=[opts.source_lang, opts.target_lang])
    result.rows = [[shown(s, 100), shown(t, 100)] for s, t in corpus.train[:rows]]
    result.used = {opts.source_lang: "source", opts.target_lang: "target"}
    read = len(corpus.train)
    if opts.max_pairs:
        corpus.train = corpus.train[:opts.max_pairs]
    had = {name: getattr(corpus, name) is not None for name in ("val", "test")}
    module._hold_out(corpus)  # the run's own carve-out: the same seed, the same pairs
    for name in ("train", "val", "test"):
        pairs = getattr(corpus, name)
        origin = corpus.origin.get(name, "")
        if name == "train" and opts.max_pairs and read > opts.max_pairs:
            origin += f", the first {opts.max_pairs:,} of {read:,} (--max-pairs)"
        elif name != "train" and had[name]:
            origin = origin.replace(str(Path(opts.data)).rstrip("/") + "/", "")  # the folder is said above
        result.splits.append(Split(name, len(pairs or []), "pairs", origin or ("none" if not pairs else "")))
    return result

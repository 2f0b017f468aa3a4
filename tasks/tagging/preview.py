"""The tagging task's data preview (``python -m suite.preview --task tagging``): the first sentences as
token/tag pairs, the tags found in training with their shares, and the splits a run would use. The files
are read by the datamodule's own ``read_splits``, so a wrong --tag-column or --format shows here."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from suite.config import RunConfig
from suite.data.paths import MISSING, path_kind
from suite.data.sources import looks_like_path
from suite.data.splits import seeded_holdout
from suite.preview import Preview, Split, hub_preview

from .data import TaggingDataModule


def preview(cfg: RunConfig, rows: int) -> Preview:
    opts = cfg.options
    if opts.data and not opts.train and path_kind(Path(opts.data)) == MISSING and not looks_like_path(opts.data):
        return hub_preview(opts.data, lambda: _preview(cfg, rows))
    return _preview(cfg, rows)


def _preview(cfg: RunConfig, rows: int) -> Preview:
    opts = cfg.options
    module = TaggingDataModule(cfg)
    splits = module.read_splits()
    train = splits["train"]
    result = Preview(opts.data if not opts.train else opts.train, kind="sentences", header=["token/tag"])
    for sentence in train[:rows]:
        result.rows.append([" ".join(f"{token}/{tag}" for token, tag in zip(sentence.tokens, sentence.tags))])
    result.used = {"token": f"column {opts.token_column}" if opts.token_column != "auto" else "auto",
                   "tag": opts.tag_column}
    counts = Counter(tag for s in train for tag in s.tags)
    result.found_name, result.found = "tags", dict(counts)
    sizes = {name: (len(s), Path(module.sources.get(name, "")).name) for name, s in splits.items()}
    if "val" not in splits:
        kept, (held,) = seeded_holdout(len(train), [opts.val_fraction], cfg.train.seed)
        sizes["train"] = (len(kept), sizes["train"][1])
        sizes["val"] = (len(held), f"{opts.val_fraction:g} of training, seeded")
    elif opts.val_to_train > 0:
        kept, (moved,) = seeded_holdout(len(splits["val"]), [opts.val_to_train], cfg.train.seed)
        sizes["val"] = (len(kept), f"{sizes['val'][1]}; {len(moved):,} more trained on (--val-to-train)")
        sizes["train"] = (len(train) + len(moved), sizes["train"][1])
    for name in ("train", "val", "test"):
        size, origin = sizes.get(name, (0, "none: the data has no test split"))
        result.splits.append(Split(name, size, "sentences", origin))
    tokens = sum(len(s.tokens) for s in train)
    result.notes.append(f"{tokens:,} training tokens")
    return result

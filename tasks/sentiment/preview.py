"""The sentiment task's data preview (``python -m suite.preview --task sentiment``): the first rows, the
text and label columns the readers pick, the classes with their shares, and the splits a run would use
(a folder's files by name, or validation carved from training as ``load`` carves it)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from suite.config import RunConfig
from suite.data.sources import TEXT_NAMES, pick_column, read_table, row_lines
from suite.data.splits import seeded_holdout
from suite.errors import DataError
from suite.preview import Preview, Split, hub_preview, shown

from .data import canonical_label, class_names_for, stratified_order
from .sources import LABEL_NAMES, class_name, find_sources, read_class_files


def preview(cfg: RunConfig, rows: int) -> Preview:
    sources = find_sources(cfg.options.data)
    train = sources["train"]
    if isinstance(train, tuple):  # ("hub", name, split)
        return hub_preview(train[1], lambda: _preview(cfg, sources, rows))
    return _preview(cfg, sources, rows)


def _frame(spec):
    return read_table(spec[1], hub_split=spec[2]) if isinstance(spec, tuple) else read_table(str(spec))


def _name(spec) -> str:
    return f"{spec[1]} [{spec[2]}]" if isinstance(spec, tuple) else Path(spec).name


def _preview(cfg: RunConfig, sources: dict, rows: int) -> Preview:
    opts = cfg.options
    result = Preview(opts.data)
    spec = sources["train"]
    if isinstance(spec, list):  # one text file per class
        examples = read_class_files(spec, opts.encoding)
        labels, where = examples.labels, examples.where
        result.kind = "texts"
        result.header = ["label", "text"]
        by_class: dict[object, list[int]] = {}
        for i, label in enumerate(labels):
            by_class.setdefault(label, []).append(i)
        firsts = [i for group in zip(*by_class.values()) for i in group][:rows]  # each class in turn
        result.rows = [[shown(labels[i]), shown(examples.texts[i], 100)] for i in firsts]
        result.notes.append("one text a line; the class is each file's name: " +
                            ", ".join(f"{p.name} -> {class_name(p, spec)}" for p in spec))
        origin = ", ".join(p.name for p in spec)
    else:
        frame = _frame(spec)
        source = str(spec[1] if isinstance(spec, tuple) else spec)
        label_col = pick_column(frame, opts.label_column, LABEL_NAMES, "label", "--label-column", source)
        text_col = pick_column(frame, opts.text_column, TEXT_NAMES, "text", "--text-column", source, exclude=label_col)
        result.columns = [str(c) for c in frame.columns]
        result.used = {text_col: "text", label_col: "label"}
        result.header = result.columns
        result.rows = [[shown(v) for v in row] for row in frame.head(rows).itertuples(index=False)]
        where = [(source, line) for line in row_lines(frame, source)]
        labels = frame[label_col].tolist()
        origin = _name(spec)
    labels = [canonical_label(v, *w) for v, w in zip(labels, where)]
    if not labels:
        raise DataError(opts.data, "no training examples")
    kept = list(range(len(labels)))
    if opts.limit and len(labels) > opts.limit:
        kept = stratified_order(labels, cfg.train.seed)[:opts.limit]
        origin += f", the first {opts.limit:,} (--limit, classes kept in proportion)"
    values = sorted(set(labels), key=lambda v: (isinstance(v, str), v))
    names = dict(zip(values, class_names_for(values, opts.label_names)))
    counts = Counter(names[labels[i]] for i in kept)
    result.found_name, result.found = "labels", dict(counts)
    splits = {}
    if "val" in sources:
        splits["val"] = Split("val", len(_frame(sources["val"])), "examples", _name(sources["val"]))
        train_size = len(kept)
    else:
        rest, (held,) = seeded_holdout(len(kept), [opts.val_fraction], cfg.train.seed,
                                       strata=[str(labels[i]) for i in kept])
        splits["val"] = Split("val", len(held), "examples", f"{opts.val_fraction:g} of training, stratified, seeded")
        train_size = len(rest)
    if "test" in sources:
        splits["test"] = Split("test", len(_frame(sources["test"])), "examples", _name(sources["test"]))
    else:
        splits["test"] = Split("test", 0, "examples", "none: the data has no test split")
    result.splits = [Split("train", train_size, "examples", origin), splits["val"], splits["test"]]
    return result

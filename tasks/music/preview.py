"""The music task's data preview (``python -m suite.preview --task music``): piano-roll files are read
whole (they are small); for a folder of scores or the Bach corpus, the files are counted and only the
first is parsed, for its name and length, so a large folder is previewed in seconds."""

from __future__ import annotations

from pathlib import Path

from suite.config import RunConfig
from suite.data.paths import FOLDER, path_kind
from suite.data.splits import seeded_holdout
from suite.preview import Preview, Split

from .config import BACH, STEPS
from .data import read_collection
from .scores import SkipPiece, bach_chorale_files, parse_file, score_files

SPLIT_NAMES = (("train", "train"), ("valid", "val"), ("test", "test"))


def preview(cfg: RunConfig, rows: int) -> Preview:
    opts = cfg.options
    if opts.data == BACH or path_kind(Path(opts.data)) == FOLDER:
        return _scores(opts, rows)
    collection = read_collection(opts)
    result = Preview(opts.data, kind="music", header=["piece", "steps", "notes"])
    pieces = collection.all_pieces()
    result.rows = [[p.name, str(len(p.roll)), str(int(p.roll.sum()))] for p in pieces[:rows]]
    for name, shown_as in SPLIT_NAMES:
        split = collection.splits.get(name)
        result.splits.append(Split(shown_as, len(split or []), "pieces",
                                   "the file's own split" if collection.has_splits else ""))
    if collection.skipped:
        result.notes.append(f"{len(collection.skipped)} skipped; first: {collection.skipped[0]}")
    return result


def _scores(opts, rows: int) -> Preview:
    files = bach_chorale_files() if opts.data == BACH else score_files(Path(opts.data))
    total = len(files)
    if opts.max_files:
        files = files[:opts.max_files]
    result = Preview("music21's Bach chorales" if opts.data == BACH else opts.data, kind="music",
                     header=["piece", "steps", "notes"])
    result.notes.append(f"{total:,} files" + (f", the first {len(files):,} read (--max-files)" if opts.max_files
                                               else "") + "; only the first is parsed here")
    for path in files[:1]:
        try:
            pieces, _ = parse_file(path, STEPS[opts.step])
        except SkipPiece as exc:
            result.notes.append(f"{path.name}: {exc}")
            continue
        result.rows = [[p.name, str(len(p.roll)), str(int(p.roll.sum()))] for p in pieces[:rows]]
        if len(pieces) > 1:
            result.notes.append(f"{path.name} holds {len(pieces)} tunes")
    train, held = seeded_holdout(len(files), opts.fractions()[1:], seed=0)
    for (_, shown_as), part in zip(SPLIT_NAMES, [train, *held]):
        result.splits.append(Split(shown_as, len(part), "files", f"{opts.split} by file, fixed seed"))
    return result

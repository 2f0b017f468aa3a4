"""The forecast task's data preview (``python -m suite.preview --task forecast``): the series' first rows,
the time, target and covariate columns that ``select_columns`` picks, and the chronological split a run
would cut (rows and time spans)."""

from __future__ import annotations

from suite.config import RunConfig
from suite.data.series import parse_split
from suite.data.sources import looks_like_path
from suite.preview import Preview, Split, first_rows_of_large, hub_preview, shown

from .data import read_series, select_columns
from .synthetic import is_synthetic, problem_named, split_sizes


def preview(cfg: RunConfig, rows: int) -> Preview:
    opts = cfg.options
    if is_synthetic(opts.data):
        problem_named(opts.data)  # an unknown problem is said as the run says it
        sizes = split_sizes(opts)
        return Preview(opts.data, kind="builtin",
                       notes=[f"built-in problem {opts.data}: sequences of {opts.sequence_length} steps, generated "
                              f"from seed {opts.data_seed} when the run starts"],
                       splits=[Split(name, n, "sequences") for name, n in zip(("train", "val", "test"), sizes)])
    if not looks_like_path(opts.data) and opts.data != "cosine":
        return hub_preview(opts.data, lambda: _table(opts, rows, read_series(opts.data)))
    large = first_rows_of_large(opts.data)
    if large is not None:
        frame, note = large
        result = _table(opts, rows, (frame, opts.data), whole=False)
        result.notes.append(note)
        return result
    return _table(opts, rows, read_series(opts.data))


def _table(opts, rows: int, read, whole: bool = True) -> Preview:
    frame, source = read
    time_col, targets, covariates = select_columns(frame, opts, source)
    used = {**({time_col: "time"} if time_col else {}), **{c: "target" for c in targets},
            **{c: "covariate" for c in covariates}}
    result = Preview(source, columns=list(frame.columns), used=used, header=list(frame.columns),
                     rows=[[shown(v) for v in row] for row in frame.head(rows).itertuples(index=False)])
    if source == "cosine":
        result.kind = "builtin"
        result.notes.append("the seed tutorial's wave: cos of 3,000 points over [1, 100]")
    if not whole:
        result.splits = [Split(name, None) for name in ("train", "val", "test")]
        return result
    counts = parse_split(opts.split, len(frame))
    start = 0
    for name, count in zip(("train", "val", "test"), counts):
        span = ""
        if time_col and count:
            span = f"{shown(frame[time_col].iloc[start])} to {shown(frame[time_col].iloc[start + count - 1])}"
        result.splits.append(Split(name, count, "rows", origin=f"rows {start + 1:,}-{start + count:,}" if count
                                   else "none", span=span))
        start += count
    if start < len(frame):
        result.notes.append(f"{len(frame) - start:,} rows after the test split are not used (--split {opts.split})")
    return result

"""What the Runs table shows of a run and how it is ordered and searched: its name, its data by file or
Hub name, numeric scores for sorting, and the text a search looks in. Pure Python, no Qt."""

from __future__ import annotations

import math
import os
from pathlib import PurePosixPath, PureWindowsPath
from typing import Callable, Sequence

from suite.runs import RunSummary

from .names import elide, flat_config, own_name

#: what the status filter offers, in the order runs end up so
STATUSES = ("finished", "stopped", "failed", "incomplete", "damaged")


def display_name(run: RunSummary) -> str:
    """The name the user gave the run, else its folder's without the time stamp."""
    return run.notes.name or own_name(run.path.name)


def data_value(run: RunSummary) -> str:
    return str(((run.config or {}).get("options") or {}).get("data") or "")


def data_label(value: str) -> str:
    """A data setting as the table shows it: a file or folder by its own name (``/data/ett/ETTh1.csv`` ->
    ``ETTh1.csv``), a Hub name (``stanfordnlp/imdb``) or built-in one (``cosine``) as written."""
    text = value.strip().rstrip("/\\")
    if not text:
        return ""
    looks_like_path = (os.path.isabs(text) or PureWindowsPath(text).drive or text.startswith(("./", "../", "~"))
                       or "\\" in text or bool(PurePosixPath(text).suffix) or os.path.exists(text))
    if looks_like_path:
        return elide(PureWindowsPath(text).name if "\\" in text else PurePosixPath(text).name)
    return elide(text)


def monitor_scores(run: RunSummary) -> tuple[str, float | None, float | None]:
    """(monitor, test score, baseline's test score); "" and None where the run has none."""
    results = run.results or {}
    monitor = results.get("monitor") or ""
    test = (results.get("metrics") or {}).get("test") or {}
    base = (results.get("baseline") or {}).get("test") or {}

    def number(value) -> float | None:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return float(value) if ok else None

    return monitor, number(test.get(monitor)), number(base.get(monitor))


def sort_runs(runs: Sequence[RunSummary], key: Callable[[RunSummary], object | None],
              descending: bool = False) -> list[RunSummary]:
    """``runs`` ordered by ``key``; a run whose key is None comes last either way (a run without a score is
    not the best or the worst), in the order it had."""
    present = [run for run in runs if key(run) is not None]
    missing = [run for run in runs if key(run) is None]
    return sorted(present, key=key, reverse=descending) + missing


def haystack(run: RunSummary, settings: str) -> str:
    """Everything a search box looks in, lower-cased: names, settings, data, tags, notes, task, status."""
    flat = flat_config(run.config or {})
    parts = [display_name(run), run.path.name, run.task, run.status, settings, data_value(run),
             *run.notes.tags, run.notes.notes, *(f"{k.split('.', 1)[-1]}={v}" for k, v in flat.items())]
    return "\n".join(parts).casefold()


def matches(run: RunSummary, settings: str, search: str = "", task: str = "", status: str = "",
            tag: str = "") -> bool:
    """Whether ``run`` passes the filters: each word of ``search`` found somewhere (see :func:`haystack`),
    and the task, status and tag equal to those given (empty: any)."""
    if task and run.task != task:
        return False
    if status and run.status != status:
        return False
    if tag and tag.casefold() not in {t.casefold() for t in run.notes.tags}:
        return False
    text = haystack(run, settings) if search.strip() else ""
    return all(word in text for word in search.casefold().split())

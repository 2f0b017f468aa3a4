"""Where a forecast's rows fall in time, read from the time stamps a prediction carries (``history_time``
for the window it read, ``time`` for the steps it forecast): x positions for a date axis, and the date of
any row of the file, for the origin slider while it moves."""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

#: pyqtgraph's DateAxisItem reads x as seconds since 1970 and, at utcOffset 0, labels them as UTC: stamps
#: without a zone are placed as if UTC, so the axis shows the file's own wall-clock times
EPOCH = "1970-01-01"


def parse(stamps: Sequence[str] | None):
    """The stamps as a pandas DatetimeIndex without zone (aware ones at their wall time), or None when any
    of them is not a date (a row number, an empty cell): then the plot keeps its steps."""
    if not stamps:
        return None
    import pandas as pd

    with warnings.catch_warnings():  # a format guessed per element is an answer here, not a warning
        warnings.simplefilter("ignore")
        try:
            index = pd.DatetimeIndex(pd.to_datetime(list(stamps), errors="coerce"))
        except (TypeError, ValueError):  # mixed zones
            return None
    if index.hasnans:
        return None
    return index.tz_localize(None) if index.tz is not None else index


def seconds(index) -> np.ndarray:
    import pandas as pd

    return np.asarray((index - pd.Timestamp(EPOCH)).total_seconds(), dtype=float)


def step_of(index):
    """The regular step between the stamps (a pandas offset: hours, month starts...), or None."""
    if index is None or len(index) < 3:
        return None
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            freq = pd.infer_freq(index)
        except (TypeError, ValueError):
            return None
    return pd.tseries.frequencies.to_offset(freq) if freq else None


def format_of(index) -> str:
    """A strftime format as short as the stamps' resolution allows: ``1700`` for years, ``1949-03`` for
    month starts, ``2016-07-01`` for days, ``2016-07-01 04:00`` for hours."""
    if all(s.second == 0 and s.microsecond == 0 and s.nanosecond == 0 for s in index):
        if all(s.hour == 0 and s.minute == 0 for s in index):
            if len(index) > 2 and all(s.day == 1 for s in index):
                return "%Y" if all(s.month == 1 for s in index) else "%Y-%m"
            return "%Y-%m-%d"
        return "%Y-%m-%d %H:%M"
    return "%Y-%m-%d %H:%M:%S"


class Timeline:
    """The dates of one forecast's rows; ``None`` from ``of`` when the answer has no time stamps."""

    def __init__(self, origin: int, history, future, step):
        self.origin, self.history, self.future, self.step = origin, history, future, step
        self.first = origin - len(history)  # the row of the window's first stamp
        self.format = format_of(history)  # once: the slider's label asks on every key

    @classmethod
    def of(cls, out: dict, steps: int) -> Timeline | None:
        history = parse(out.get("history_time"))
        if history is None:
            return None
        step = step_of(history)
        future = parse(out.get("time"))
        if future is None or len(future) < steps:
            if step is None:
                return None  # irregular stamps and no forecast stamps: nowhere to put the forecast
            import pandas as pd

            future = pd.DatetimeIndex([history[-1] + (k + 1) * step for k in range(steps)])
        return cls(out["origin"], history, future[:steps], step)

    @property
    def history_x(self) -> np.ndarray:
        return seconds(self.history)

    @property
    def future_x(self) -> np.ndarray:
        return seconds(self.future)

    def width(self) -> float:
        """Seconds per row (the strip's cells), from the window's stamps."""
        x = self.history_x
        return float(np.median(np.diff(x))) if len(x) > 1 else 1.0

    def stamp(self, row: int):
        """The date of a row of the file, or None when it lies outside this answer and the stamps are not
        regular enough to count on from it."""
        if self.first <= row < self.origin:
            return self.history[row - self.first]
        if self.origin <= row < self.origin + len(self.future):
            return self.future[row - self.origin]
        if self.step is None:
            return None
        return self.history[-1] + (row - self.origin + 1) * self.step

    def text(self, row: int) -> str | None:
        stamp = self.stamp(row)
        return None if stamp is None else stamp.strftime(self.format)

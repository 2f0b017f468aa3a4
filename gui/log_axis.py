"""Log-scale axis ticks that label any range with three to about eight values.

pyqtgraph's log axis labels decades and marks 2..9 between them: a validation loss between 0.0021 and
0.0035 got one label (0.003), and four decades got 32 ticks whose labels ran together ("%0.1g" made 0.3
and 0.35 both "0.3"). Here the ticks are decades when there are enough of them, else 1-2-5 steps, else
1..9 steps, else evenly spaced steps inside a narrow range, and each label has the digits it needs.
"""

from __future__ import annotations

import math

import pyqtgraph as pg

LEAST, MOST = 3, 8


def _nice_step(span: float, count: int) -> float:
    raw = span / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def log_ticks(lo: float, hi: float) -> list[float]:
    """Tick values (data units, not log10) for a log axis showing log10 values ``lo`` to ``hi``."""
    lo, hi = sorted((lo, hi))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    first, last = math.floor(lo), math.ceil(hi)
    for mantissas in ((1,), (1, 2, 5), tuple(range(1, 10))):
        values = [m * 10.0 ** e for e in range(first, last + 1) for m in mantissas
                  if lo - 1e-9 <= math.log10(m) + e <= hi + 1e-9]
        if len(values) >= LEAST:
            if len(values) > MOST:  # thin out evenly, keeping the decades
                stride = math.ceil(len(values) / MOST)
                values = [v for i, v in enumerate(values) if i % stride == 0]
            return values
    low, high = 10.0 ** lo, 10.0 ** hi  # within a factor of a few: even steps
    step = _nice_step(high - low, LEAST + 1)
    start = math.ceil(low / step - 1e-9) * step
    values = []
    value = start
    while value <= high * (1 + 1e-9) and len(values) <= MOST:
        if value > 0:
            values.append(value)
        value = start + len(values) * step
    return values


def labels(values: list[float]) -> list[str]:
    """The shortest ``%g`` labels that say every value (0.0025 is not "0.002")."""
    for digits in range(1, 8):
        text = [f"{v:.{digits}g}" for v in values]
        if all(abs(float(t) - v) <= 1e-6 * abs(v) for t, v in zip(text, values)):
            return text
    return [f"{v:.8g}" for v in values]


class LogFriendlyAxis(pg.AxisItem):
    """An axis whose log mode uses :func:`log_ticks`; linear mode is pyqtgraph's own."""

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802 (pyqtgraph's names)
        return [(None, [math.log10(v) for v in log_ticks(minVal, maxVal)])]

    def logTickStrings(self, values, scale, spacing):  # noqa: N802
        return labels([10.0 ** v * scale for v in values])

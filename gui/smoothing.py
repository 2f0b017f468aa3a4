"""Curve smoothing, the way TensorBoard's scalar dashboard does it (pure numpy, no Qt).

TensorBoard (``vz_line_chart2/line-chart.ts``, ``resmoothDataset``) runs a first-order IIR
low-pass filter starting from 0 and divides by ``1 - w**n`` to remove the bias towards that 0, so
the first smoothed value is the first raw value rather than ``(1 - w) * v``. Users compare our
curves with TensorBoard's, so the numbers should match exactly, quirks included.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def ema(values: Sequence[float], weight: float) -> np.ndarray:
    """Debiased exponential moving average of ``values`` with smoothing ``weight`` in [0, 1].

    Non-finite values (NaN, +-inf) are passed through unchanged and do not update the accumulator
    (a diverged step should show, not poison the rest of the curve). A constant series is returned
    as is, as TensorBoard does, so that rounding does not make a flat line wobble.
    """
    raw = np.asarray(values, dtype=float)
    if weight <= 0 or raw.size == 0:
        return raw.copy()
    if not weight < 1:
        raise ValueError(f"smoothing weight must be below 1, got {weight}")
    if np.all(raw == raw[0]):  # TensorBoard's "isConstant" (an all-NaN series is not constant)
        return raw.copy()
    out = np.empty_like(raw)
    last, num_accum = 0.0, 0
    # A plain loop over Python floats: the filter is sequential, and this is fast enough for the
    # few thousand points of a training curve (the widget only re-smooths series that changed).
    for i, value in enumerate(raw.tolist()):
        if not math.isfinite(value):
            out[i] = value
            continue
        last = last * weight + (1 - weight) * value
        num_accum += 1
        out[i] = last / (1 - weight ** num_accum)
    return out

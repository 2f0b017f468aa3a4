"""``--equal-params``: each cell's hidden size chosen so that its model has (within 5%) the parameters of the
first cell's model at its own hidden size, so that a cell comparison is not a comparison of model sizes.

Counting builds the task's datamodule (``setup("fit")``, once per distinct data setting) and the task's
model for a hidden size, and sums ``p.numel()``; the hidden size is found by bisection (a model's size
grows with its hidden size).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable

from ..config import RunConfig
from ..errors import UserError

TOLERANCE = 0.05
CELL, HIDDEN = "backbone.cell", "backbone.hidden"


class ParamCounter:
    """Parameter counts of ``task``'s model for resolved configurations, with the datamodules cached."""

    def __init__(self, task: Any):
        self.task = task
        self._datamodules: dict[str, Any] = {}
        self._counts: dict[str, int] = {}

    def count(self, cfg: RunConfig) -> int:
        key = json.dumps(cfg.to_dict(), sort_keys=True, default=str)
        if key not in self._counts:
            data_key = json.dumps(dataclasses.asdict(cfg.options), sort_keys=True, default=str)
            if data_key not in self._datamodules:
                datamodule = self.task.datamodule(cfg)
                datamodule.setup("fit")
                self._datamodules[data_key] = datamodule
            model = self.task.model(cfg, self._datamodules[data_key])
            self._counts[key] = sum(p.numel() for p in model.parameters())
        return self._counts[key]


def matched_hidden(count: Callable[[int], int], target: int, start: int, high: int, cell: str,
                   reference: str) -> tuple[int, int]:
    """The hidden size whose count is nearest ``target``, if within 5%: doubling from ``start`` until the
    count reaches the target (at most ``high``, so no huge model is ever built), then bisection."""
    hi = max(1, min(start, high))
    while count(hi) < target and hi < high:
        hi = min(high, hi * 2)
    lo = 1
    if count(hi) < target:
        lo = hi
    while lo < hi:  # the smallest hidden size with at least the target's parameters
        mid = (lo + hi) // 2
        if count(mid) >= target:
            hi = mid
        else:
            lo = mid + 1
    candidates = [h for h in (lo - 1, lo) if h >= 1]
    best = min(candidates, key=lambda h: (abs(count(h) - target), h))
    params = count(best)
    if abs(params - target) > TOLERANCE * target:
        raise UserError(f"--equal-params: no hidden size gives {cell} within 5% of the {target:,} parameters of "
                        f"{reference} (nearest: hidden {best}, {params:,}); choose a larger --hidden")
    return best, params


class EqualParams:
    """Sizes trials: ``hidden_for(settings)`` -> (hidden, parameters) for a trial's varied settings."""

    def __init__(self, task: Any, build: Callable[[dict[str, Any]], RunConfig], reference_cell: str,
                 hidden_max: int):
        self.counter = ParamCounter(task)
        self.build = build  # a trial's varied settings -> its resolved configuration
        self.reference_cell = reference_cell
        self.hidden_max = hidden_max
        self._memo: dict[str, tuple[int, int]] = {}

    def reference(self, settings: dict[str, Any]) -> tuple[RunConfig, int]:
        cfg = self.build({**settings, CELL: self.reference_cell})
        return cfg, self.counter.count(cfg)

    def hidden_for(self, settings: dict[str, Any]) -> tuple[int, int]:
        key = json.dumps(settings, sort_keys=True, default=str)
        if key not in self._memo:
            ref_cfg, target = self.reference(settings)
            cell = settings.get(CELL, self.reference_cell)
            if cell == self.reference_cell:
                self._memo[key] = (ref_cfg.backbone.hidden, target)
            else:
                def count(hidden: int) -> int:
                    return self.counter.count(self.build({**settings, HIDDEN: hidden}))

                self._memo[key] = matched_hidden(count, target, ref_cfg.backbone.hidden, self.hidden_max, cell,
                                                 f"{self.reference_cell} at hidden {ref_cfg.backbone.hidden}")
        return self._memo[key]

"""A sweep's results as rows: one per trial (from the study, so every process's trials are there) and one
per configuration (mean and spread over its seeds, ranked by the objective)."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from .spec import shown


@dataclass
class TrialRow:
    number: int
    settings: dict[str, Any]  # the varied settings by flag name (with a hidden size --equal-params chose)
    seed: int | None
    status: str  # COMPLETE, PRUNED, FAIL, RUNNING, WAITING
    value: float | None = None  # the validation objective (the best checkpoint's)
    test: float | None = None
    best_epoch: int | None = None
    epochs: int | None = None
    fit_seconds: float | None = None
    parameters: int | None = None
    run_dir: str = ""
    error: str = ""
    started: float | None = None
    finished: float | None = None
    curve: list[float | None] = field(default_factory=list)
    retry_of: int | None = None

    @property
    def key(self) -> str:
        return json.dumps(self.settings, sort_keys=True, default=str)


@dataclass
class ConfigRow:
    settings: dict[str, Any]
    trials: list[int]
    n: int  # complete trials (the seeds that count)
    failed: int = 0
    pruned: int = 0
    val_mean: float | None = None
    val_std: float | None = None
    test_mean: float | None = None
    test_std: float | None = None
    parameters: int | None = None
    rank: int | None = None
    best: bool = False

    def label(self) -> str:
        return " ".join(f"{k}={shown(v)}" for k, v in self.settings.items()) or "(base settings)"


def _stats(values: list[float]) -> tuple[float | None, float | None]:
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def trial_row(frozen: Any, names: list[str]) -> TrialRow:
    """A study's trial as a row; ``names`` orders the settings."""
    info = frozen.user_attrs.get("trial") or {}
    result = frozen.user_attrs.get("result") or {}
    settings = dict(info.get("settings") or {})
    if not settings:  # not started yet: what it was planned with
        settings = dict(frozen.params) or dict(frozen.system_attrs.get("fixed_params") or {})
    ordered = {n: settings[n] for n in names if n in settings}
    ordered.update({k: v for k, v in settings.items() if k not in ordered})
    seed = info.get("seed", frozen.user_attrs.get("seed"))
    return TrialRow(
        number=frozen.number, settings=ordered, seed=seed, status=frozen.state.name,
        value=result.get("value"), test=result.get("test"), best_epoch=result.get("best_epoch"),
        epochs=result.get("epochs"), fit_seconds=result.get("fit_seconds"), parameters=result.get("parameters"),
        run_dir=info.get("run_dir", ""), error=result.get("error", ""), started=info.get("started"),
        finished=result.get("finished"), curve=list(result.get("curve") or []),
        retry_of=frozen.user_attrs.get("retry_of"))


def configurations(rows: list[TrialRow], direction: str) -> list[ConfigRow]:
    """One row per distinct configuration, ranked by the mean validation objective (best first); those
    with no complete trial come last, unranked. Trials being retried do not count against theirs."""
    groups: dict[str, list[TrialRow]] = {}
    for row in rows:
        groups.setdefault(row.key, []).append(row)
    configs = []
    for members in groups.values():
        done = [r for r in members if r.status == "COMPLETE"]
        retried = {r.retry_of for r in members if r.retry_of is not None}
        val_mean, val_std = _stats([r.value for r in done])
        test_mean, test_std = _stats([r.test for r in done])
        params = [r.parameters for r in members if r.parameters is not None]
        configs.append(ConfigRow(
            settings=members[0].settings, trials=[r.number for r in members], n=len(done),
            failed=sum(r.status == "FAIL" and r.number not in retried for r in members),
            pruned=sum(r.status == "PRUNED" for r in members), val_mean=val_mean, val_std=val_std,
            test_mean=test_mean, test_std=test_std, parameters=params[0] if params else None))
    sign = -1.0 if direction == "maximize" else 1.0
    ranked = sorted((c for c in configs if c.val_mean is not None),
                    key=lambda c: (sign * c.val_mean, sign * (c.test_mean if c.test_mean is not None else 0.0)))
    for i, config in enumerate(ranked, 1):
        config.rank = i
    if ranked:
        ranked[0].best = True
    return ranked + [c for c in configs if c.val_mean is None]


def overlap_note(configs: list[ConfigRow]) -> str:
    """A note when the best and the runner-up are within one standard deviation of each other."""
    ranked = [c for c in configs if c.rank is not None]
    if len(ranked) < 2:
        return ""
    best, second = ranked[0], ranked[1]
    if best.val_std is None or second.val_std is None:
        if best.n == 1 or second.n == 1:
            return ("note: one seed per configuration: no spread to tell the best from the runner-up "
                    "(add --seeds 3 or more)")
        return ""
    if abs(best.val_mean - second.val_mean) <= best.val_std + second.val_std:
        return (f"note: the best ({best.label()}) and the runner-up ({second.label()}) overlap within one "
                f"standard deviation over their seeds: the ranking between them may not hold")
    return ""

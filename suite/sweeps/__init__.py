"""Experiments: a grid of settings, repeated seeds, a fair cell comparison and an Optuna search, each trial an
ordinary run in its own process, coordinated through an Optuna study (so several processes or machines can
share one sweep).

    from suite.sweeps import GridAxis, SweepSpec, run_sweep

    result = run_sweep("forecast", {"max_epochs": 3}, SweepSpec(grid=[GridAxis("cell", ["rnn", "gru"])], seeds=2))
    result.best.settings, result.configs[0].val_mean, result.sweep_dir

The modules, one job each: ``spec`` (the specification and its checks), ``sizing`` (--equal-params),
``storage`` and ``study`` (the shared study, enqueueing, taking and recovering trials), ``sampler`` (a
search's TPE, seeded per trial), ``launch`` and
``trial`` (a trial's process and its events), ``records`` and ``outputs`` (rows, CSV, YAML, the table),
``plots``, and ``sweep`` (the whole, :func:`run_sweep`). Importing this package loads no torch or Optuna.
"""

from __future__ import annotations

from typing import Any

from .spec import GridAxis, SpaceParam, SweepSpec, parse_spec, validate_spec

__all__ = ["GridAxis", "SpaceParam", "SweepSpec", "SweepResult", "TrialRow", "ConfigRow", "parse_spec",
           "validate_spec", "run_sweep"]


def __getattr__(name: str) -> Any:  # the rest loads Optuna: on first use only
    if name in ("run_sweep", "SweepResult"):
        from . import sweep

        return getattr(sweep, name)
    if name in ("TrialRow", "ConfigRow"):
        from . import records

        return getattr(records, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The strong classical baseline beside a run's metrics: when a task fits it, and what a run says without it.

A task's ``baseline(datamodule)`` returns its naive reference and hands the fit of its classical model
(a linear model, a CRF) to :func:`add_strong`, which decides whether to run it, records every model it
returns under ``others``, names the best on validation as ``strong``, and turns a missing ``baselines``
extra into one line for the run's summary instead of a failed run.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .task import Baseline
    from .task_modules import TaskDataModule

INSTALL = "pip install rnn-suite[baselines]"
#: the modules of the baselines extra, by the distribution that installs each: an ImportError of one of
#: these means the extra is not installed
EXTRA_MODULES = {"sklearn": "scikit-learn", "sklearn_crfsuite": "sklearn-crfsuite", "pycrfsuite": "python-crfsuite",
                 "scipy": "scipy"}

Fitted = dict[str, dict[str, Any]]  # name -> {"val": scores, "test": scores, "fit_seconds": s, "description": text}


def wanted(datamodule: TaskDataModule) -> bool:
    """Whether this run fits the strong baseline: asked for (``--no-strong-baseline`` says no), not a one-batch
    smoke test (``--fast-dev-run``, whose scores measure nothing), and with training data to fit on
    (``--evaluate`` reads a test set alone)."""
    train = datamodule.cfg.train
    return train.strong_baseline and not train.fast_dev_run and datamodule.train_set is not None


def add_strong(baseline: Baseline | None, datamodule: TaskDataModule, what: str, fit: Callable[[], Fitted],
               monitor: str, mode: str) -> Baseline | None:
    """``baseline`` with the models ``fit()`` returns added under ``others`` and the best of them on the
    validation ``monitor`` (``mode`` min or max) named ``strong``; ``what`` names them for the line that
    says the extra is missing."""
    if baseline is None or not wanted(datamodule):
        return baseline
    # after training and before results.json: a minute on IMDB, so the wait is said, not left silent
    print(f"fitting the strong baseline ({what})", file=sys.stderr, flush=True)
    try:
        fitted = fit()
    except ImportError as exc:
        package = (exc.name or "").split(".")[0]
        if package not in EXTRA_MODULES:
            raise
        baseline.strong_note = f"not fitted ({what}): {EXTRA_MODULES[package]} is not installed; {INSTALL}"
        return baseline
    except (ValueError, ArithmeticError, MemoryError) as exc:  # numpy's LinAlgError is a ValueError
        # the network's results are written whatever a reference model makes of the data
        first = (str(exc).strip().splitlines() or [""])[0]
        baseline.strong_note = f"not fitted ({what}): {type(exc).__name__}: {first}"
        return baseline
    if not fitted:
        return baseline
    baseline.others.update(fitted)
    sign = 1 if mode == "max" else -1

    def rank(name: str) -> float:
        value = fitted[name].get("val", {}).get(monitor)
        return float("-inf") if value is None or value != value else sign * value

    baseline.strong = max(fitted, key=rank)  # dict order breaks ties: the task lists its first choice first
    return baseline

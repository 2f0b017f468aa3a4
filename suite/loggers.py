"""The ``--logger`` settings: which standard experiment trackers a run feeds, and what identifies their runs.

events.jsonl stays the run's own record and the window's source; the loggers (Lightning's CSV,
TensorBoard, MLflow and W&B loggers, made in :mod:`suite.tracking`) are copies for the usual tools, in
``<run>/logs/``. A resumed run continues the same logger runs: their ids are kept in
``<run>/logs/loggers.json``.

This module imports no Lightning and no tracker, so validating a configuration stays cheap. The tracker
packages are optional (``pip install rnn-suite[tracking]``); a missing one is reported while the settings
are validated, before any data is read or any run folder is made.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from .errors import ConfigError, UserError

NAMES = ("csv", "tensorboard", "mlflow", "wandb")
#: the package each logger needs beside Lightning (Lightning's CSV logger needs none)
MODULES = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb"}
INSTALL = "pip install rnn-suite[tracking]"
LOGS = "logs"
STATE_FILE = "loggers.json"
#: the learning rate's name in every logger (logged per epoch; not a metric event: the window plots every
#: train/* event on the loss axis)
LR_NAME = "train/lr"
MAX_STATE_BYTES = 100_000


def parse_names(text: str) -> list[str]:
    """``"tensorboard, mlflow"`` -> ``["tensorboard", "mlflow"]`` (in order, each once)."""
    names: list[str] = []
    for part in str(text or "").split(","):
        name = part.strip().lower()
        if name and name not in names:
            names.append(name)
    return names


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-removed package
        return False


def check_settings(logger: str, mlflow_uri: str) -> None:
    """Validate ``--logger`` and ``--mlflow-uri``: known names, their packages installed."""
    where = "train.logger (--logger)"
    names = parse_names(logger)
    for name in names:
        if name not in NAMES:
            raise ConfigError(where, f"unknown logger {name!r}; expected NAME[,NAME...] of {', '.join(NAMES)}")
    for name in names:
        module = MODULES.get(name)
        if module and not installed(module):
            raise ConfigError(where, f"the {name} logger needs the {module} package, which is not installed: "
                                     f"{INSTALL}")
    if str(mlflow_uri or "").strip() and "mlflow" not in names:
        # refused rather than ignored: a tracking server the run never writes to would be a silent surprise
        raise ConfigError("train.mlflow_uri (--mlflow-uri)", "is for the mlflow logger; add --logger mlflow")


# --- what identifies the logger runs, kept for --resume -------------------------------------------------------

def state_path(run_dir: Path) -> Path:
    return Path(run_dir) / LOGS / STATE_FILE


def read_state(run_dir: Path) -> dict[str, dict[str, Any]]:
    """loggers.json as written by :class:`suite.tracking.TrackingCallback`; {} when there is none yet."""
    from .saferead import read_text

    path = state_path(run_dir)
    if not (path.exists() or path.is_symlink()):
        return {}
    text = read_text(path, "logger state", MAX_STATE_BYTES)
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise UserError(f"{path}: not valid JSON; remove it to start new logger runs") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise UserError(f"{path}: not a logger state this product wrote; remove it to start new logger runs")
    return data


def saved_id(state: dict[str, dict[str, Any]], name: str, key: str, **expected: Any) -> str | None:
    """The id kept for logger ``name``, if it was made with the same ``expected`` settings."""
    entry = state.get(name) or {}
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        return None
    if any(entry.get(k) != v for k, v in expected.items()):
        return None  # e.g. another tracking server: the old run id means nothing there
    return value

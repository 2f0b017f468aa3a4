"""Short names for runs shown together: what differs between them (cell, hidden, data), not their folders.

A run folder's name (``20261201-145701-cosine-sequence-rnn32-L500H1``) is too long for a legend and
says least where runs differ most; three seed runs of rnn, gru and lstm are best told apart as "rnn",
"gru" and "lstm". Pure Python, no Qt.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

#: a setting's place in a name: the backbone and the data first, as a user describes a run
PRIORITY = ("task", "backbone.cell", "backbone.hidden", "backbone.layers", "backbone.bidirectional",
            "options.data", "preset", "train.lr", "train.optimizer", "train.seed", "train.max_epochs")
#: settings that change how a run was executed rather than what it learnt: named only if nothing else differs
MECHANICS = ("train.threads", "train.num_workers", "train.devices", "train.accelerator", "train.log_every",
             "train.precision", "train.eval_batch_size", "train.strategy", "train.num_nodes", "options.plot",
             "train.logger", "train.mlflow_uri", "train.diagnostics", "train.diagnostics_every")
SHORTER = {"max_epochs": "epochs", "batch_size": "batch"}  # as a user says them
MAX_PARTS = 3
MAX_CHARS = 32
_STAMP = re.compile(r"^\d{8}-\d{6}-")


def flat_config(cfg: Mapping[str, Any]) -> dict[str, str]:
    """``{"backbone": {"cell": "gru"}}`` -> ``{"backbone.cell": "gru"}``, with the task and preset."""
    flat = {f"{section}.{k}": str(v) for section in ("backbone", "train", "options")
            for k, v in (cfg.get(section) or {}).items()}
    for key in ("task", "preset"):
        if cfg.get(key) is not None:
            flat[key] = str(cfg[key])
    return flat


def own_name(folder: str) -> str:
    """A run folder's name without its time stamp: what the run was, not when."""
    return elide(_STAMP.sub("", folder) or folder)


def elide(text: str, limit: int = MAX_CHARS) -> str:
    if len(text) <= limit:
        return text
    keep = limit - 1
    return text[: keep - keep // 3] + "…" + text[len(text) - keep // 3:]


def part(key: str, value: str) -> str:
    """One setting in a name: a cell or task alone, the data by its file's stem, the rest as "name value"."""
    name = key.split(".", 1)[-1]
    if key in ("task", "backbone.cell"):
        return value
    if key == "backbone.bidirectional":
        return "bidirectional" if value == "True" else "one-way"
    if key.endswith(".data") or key.endswith(".train"):
        stem = Path(value.rstrip("/")).name.split(".")[0] if value else ""
        # a data set is known by its file's stem ("ETTh1"); a training file beside it is not the data
        return (stem or value or "-") if name == "data" else f"{name} {stem or value or '-'}"
    name = SHORTER.get(name, name.replace("_", " "))
    return f"{name} {value if value != '' else '-'}"


def ordered(keys) -> list[str]:
    """``keys`` in naming order: PRIORITY, then the rest alphabetically, MECHANICS last."""
    keys = set(keys)
    first = [k for k in PRIORITY if k in keys]
    last = [k for k in MECHANICS if k in keys]
    return first + sorted(keys - set(first) - set(last)) + last


def describe(flat: Mapping[str, str], keys) -> str:
    """The settings ``keys`` of one run as a short name; "" when there are none."""
    chosen = ordered(keys)
    interesting = [k for k in chosen if k not in MECHANICS] or chosen
    shown = interesting[:MAX_PARTS]
    text = ", ".join(part(k, flat.get(k, "")) for k in shown)
    left = len(interesting) - len(shown)
    return elide(text + (f" (+{left})" if left else ""), MAX_CHARS + 6)


def short_names(configs: Mapping[str, Mapping[str, Any]], own: Mapping[str, str],
                given: Mapping[str, str] | None = None) -> dict[str, str]:
    """A name per run that tells it from the others shown with it: the settings that differ between
    them, or the run's ``own`` name (its folder's, see :func:`own_name`) where none differ. Names that
    still coincide get the run's own name instead. A name the user ``given`` a run (notes.json) wins."""
    flats = {run: flat_config(cfg) for run, cfg in configs.items()}
    # a setting some runs lack did not exist when they ran: it tells versions apart, not runs
    keys = set.intersection(*(set(flat) for flat in flats.values())) if flats else set()
    differing = {k for k in keys if len({flat[k] for flat in flats.values()}) > 1}
    names = {run: describe(flat, differing) or own.get(run, run) for run, flat in flats.items()}
    taken: dict[str, list[str]] = {}
    for run, name in names.items():
        taken.setdefault(name, []).append(run)
    for runs in taken.values():
        if len(runs) > 1:
            for run in runs:
                names[run] = own.get(run, run)
    given = {run: name for run, name in (given or {}).items() if name and run in names}
    names.update(given)
    for name in set(given.values()):  # two runs the user named alike: told apart by what differs
        alike = [run for run in given if given[run] == name]
        if len(alike) > 1:
            for run in alike:
                names[run] = f"{name} ({describe(flats[run], differing) or own.get(run, run)})"
    return names

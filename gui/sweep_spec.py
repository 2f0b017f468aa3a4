"""What the Sweeps tab specifies, as the command line's flags, checked by the command line's own parser.

Each varied setting is one text: ``a,b,c`` (values: a grid) or ``low:high[:log]`` (a range: a search). A
range anywhere makes the sweep a search, where value lists become choices (``--space KEY=A,B,C``), and a
search needs a trial count. Errors are the ones ``python -m suite`` would print, from suite/sweeps/spec.py,
so the window and the command line say the same line. No Qt here, and no torch or Optuna.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from suite.errors import UserError
from suite.sweeps.spec import (SweepSpec, parse_grid_axis, parse_space_param, parse_spec, resolve_setting,
                               task_settings, validate_spec)

#: what "Compare cells" varies, and how
COMPARE_CELLS = {"cell": "rnn,lstm,gru"}
COMPARE_SEEDS = 3
#: said (as a hint, not an error) while nothing is varied
NOTHING_VARIED = "choose a setting to vary (or more than one seed)"


def is_range(text: str) -> bool:
    """``low:high`` or ``low:high:log`` (the rule --space reads a value by)."""
    return ":" in text and "," not in text and ";" not in text


@dataclass
class SweepForm:
    """The tab's entries: setting name -> values text, in the order added, and the rest of the flags."""

    values: dict[str, str] = field(default_factory=dict)
    seeds: int = 1
    trials: int = 0  # for a search
    parallel: int = 1
    equal_params: bool = False
    sweep_dir: str = ""
    prune: bool = True  # a search's: the median pruner (--pruner median, the default) or none

    @property
    def pruner(self) -> str | None:
        """--pruner's value where it differs from the default (a search's only)."""
        return "none" if self.mode == "search" and not self.prune else None

    @property
    def mode(self) -> str:
        return "search" if any(is_range(v) for v in self.values.values()) else "grid"

    def sweep_flags(self) -> list[str]:
        """The experiment flags, without --sweep-dir."""
        args: list[str] = []
        if self.mode == "search":
            args += ["--search", str(self.trials)]
            for name, text in self.values.items():
                args += ["--space", f"{name}={text.strip()}"]
        else:
            for name, text in self.values.items():
                args += ["--sweep", f"{name}={text.strip()}"]
        if self.seeds != 1:
            args += ["--seeds", str(self.seeds)]
        if self.pruner:
            args += ["--pruner", self.pruner]
        if self.equal_params:
            args.append("--equal-params")
        if self.parallel != 1:
            args += ["--parallel", str(self.parallel)]
        return args


def field_error(task: Any, name: str, text: str, search: bool) -> str:
    """The one-line error of one varied setting alone, or ""."""
    try:
        if search:
            validate_spec(task, SweepSpec(space=[parse_space_param(f"{name}={text}")], search=1))
        else:
            validate_spec(task, SweepSpec(grid=[parse_grid_axis(f"{name}={text}")]))
    except UserError as exc:
        return str(exc)
    return ""


def check(task: Any, form: SweepForm) -> tuple[dict[str, str], str, SweepSpec | None]:
    """(errors by setting name, the sweep's own error, the checked spec or None). Each setting is checked
    alone first, so its error goes beside it; then the whole, as the command line parses it."""
    search = form.mode == "search"
    errors = {name: message for name, text in form.values.items()
              if (message := field_error(task, name, text, search))}
    if errors:
        return errors, "", None
    if not form.values and form.seeds < 2:
        return {}, NOTHING_VARIED, None
    try:
        spec = parse_spec(task, sweep=[f"{n}={t.strip()}" for n, t in form.values.items()] if not search else None,
                          space=[f"{n}={t.strip()}" for n, t in form.values.items()] if search else None,
                          search=form.trials if search else None, seeds=form.seeds,
                          equal_params=form.equal_params, parallel=form.parallel,
                          sweep_dir=form.sweep_dir or None, pruner=form.pruner)
    except UserError as exc:
        return {}, str(exc), None
    return {}, "", spec


def setting_names(task: Any) -> list[str]:
    """Every setting a sweep can vary, by its flag name, in the form's order (backbone, training, task)."""
    return [s.name for s in task_settings(task).values()]


def setting_key(task: Any, name: str) -> str:
    return resolve_setting(task, name, "--sweep").key


def default_values(task: Any, name: str, current: Any) -> str:
    """What a newly added setting's values start as: every choice of a choice, both of a switch, else the
    form's value (to be extended into a list or a range)."""
    setting = resolve_setting(task, name, "--sweep")
    choices = setting.field.metadata.get("choices")
    if choices:
        return ",".join(map(str, choices))
    if setting.base is bool:
        return "true,false"
    if isinstance(current, float):
        return f"{current:g}"
    return "" if current is None else str(current)


def default_sweep_dir(workdir: str | os.PathLike, runs: str | os.PathLike, task: str, form: SweepForm) -> Path:
    """runs/<task>/sweeps/<time>-<mode>-<names>, as the command line names one (a new folder each time)."""
    what = "-".join(form.values) or f"seeds{form.seeds}"
    base = Path(workdir) / runs / task / "sweeps" / f"{time.strftime('%Y%m%d-%H%M%S')}-{form.mode}-{what}"[:80]
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def sweep_args(base: list[str], form: SweepForm, sweep_dir: str) -> list[str]:
    """The child's arguments: the form's run flags, the experiment flags, the folder."""
    return [*base, *form.sweep_flags(), "--sweep-dir", sweep_dir]


def format_value(value: Any) -> str:
    """A form value as the command line spells it (as gui/form.py writes a run's flags)."""
    return "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))


def run_flags(task: str, preset: str, explicit: dict[str, Any], flags: dict[str, str],
              varied: set[str] = frozenset()) -> list[str]:
    """The form's run as flags (gui/form.py's ``cli_args``), less the settings the sweep varies (dotted keys):
    a setting given and also varied is refused by the sweep."""
    args = ["--task", task, "--preset", preset]
    for key, value in explicit.items():
        if key in varied:
            continue
        flag = flags[key]
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + flag[2:])
        else:
            args += [flag, format_value(value)]
    return args

"""What a sweep is, and its checks: the grid or the search space, the seeds, how many trials at once.

Settings are named as a single run's flags without dashes (``lr``, ``batch-size``, a task option such as
``lookback``) or by their dotted keys (``train.lr``); values are read with the setting's own type and
checked against its declared bounds here, before anything runs. Combinations (a segment longer than its
lookback) are left to each trial, which fails on its own as a single run would. Nothing here imports
torch, Lightning or Optuna: a bad specification is said in a fraction of a second.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import json
import math
import os
import re
import shlex
from dataclasses import dataclass, field, fields
from typing import Any

from ..config import (INT_LIMIT, SECTIONS, BackboneConfig, TrainConfig, _base_type, coerce, field_flag,
                      field_types)
from ..errors import UserError

LAUNCHERS = ("subprocess", "forkserver")
#: --pruner: how a search stops its poor trials (see Sweep._sampler_and_pruner)
PRUNERS = ("median", "none")
#: selects how trial processes start (see launch.py); the default is a fresh interpreter per trial
LAUNCHER_ENV = "RNN_SUITE_TRIAL_LAUNCHER"


@dataclass(frozen=True)
class Setting:
    """One setting a sweep can vary: its dotted key, its flag name (without dashes) and its field."""

    key: str  # train.lr
    name: str  # lr, batch-size
    type: Any  # the field's type (int, float, str, bool, or an optional of one)
    field: Any = dataclasses.field(compare=False, repr=False)

    @property
    def flag(self) -> str:
        return "--" + self.name

    @property
    def base(self) -> Any:
        return _base_type(self.type)


def task_settings(task: Any) -> dict[str, Setting]:
    """Every setting of ``task`` by its dotted key."""
    found: dict[str, Setting] = {}
    for section, cls in zip(SECTIONS, (BackboneConfig, TrainConfig, task.Config)):
        types = field_types(cls)
        for f in fields(cls):
            found[f"{section}.{f.name}"] = Setting(f"{section}.{f.name}", field_flag(f)[2:], types[f.name], f)
    return found


def resolve_setting(task: Any, text: str, flag: str) -> Setting:
    """The setting ``text`` names (``lr``, ``batch-size``, ``batch_size``, ``train.lr``), or a one-line error
    with the nearest names."""
    settings = task_settings(task)
    spelled = text.strip()
    if spelled in settings:
        return settings[spelled]
    by_name = {s.name: s for s in settings.values()}
    for candidate in (spelled, spelled.replace("_", "-"), spelled.lstrip("-").replace("_", "-")):
        if candidate in by_name:
            return by_name[candidate]
    for s in settings.values():  # the field's own name where its flag differs
        if s.field.name == spelled.replace("-", "_"):
            return s
    near = difflib.get_close_matches(spelled.replace("_", "-"), list(by_name), n=3, cutoff=0.5)
    hint = f"; nearest: {', '.join(near)}" if near else f"; see python main.py --task {task.name} --help"
    raise UserError(f"{flag} {text}: unknown setting '{spelled}' for task '{task.name}'{hint}")


def check_value(setting: Setting, value: Any, where: str) -> None:
    """The setting's own bounds and choices (what validation checks field by field)."""
    meta = setting.field.metadata
    if value is None:
        return
    if meta.get("choices") and value not in meta["choices"]:
        raise UserError(f"{where}: expected one of {', '.join(map(str, meta['choices']))}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise UserError(f"{where}: expected a finite number, got {value}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, int) and meta.get("max") is None and abs(value) > INT_LIMIT:
            raise UserError(f"{where}: must be at most {INT_LIMIT:,}, got {value}")
        for bound, ok, said in (("min", lambda v, b: v >= b, "at least"), ("max", lambda v, b: v <= b, "at most"),
                                ("gt", lambda v, b: v > b, "greater than"), ("lt", lambda v, b: v < b, "less than")):
            if meta.get(bound) is not None and not ok(value, meta[bound]):
                raise UserError(f"{where}: must be {said} {meta[bound]}, got {value}")


def parse_value(setting: Setting, text: Any, where: str) -> Any:
    value = coerce(text, setting.type, where)  # ConfigError (a UserError) naming where, for a wrong type
    check_value(setting, value, where)
    return value


def plain(value: Any) -> Any:
    """A value as YAML, JSON and Optuna's parameters hold it (None, bool, int, float or str)."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)


#: what makes a value read as several (a comma, a space) or as another's part beside it in a printed line
_AMBIGUOUS = re.compile(r"[\s,;=\"'\[\]{}]")


def shown(value: Any) -> str:
    """A setting's value in a printed line (``KEY=VALUE`` labels, table cells): as typed, or quoted (JSON)
    where its text would read as several values or none: ``split="0.7,0.1,0.2"``, ``data="my data.csv"``."""
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(",", ":"), default=str)
    text = str(value)
    return json.dumps(text) if not text or _AMBIGUOUS.search(text) else text


def assignment(name: str, values: list[Any]) -> str:
    """``KEY=V1,V2`` as a --sweep or --space flag takes it, quoted where a shell needs it; ``;`` between values
    when one holds a comma, as the flags read them."""
    texts = ["none" if v is None else str(v) for v in values]
    return shlex.quote(f"{name}={(';' if any(',' in t for t in texts) else ',').join(texts)}")


@dataclass
class GridAxis:
    """``--sweep KEY=V1,V2,...``: one setting and its values; the grid is the product of the axes."""

    key: str
    values: list[Any]
    name: str = ""  # the flag name, filled in by validation

    def text(self) -> str:
        return assignment(self.name or self.key, self.values)


@dataclass
class SpaceParam:
    """``--space KEY=LOW:HIGH[:log]`` (ints sample ints) or ``--space KEY=A,B,C`` (a choice)."""

    key: str
    low: Any = None
    high: Any = None
    log: bool = False
    choices: list[Any] | None = None
    name: str = ""
    kind: str = ""  # int | float | categorical, filled in by validation

    def text(self) -> str:
        if self.choices is not None:
            return assignment(self.name or self.key, self.choices)
        return f"{self.name or self.key}={self.low}:{self.high}{':log' if self.log else ''}"

    def describe(self) -> dict[str, Any]:
        if self.choices is not None:
            return {"choices": [plain(c) for c in self.choices]}
        return {"low": self.low, "high": self.high, "log": self.log, "type": self.kind}


@dataclass
class SweepSpec:
    """A sweep: a grid (``grid``) or a search (``search`` trials over ``space``), each configuration run
    ``seeds`` times, ``parallel`` trials at once. The CLI builds one from its flags (:func:`parse_spec`);
    code may build one directly, with values of the settings' types or as strings."""

    grid: list[GridAxis] = field(default_factory=list)
    space: list[SpaceParam] = field(default_factory=list)
    search: int = 0
    seeds: int = 1
    equal_params: bool = False
    parallel: int = 1
    sweep_dir: str | None = None
    storage: str | None = None
    study: str | None = None
    pruner: str | None = None  # a search's: median (the default) | none; a grid is never pruned
    launcher: str = ""  # subprocess | forkserver; empty: $RNN_SUITE_TRIAL_LAUNCHER, else subprocess

    @property
    def mode(self) -> str:
        return "search" if self.search else "grid"

    @property
    def names(self) -> list[str]:
        """The varied settings' flag names, in the order given."""
        return [a.name for a in self.grid] if self.mode == "grid" else [p.name for p in self.space]

    def points(self) -> list[dict[str, Any]]:
        """The grid's configurations (dotted key -> value), in the order given; one empty point for a
        search or for --seeds alone."""
        if not self.grid:
            return [{}]
        keys = [a.key for a in self.grid]
        return [dict(zip(keys, combo)) for combo in itertools.product(*(a.values for a in self.grid))]

    def describe(self) -> str:
        if self.mode == "search":
            what = f"search: {self.search} trial{'s' * (self.search != 1)} by this process over " + \
                   " ".join(p.text() for p in self.space)
        elif self.grid:
            what = "grid: " + " x ".join(a.text() for a in self.grid) + f" ({len(self.points())} configurations)"
        else:
            what = "one configuration"
        if self.seeds > 1:
            what += f", {self.seeds} seeds each"
        return what

    def identity(self, task: str, base: dict[str, Any]) -> dict[str, Any]:
        """What makes two sweeps the same sweep (so that one continues the other): not how many processes
        or trials at once, nor how many trials a search process adds. A search's pruner is part of it: trials
        of one pruner would otherwise be mixed with trials of another in one table."""
        identity = {"task": task, "mode": self.mode, "base": base,
                    "grid": [[a.key, [plain(v) for v in a.values]] for a in self.grid],
                    "space": [[p.key, p.describe()] for p in self.space],
                    "seeds": self.seeds, "equal_params": self.equal_params}
        if self.mode == "search":
            identity["pruner"] = self.pruner or PRUNERS[0]
        return identity


def fingerprint(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:10]


def split_assignment(text: str, flag: str) -> tuple[str, str]:
    key, sep, values = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"{flag} {text}: expected KEY=VALUES (e.g. {flag} lr=0.001,0.01)")
    return key.strip(), values


def split_values(text: str) -> list[str]:
    """``a,b,c``; ``a;b`` when a value itself holds commas (``split=0.7,0.1,0.2;0.6,0.2,0.2``)."""
    parts = text.split(";") if ";" in text else text.split(",")
    return [p.strip() for p in parts]


def parse_grid_axis(text: str) -> GridAxis:
    key, values = split_assignment(text, "--sweep")
    return GridAxis(key, split_values(values))


def parse_space_param(text: str) -> SpaceParam:
    key, values = split_assignment(text, "--space")
    if ":" in values and "," not in values and ";" not in values:
        parts = [p.strip() for p in values.split(":")]
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2].lower() != "log"):
            raise UserError(f"--space {text}: expected KEY=LOW:HIGH, KEY=LOW:HIGH:log or KEY=A,B,C")
        return SpaceParam(key, parts[0], parts[1], len(parts) == 3)
    return SpaceParam(key, choices=split_values(values))


def parse_spec(task: Any, *, sweep: list[str] | None = None, space: list[str] | None = None,
               search: int | None = None, seeds: int | None = None, equal_params: bool = False,
               parallel: int | None = None, sweep_dir: str | None = None, storage: str | None = None,
               study: str | None = None, pruner: str | None = None) -> SweepSpec:
    """The command line's flags as a checked :class:`SweepSpec`."""
    if sweep and search is not None:
        raise UserError("--sweep and --search are two kinds of sweep: a grid of given values, or a search "
                        "over --space ranges; use one")
    if space and search is None:
        raise UserError("--space needs --search N (the number of trials to sample)")
    if search is not None and not space:
        raise UserError("--search needs at least one --space KEY=LOW:HIGH[:log] or --space KEY=A,B,C")
    spec = SweepSpec(grid=[parse_grid_axis(t) for t in sweep or []],
                     space=[parse_space_param(t) for t in space or []],
                     search=search if search is not None else 0,
                     seeds=seeds if seeds is not None else 1, equal_params=equal_params,
                     parallel=parallel if parallel is not None else 1,
                     sweep_dir=sweep_dir, storage=storage, study=study, pruner=pruner)
    if search is not None and search < 1:
        raise UserError(f"--search {search}: needs at least 1 trial")
    return validate_spec(task, spec)


def validate_spec(task: Any, spec: SweepSpec) -> SweepSpec:
    """Resolve every key and read every value with its setting's type; one-line errors for the rest."""
    if spec.grid and spec.search:
        raise UserError("--sweep and --search are two kinds of sweep: use one")
    if spec.search and not spec.space:
        raise UserError("--search needs at least one --space KEY=LOW:HIGH[:log] or --space KEY=A,B,C")
    if spec.space and not spec.search:
        raise UserError("--space needs --search N (the number of trials to sample)")
    for what, value in (("--seeds", spec.seeds), ("--parallel", spec.parallel)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UserError(f"{what} {value}: must be a whole number of at least 1")
    if not isinstance(spec.search, int) or spec.search < 0:
        raise UserError(f"--search {spec.search}: needs at least 1 trial")
    cores = os.cpu_count() or 1
    if spec.parallel > cores:
        raise UserError(f"--parallel {spec.parallel}: this machine has {cores} CPU core{'s' * (cores != 1)}, so at "
                        f"most {cores} trials can run at once with a thread each")
    launcher = spec.launcher or os.environ.get(LAUNCHER_ENV) or "subprocess"
    if launcher not in LAUNCHERS:
        raise UserError(f"{LAUNCHER_ENV}={launcher}: expected one of {', '.join(LAUNCHERS)}")
    spec.launcher = launcher
    if spec.pruner is not None and not spec.search:
        raise UserError("--pruner belongs to --search: a grid's trials all run to their end")
    if spec.search:
        spec.pruner = spec.pruner or PRUNERS[0]
        if spec.pruner not in PRUNERS:
            raise UserError(f"--pruner {spec.pruner}: expected one of {', '.join(PRUNERS)}")
    seen: set[str] = set()
    for axis in spec.grid:
        setting = resolve_setting(task, axis.key, "--sweep")
        if setting.key in seen:
            raise UserError(f"--sweep {setting.name}: given twice; list all its values in one --sweep")
        seen.add(setting.key)
        raw = list(axis.values)
        if not raw or all(isinstance(v, str) and not v.strip() for v in raw):
            raise UserError(f"--sweep {axis.key}=: no values (expected {axis.key}=V1,V2,...)")
        if any(isinstance(v, str) and not v.strip() for v in raw) and setting.base is not str:
            raise UserError(f"--sweep {axis.text()}: an empty value in the list")
        where = f"--sweep {setting.name}"
        values = [parse_value(setting, v, where) for v in raw]
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            raise UserError(f"--sweep {setting.name}: {', '.join(repeated)} given twice")
        axis.key, axis.name, axis.values = setting.key, setting.name, values
    for param in spec.space:
        setting = resolve_setting(task, param.key, "--space")
        if setting.key in seen:
            raise UserError(f"--space {setting.name}: given twice")
        seen.add(setting.key)
        where = f"--space {setting.name}"
        param.key, param.name = setting.key, setting.name
        if param.choices is not None:
            if not param.choices or all(isinstance(v, str) and not v.strip() for v in param.choices):
                raise UserError(f"--space {setting.name}=: no values (expected LOW:HIGH[:log] or A,B,C)")
            param.choices = [parse_value(setting, v, where) for v in param.choices]
            if len(set(map(str, param.choices))) != len(param.choices):
                raise UserError(f"--space {param.text()}: a value given twice")
            param.kind = "categorical"
            continue
        if setting.base not in (int, float):
            raise UserError(f"--space {setting.name}: a range LOW:HIGH needs a number setting; "
                            f"give its values as {setting.name}=A,B,C")
        param.low = parse_value(setting, param.low, f"{where} LOW")
        param.high = parse_value(setting, param.high, f"{where} HIGH")
        param.kind = "int" if setting.base is int else "float"
        if not param.low < param.high:
            raise UserError(f"--space {param.text()}: LOW must be below HIGH")
        if param.log and param.low <= 0:
            raise UserError(f"--space {param.text()}: a log range needs LOW above 0")
    if spec.equal_params:
        varied = [a.key for a in spec.grid] + [p.key for p in spec.space if p.kind == "categorical"]
        if "backbone.cell" not in varied:
            raise UserError("--equal-params sizes each cell's hidden units to the first cell's parameter count; "
                            "it needs a swept cell (--sweep cell=rnn,lstm,gru)")
        if any(p.key == "backbone.hidden" for p in spec.space):
            raise UserError("--equal-params chooses the hidden size of each cell; it cannot also be searched "
                            "(--space hidden)")
    return spec

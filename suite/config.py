"""Typed configuration shared by the CLI, the GUI and saved runs.

Each group is a dataclass whose fields carry their help text and constraints in ``metadata``
(see :func:`option`). The CLI flags, the GUI forms, validation and the YAML saved in every run are
all generated from these declarations, so a field is described once.

A run's configuration is resolved in layers, later ones winning:
dataclass defaults -> the task's defaults -> the preset -> a ``--config`` file -> explicit flags.
"""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, UserError

SECTIONS = ("backbone", "train", "options")
#: the largest integer setting without a bound of its own: sizes beyond it only fail later, deep in torch
INT_LIMIT = 2**31 - 1
NO_PRESET = "none"  # --preset none: the defaults alone, even where the task would pick a preset
#: where option(group=...) puts a field in the window's form, top to bottom
GROUPS = ("data", "main", "advanced")


def option(
    default: Any,
    help: str,
    *,
    choices: typing.Sequence[Any] | None = None,
    min: float | None = None,
    max: float | None = None,
    gt: float | None = None,
    lt: float | None = None,
    flag: str | None = None,
    path: bool = False,
    group: str | None = None,
) -> Any:
    """A dataclass field with help text and constraints.

    ``min``/``max`` are inclusive bounds, ``gt``/``lt`` exclusive ones. ``flag`` overrides the CLI
    name (default: the field name with dashes). ``path=True`` marks a data location that is looked
    up under the data root when it is relative and not found from the working directory. ``group``
    places the field in the window's form (see :func:`field_group`): ``"data"`` (the data and how it
    is read), ``"main"`` (settings that matter) or ``"advanced"`` (rarely changed, shown collapsed).
    """
    if group is not None and group not in GROUPS:
        raise ValueError(f"option group must be one of {', '.join(GROUPS)}, got {group!r}")
    meta = {"help": help, "choices": tuple(choices) if choices else None, "min": min, "max": max,
            "gt": gt, "lt": lt, "flag": flag, "path": path, "group": group}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class BackboneConfig:
    """The recurrent backbone shared by every task."""

    cell: str = option("lstm", "recurrent cell", choices=("rnn", "lstm", "gru"))
    hidden: int = option(128, "hidden units per direction", min=1, max=8192)
    layers: int = option(1, "stacked recurrent layers", min=1, max=64)
    bidirectional: bool = option(False, "read sequences in both directions")
    dropout: float = option(0.0, "dropout between stacked layers", min=0.0, lt=1.0)
    init: str = option("keras", "weight initialisation: keras (Glorot input, orthogonal recurrent, "
                                "zero bias, LSTM forget bias 1) or pytorch's default",
                       choices=("keras", "pytorch"), group="advanced")


@dataclass
class TrainConfig:
    """Optimisation and hardware settings."""

    optimizer: str = option("adam", "optimiser", choices=("sgd", "adam", "adamw", "rmsprop"), group="advanced")
    lr: float = option(1e-3, "learning rate", gt=0.0)
    momentum: float = option(0.0, "momentum (sgd and rmsprop)", min=0.0, lt=1.0, group="advanced")
    weight_decay: float = option(0.0, "weight decay (L2; decoupled for adamw)", min=0.0, group="advanced")
    schedule: str = option("none", "learning-rate schedule: cosine decays to zero over the run, step "
                                   "multiplies by --lr-decay every --lr-step epochs, plateau does so when "
                                   "validation stops improving",
                           choices=("none", "cosine", "step", "plateau"), group="advanced")
    lr_decay: float = option(0.5, "factor applied by the step and plateau schedules", gt=0.0, lt=1.0, group="advanced")
    lr_step: int = option(1, "epochs between step-schedule decays (plateau: its patience)", min=1, group="advanced")
    grad_clip: float = option(0.0, "clip the gradient norm to this value (0: off)", min=0.0, group="advanced")
    batch_size: int = option(32, "examples per batch", min=1)
    eval_batch_size: int = option(0, "examples per batch in validation and test passes (0: --batch-size); "
                                     "larger passes run faster and give the same scores", min=0, group="advanced")
    max_epochs: int = option(10, "maximum training epochs", min=1)
    patience: int = option(0, "early stopping: epochs without validation improvement (0: off)", min=0, group="advanced")
    seed: int = option(42, "random seed for weights, shuffling and dropout", min=0, max=2**32 - 1)
    accelerator: str = option("auto", "hardware", choices=("auto", "cpu", "gpu", "cuda", "mps"), group="advanced")
    devices: str = option("auto", "devices per node: a count, a list like 0,1, or auto", group="advanced")
    num_nodes: int = option(1, "machines for multi-node DDP", min=1, group="advanced")
    strategy: str = option("auto", "distribution strategy (ddp for multi-GPU or multi-node)",
                           choices=("auto", "ddp", "ddp_spawn", "ddp_find_unused_parameters_true",
                                    "deepspeed", "fsdp"), group="advanced")
    precision: str = option("32", "numeric precision",
                            choices=("32", "64", "16-mixed", "bf16-mixed", "16-true", "bf16-true"), group="advanced")
    num_workers: int = option(0, "data-loader worker processes (0: load in the training process, "
                                 "best for in-memory tensors on few cores)", min=0, group="advanced")
    threads: int = option(0, "torch CPU threads (0: torch's default)", min=0, group="advanced")
    log_every: int = option(10, "log the training loss every N steps", min=1, group="advanced")
    diagnostics: bool = option(True, "training diagnostics: gradient norms and clipping every step; every "
                                     "--diagnostics-every steps the gradient reaching each step of the sequence "
                                     "(dL/dh_t), gate activity and update-to-weight ratios; verdicts at the end "
                                     "(diagnostics.jsonl, results.json; docs/INSIGHT.md)", group="advanced")
    diagnostics_every: int = option(200, "steps between diagnostic passes (one also runs after the last step)",
                                    min=1, group="advanced")
    fast_dev_run: bool = option(False, "a smoke test: one training, validation and test batch (Lightning's "
                                       "fast_dev_run), no early stopping or --logger; the run folder and "
                                       "results.json are written as usual, with the one-batch scores", group="advanced")
    logger: str = option("", "standard loggers beside events.jsonl, written into <run>/logs: "
                             "NAME[,NAME...] of csv, tensorboard, mlflow, wandb, as one comma-separated "
                             "flag (--logger tensorboard,mlflow); W&B runs offline; all but csv need "
                             "pip install rnn-suite[tracking]; empty: none", group="advanced")
    mlflow_uri: str = option("", "MLflow tracking server URI for --logger mlflow (empty: a file store in "
                                 "<run>/logs/mlflow)", group="advanced")
    strong_baseline: bool = option(True, "fit the task's strong classical baseline beside the naive one "
                                         "(TF-IDF logistic regression and NBSVM, DLinear, a CRF; the baselines "
                                         "extra), on the same splits and scored with the same metrics; not in "
                                         "--fast-dev-run, nor in sweep trials unless --strong-baseline is given",
                                   group="advanced")

    def batch_size_for(self, training: bool) -> int:
        """Training batches are --batch-size; evaluation ones --eval-batch-size when it is set."""
        return self.batch_size if training or not self.eval_batch_size else self.eval_batch_size

    def validate(self) -> None:
        text = self.devices.strip()
        if text != "auto" and not all(p.strip().lstrip("-").isdigit() for p in text.split(",") if p.strip()):
            raise ConfigError("train.devices (--devices)", f"expected a count, a list like 0,1, or auto; got {text!r}")
        from .loggers import check_settings

        check_settings(self.logger, self.mlflow_uri)


@dataclass
class RunConfig:
    """Everything that defines a run; saved as the run's config.yaml."""

    task: str
    backbone: BackboneConfig
    train: TrainConfig
    options: Any  # the task's own Config dataclass
    preset: str | None = None
    #: where the preset (or its absence) came from, for --print-config and the run's first line; not saved
    preset_origin: str = field(default="", compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "preset": self.preset,
                "backbone": dataclasses.asdict(self.backbone),
                "train": dataclasses.asdict(self.train),
                "options": dataclasses.asdict(self.options)}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def section(self, name: str) -> Any:
        return getattr(self, name)


def field_flag(f: dataclasses.Field) -> str:
    return "--" + (f.metadata.get("flag") or f.name).replace("_", "-")


def field_group(f: dataclasses.Field) -> str:
    """The form group of a field: as declared, else ``data`` for a data location (``path=True``) and
    ``main`` for the rest, so a plugin's own options land somewhere sensible with no marker."""
    return f.metadata.get("group") or ("data" if f.metadata.get("path") else "main")


def field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _base_type(tp: Any) -> Any:
    """int for ``int | None``; the type itself otherwise."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if args and type(None) in typing.get_args(tp):
        return args[0]
    return tp


def coerce(value: Any, tp: Any, where: str) -> Any:
    """Convert a YAML or string value to the field's type, or raise ConfigError naming the field."""
    optional = type(None) in typing.get_args(tp)
    base = _base_type(tp)
    if value is None or (optional and isinstance(value, str) and value.lower() in ("none", "null", "")):
        if optional:
            return None
        raise ConfigError(where, "a value is required")
    try:
        if base is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if base is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(str(value).strip()) if isinstance(value, str) else int(value)
        if base is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if base is str:
            if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value):
                return ",".join(str(v) for v in value)  # YAML lists for NAME[,NAME...] options
            if isinstance(value, (list, tuple, dict)):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        name = getattr(base, "__name__", str(base))
        raise ConfigError(where, f"expected {'a' if name != 'int' else 'an'} {name}, got {value!r}") from None
    return value


def validate_section(obj: Any, section: str) -> None:
    """Check every field against its declared constraints, then the class's own ``validate()``."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        where = f"{section}.{f.name} ({field_flag(f)})"
        meta = f.metadata
        if value is None:
            continue
        if meta.get("choices") and value not in meta["choices"]:
            raise ConfigError(where, f"expected one of {', '.join(map(str, meta['choices']))}, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(where, f"expected a finite number, got {value}")
        if isinstance(value, int) and not isinstance(value, bool) and meta.get("max") is None and abs(value) > INT_LIMIT:
            raise ConfigError(where, f"must be at most {INT_LIMIT:,}, got {value}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if meta.get("min") is not None and value < meta["min"]:
                raise ConfigError(where, f"must be at least {meta['min']}, got {value}")
            if meta.get("max") is not None and value > meta["max"]:
                raise ConfigError(where, f"must be at most {meta['max']}, got {value}")
            if meta.get("gt") is not None and not value > meta["gt"]:
                raise ConfigError(where, f"must be greater than {meta['gt']}, got {value}")
            if meta.get("lt") is not None and not value < meta["lt"]:
                raise ConfigError(where, f"must be less than {meta['lt']}, got {value}")
    check = getattr(obj, "validate", None)
    if callable(check):
        check()


def apply_overrides(cfg: RunConfig, overrides: dict[str, Any], source: str) -> None:
    """Set ``section.field`` keys on ``cfg``; ``source`` names where they came from for errors."""
    for key, value in overrides.items():
        section, _, name = key.partition(".")
        if section not in SECTIONS or not name:
            raise UserError(f"{source}: unknown setting '{key}' (expected backbone.*, train.* or options.*)")
        obj = cfg.section(section)
        types = field_types(type(obj))
        if name not in types:
            known = ", ".join(f.name for f in fields(obj))
            raise UserError(f"{source}: unknown setting '{key}'; {section} has: {known}")
        setattr(obj, name, coerce(value, types[name], f"{source}: {key}"))


def flatten(data: dict[str, Any], source: str) -> dict[str, Any]:
    """``{'train': {'lr': 1}}`` -> ``{'train.lr': 1}`` for the three sections."""
    flat: dict[str, Any] = {}
    for section in SECTIONS:
        values = data.get(section) or {}
        if not isinstance(values, dict):
            raise UserError(f"{source}: '{section}' must be a mapping of settings")
        flat.update({f"{section}.{k}": v for k, v in values.items()})
    unknown = set(data) - set(SECTIONS) - {"task", "preset"}
    if unknown:
        raise UserError(f"{source}: unknown top-level key(s) {', '.join(sorted(unknown))}; "
                        f"expected task, preset, {', '.join(SECTIONS)}")
    return flat


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    from .saferead import read_yaml_mapping

    # size, binary and alias limits: a YAML bomb must fail here, not grow in whatever walks the result
    return read_yaml_mapping(path, "config file", "a mapping with task, backbone, train and options")


def resolve_data_path(value: str, data_root: str | None = None) -> str:
    """An existing path made absolute: from the working directory, else under the data root.

    Anything else (a Hub dataset name, a built-in source, a missing file) is returned unchanged, so
    the reader can say what it is.
    """
    candidate = Path(value).expanduser()
    root = data_root or data_root_default()
    try:
        if candidate.exists():
            return str(candidate.resolve())
        if root and not candidate.is_absolute() and (Path(root).expanduser() / value).exists():
            return str((Path(root).expanduser() / value).resolve())
    except OSError:  # not a usable file name
        pass
    return value


def resolve_paths(options: Any, data_root: str | None) -> None:
    """Resolve every ``path=True`` option with :func:`resolve_data_path`."""
    for f in fields(options):
        value = getattr(options, f.name)
        if f.metadata.get("path") and value and isinstance(value, str):
            setattr(options, f.name, resolve_data_path(value, data_root))


def data_root_default() -> str | None:
    return os.environ.get("RNN_SUITE_DATA") or None


def as_default_paths(task: Any, given: dict[str, Any], data_root: str | None) -> dict[str, Any]:
    """``given`` with each path option that names the same place as its default put back as the default.

    A task picks its preset from the settings given (the tagging task picks ``ewt`` for its default
    dataset); comparing resolved locations, not spellings, makes ``tagging/ud_english_ewt`` under the
    data root, its absolute path, a path with ``..``, a trailing slash or a link the same dataset, so
    the defaults a run trains with never depend on how a path was written."""
    if not dataclasses.is_dataclass(task.Config):
        return given
    same = dict(given)
    for f in fields(task.Config):
        key, value = f"options.{f.name}", given.get(f"options.{f.name}")
        default = getattr(task, "defaults", {}).get(key, f.default)
        if not (f.metadata.get("path") and isinstance(value, str) and value and isinstance(default, str)
                and default and value != default):
            continue
        if resolve_data_path(value, data_root) == resolve_data_path(default, data_root):
            same[key] = default
    return same


def implied_data_root(task: Any, given: dict[str, Any]) -> str | None:
    """With no data root set, the one a given path implies: ``../shared/data/tagging/ud_english_ewt`` for
    the default ``tagging/ud_english_ewt`` implies ``../shared/data``, so the run gets the defaults and
    preset of that dataset, and the preset's other data (word vectors' text) is found beside it."""
    if not dataclasses.is_dataclass(task.Config):
        return None
    for f in fields(task.Config):
        value = given.get(f"options.{f.name}")
        default = getattr(task, "defaults", {}).get(f"options.{f.name}", f.default)
        if not (f.metadata.get("path") and isinstance(value, str) and value and isinstance(default, str)
                and default and not Path(default).is_absolute()):
            continue
        found, relative = Path(resolve_data_path(value)), Path(default).parts
        if found.is_absolute() and len(found.parts) > len(relative) and found.parts[-len(relative):] == relative:
            return str(Path(*found.parts[:-len(relative)]))
    return None


def describe_preset(cfg: RunConfig, presets: typing.Iterable[str] = ()) -> str:
    """One line saying which preset a configuration has and where it came from."""
    if cfg.preset:
        how = {"named": "--preset", "chosen": "chosen for these settings; --preset none for the plain defaults"}
        return f"preset {cfg.preset} ({how.get(cfg.preset_origin, cfg.preset_origin or 'given')})"
    how = {"named": "--preset none", "chosen": "the task picks none for these settings"}
    said = [how.get(cfg.preset_origin, cfg.preset_origin)]
    names = ", ".join(presets)
    if names:
        said.append(f"--preset NAME applies one of {names}")
    return "no preset: the plain defaults" + (f" ({'; '.join(p for p in said if p)})" if any(said) else "")


def build_run_config(
    task: Any,
    *,
    preset: str | None = None,
    file_data: dict[str, Any] | None = None,
    file_name: str = "config file",
    explicit: dict[str, Any] | None = None,
    data_root: str | None = None,
) -> RunConfig:
    """Resolve a run's configuration for ``task`` from its layers, then validate it.

    ``explicit`` holds the dotted keys set on the command line (or in the GUI) and wins over all.
    The preset is the one named, else the file's, else the one the task picks for these settings.
    """
    explicit = dict(explicit or {})
    file_flat = flatten(file_data, file_name) if file_data else {}
    data_root = data_root or data_root_default() or implied_data_root(task, {**file_flat, **explicit})
    origin = "named"
    if preset is None and file_data and "preset" in file_data:
        # a saved config.yaml replays its run's preset, and its lack of one (null), never a new choice
        preset, origin = file_data["preset"] or NO_PRESET, f"from {file_name}"
    if preset is None:
        preset, origin = task.default_preset(as_default_paths(task, {**file_flat, **explicit}, data_root)), "chosen"
    elif preset == NO_PRESET:
        preset = None
    if preset is not None and (not isinstance(preset, str) or preset not in task.presets):
        known = ", ".join(task.presets) or "none"
        raise ConfigError("preset (--preset)", f"task '{task.name}' has no preset '{preset}'; presets: {known}")
    cfg = RunConfig(task=task.name, backbone=BackboneConfig(), train=TrainConfig(), options=task.Config(),
                    preset=preset, preset_origin=origin)
    apply_overrides(cfg, task.defaults, f"task {task.name} defaults")
    if preset is not None:
        replaced = {key for given in {**file_flat, **explicit} for key in task.preset_yields.get(given, ())}
        apply_overrides(cfg, {k: v for k, v in task.presets[preset].items() if k not in replaced}, f"preset {preset}")
    apply_overrides(cfg, file_flat, file_name)
    apply_overrides(cfg, explicit, "command line")
    resolve_paths(cfg.options, data_root)
    for section in SECTIONS:
        validate_section(cfg.section(section), section)
    return cfg

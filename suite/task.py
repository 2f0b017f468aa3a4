"""The Task contract every plugin fulfils, and base classes that make a plugin short.

A task is found by name through the registry. It declares its own ``Config`` dataclass (CLI flags
and GUI forms are generated from it), builds a LightningDataModule and a LightningModule over the
shared backbone, reports a naive baseline beside its metrics, and answers interactive predictions.

This module imports no torch or Lightning, so the registry and the commands that only read settings
start fast. The base classes ``TaskModule`` and ``TaskDataModule`` are defined in
:mod:`suite.task_modules` and are importable from here too; they load on first use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .config import RunConfig

if TYPE_CHECKING:
    from .task_modules import TaskDataModule, TaskModule

INPUT_KINDS = ("series", "text", "tokens", "text_pair", "music")
OUTPUT_KINDS = ("series", "label", "tags", "text", "music")


@dataclass
class Baseline:
    """A naive reference: its name and metrics per split, plus any further baselines (``others``: name ->
    ``{"val", "test"}`` scores, and for a fitted one ``fit_seconds``, to fit and score it, and a
    ``description``). ``strong`` names the one of ``others`` shown beside the model and the naive reference
    (a classical model fitted in the run, ``suite.baselines``); ``strong_note`` says in one line why a
    strong baseline is missing."""

    name: str
    val: dict[str, float]
    test: dict[str, float]
    others: dict[str, dict[str, Any]] = field(default_factory=dict)
    strong: str | None = None
    strong_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "val": self.val, "test": self.test, "others": self.others,
                "strong": self.strong, "strong_note": self.strong_note}


class Task:
    """Subclass this, set the class attributes, and implement ``datamodule`` and ``model``."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Config: ClassVar[type] = object
    input_kind: ClassVar[str] = "series"
    output_kind: ClassVar[str] = "series"
    #: the validation metric that picks the best checkpoint and drives early stopping
    monitor: ClassVar[str] = "loss"
    monitor_mode: ClassVar[str] = "min"
    #: dotted overrides (``"backbone.cell": "gru"``) applied over the dataclass defaults
    defaults: ClassVar[dict[str, Any]] = {}
    #: named sets of dotted overrides, applied after ``defaults``
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    preset_help: ClassVar[dict[str, str]] = {}
    #: a setting the user gives -> the preset settings it replaces (a user's own word vectors replace
    #: the ones a preset would learn), so a preset's choice never conflicts with the user's
    preset_yields: ClassVar[dict[str, tuple[str, ...]]] = {}

    def default_preset(self, given: dict[str, Any]) -> str | None:
        """The preset to use when none is named; ``given`` holds the explicitly set dotted keys, a path
        option that names the same place as its default (however spelt) given as that default."""
        return None

    def datamodule(self, cfg: RunConfig) -> TaskDataModule:
        """The datamodule that trains on ``cfg``'s data. The engine builds the others through the same
        class (``TaskDataModule(cfg, state[, test_data])``): to predict, and to ``--evaluate``."""
        raise NotImplementedError(f"task {self.name!r} must implement datamodule()")

    def model(self, cfg: RunConfig, datamodule: TaskDataModule) -> TaskModule:
        raise NotImplementedError(f"task {self.name!r} must implement model()")

    def baseline(self, datamodule: TaskDataModule) -> Baseline | None:
        return None

    def predict(self, model: TaskModule, raw_input: str) -> Any:
        """Answer one interactive request; the result must be JSON-serialisable."""
        raise NotImplementedError(f"task {self.name!r} does not support --predict")

    def predict_many(self, model: TaskModule, inputs: list[str], *, files: bool = True) -> list[Any]:
        """Answers to several inputs at once, in order: ``predict_many(model, [a, b])[i]`` equals
        ``predict(model, inputs[i])``. The server calls it once per micro-batch; a task overrides it with one
        batched forward pass. A :class:`suite.errors.UserError` for any input may fail the whole call (the
        server then asks again one input at a time).

        ``files=False`` (the server): every input is the text itself, never a file to read, whatever it
        looks like. This default calls ``predict`` per input; with ``files=False`` it does so under
        :func:`suite.serving.textonly.refusing_files`, so an input naming a file fails as a UserError
        instead of being read."""
        if files:
            return [self.predict(model, raw) for raw in inputs]
        from .serving.textonly import refusing_files

        with refusing_files():
            return [self.predict(model, raw) for raw in inputs]

    def explain(self, model: TaskModule, raw_input: str, *, steps: int | None = None,
                horizon: str | None = None) -> dict[str, Any]:
        """Which inputs mattered to ``predict(model, raw_input)``: Integrated Gradients over them
        (``suite.insight.attribution``), JSON-serialisable, with ``prediction`` (predict's answer),
        ``attributions``, ``target`` (the function explained), ``baseline``, ``steps`` and ``completeness``.
        ``steps``: integration steps (None: adaptive until completeness holds); ``horizon``: the
        forecast steps to explain, for tasks that have a horizon."""
        from .errors import UserError

        raise UserError(f"task '{self.name}' does not support --explain")

    def render_explanation(self, explanation: dict[str, Any]) -> str:
        return json.dumps(explanation, indent=2)

    def example_input(self, cfg: RunConfig) -> str | None:
        """A raw input that ``predict`` accepts for this run (the GUI's starting point), if any."""
        return None

    def render_prediction(self, output: Any) -> str:
        return json.dumps(output, indent=2)

    def save_prediction(self, output: Any, path: Path) -> list[str] | None:
        """Write ``output`` to ``path``; a task that writes other or several files returns their paths."""
        path.write_text(json.dumps(output, indent=2) + "\n", encoding="utf-8")

    def write_outputs(self, run_dir: Path, model: TaskModule, datamodule: TaskDataModule) -> list[str]:
        """Write the task's predictions (and plots) into the run; return the file names."""
        return []

    def export(self, model: TaskModule, out_dir: Path, fmt: str) -> list[str]:
        """Write the network(s) in ``fmt`` ('onnx' or 'torchscript'), the preprocessing state as JSON and
        ``predict.py`` into ``out_dir``; return the file names written. The helpers are in ``suite.export``
        (``graphs.to_onnx``/``to_torchscript``, ``files.write_json``/``install_predictor``); the engine
        checks the format and the folder first and writes ``manifest.json`` after (docs/EXPORT.md)."""
        from .errors import UserError

        raise UserError(f"task '{self.name}' does not support --export")

    def report(self, model: TaskModule, datamodule: TaskDataModule) -> dict[str, Any] | None:
        """Structured results beyond the scalar metrics (a confusion matrix, a per-tag report), taken
        after testing; stored under ``report`` in results.json and in --evaluate's output."""
        return None

    def slug(self, cfg: RunConfig) -> str:
        """A short name for the run directory."""
        parts = [cfg.preset] if cfg.preset else []
        parts.append(f"{cfg.backbone.cell}{cfg.backbone.hidden}")
        return "-".join(parts)


#: the Lightning base classes, loaded on first use (PEP 562): the contract above imports no torch, so the
#: registry, --help and --list-tasks stay fast, while ``from suite.task import TaskModule`` keeps working
_LIGHTNING_CLASSES = ("TaskModule", "TaskDataModule")


def __getattr__(name: str) -> Any:
    if name in _LIGHTNING_CLASSES:
        from . import task_modules

        return getattr(task_modules, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LIGHTNING_CLASSES])

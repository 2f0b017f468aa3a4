"""Finds tasks through the ``rnn_suite.tasks`` entry-point group.

Built-in tasks register through the same group as third-party plugins (see pyproject.toml), so the
plugin path is the only path. Nothing is imported from anywhere else: plugins are loaded only from
installed entry points.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from importlib.metadata import entry_points

from .config import BackboneConfig, TrainConfig, field_flag
from .errors import UserError
from .task import INPUT_KINDS, OUTPUT_KINDS, Task

GROUP = "rnn_suite.tasks"

def _reserved_flags() -> set[str]:
    """The command line's own flags (a run's, a sweep's), which no task option may reuse."""
    from .cli import base_parser  # here, not at the top: the command line imports this module

    return {flag for action in base_parser()._actions for flag in action.option_strings}


class TaskLoadError(UserError):
    pass


def _discover() -> dict[str, object]:
    found: dict[str, object] = {}
    for ep in entry_points(group=GROUP):
        if ep.name in found and found[ep.name].value != ep.value:
            raise TaskLoadError(f"two installed plugins register the task name '{ep.name}': "
                                f"{found[ep.name].value} and {ep.value}")
        found[ep.name] = ep
    return found


def task_names() -> list[str]:
    return sorted(_discover())


def get_task(name: str) -> Task:
    eps = _discover()
    if name not in eps:
        known = ", ".join(sorted(eps)) or "none installed"
        raise UserError(f"unknown task '{name}'; available tasks: {known}")
    try:
        obj = eps[name].load()
    except Exception as exc:  # a broken plugin must not look like a bug in the suite
        raise TaskLoadError(f"task '{name}' ({eps[name].value}) failed to load: {type(exc).__name__}: {exc}") \
            from exc
    task = obj() if isinstance(obj, type) else obj
    check_task(task, name)
    return task


def all_tasks() -> list[Task]:
    return [get_task(name) for name in task_names()]


def check_task(task: object, name: str) -> None:
    """Reject a plugin that breaks the contract, with a message its author can act on."""
    where = f"task '{name}'"
    if not isinstance(task, Task):
        raise TaskLoadError(f"{where}: the entry point must name a suite.task.Task subclass")
    if task.name != name:
        raise TaskLoadError(f"{where}: its class says name = {task.name!r}; the entry point and the class must agree")
    if not is_dataclass(task.Config):
        raise TaskLoadError(f"{where}: Config must be a dataclass")
    if task.input_kind not in INPUT_KINDS:
        raise TaskLoadError(f"{where}: input_kind must be one of {INPUT_KINDS}")
    if not isinstance(task.output_kind, str) or not task.output_kind:
        # a kind the window has no panel for is shown as JSON (docs/PLUGINS.md), so any name will do
        raise TaskLoadError(f"{where}: output_kind must be a name such as {', '.join(OUTPUT_KINDS)}")
    reserved = _reserved_flags()
    seen = {field_flag(f): "backbone" for f in fields(BackboneConfig)}
    seen.update({field_flag(f): "train" for f in fields(TrainConfig)})
    for f in fields(task.Config):
        flag = field_flag(f)
        if flag in seen or flag in reserved:
            raise TaskLoadError(f"{where}: option {f.name} would reuse the flag {flag}; rename it or set "
                                f"metadata flag=")
        if not f.metadata.get("help"):
            raise TaskLoadError(f"{where}: option {f.name} has no help text (use suite.config.option)")
    _check_settings(task, where)


def _check_settings(task: Task, where: str) -> None:
    """Every key of the task's defaults and presets names a real setting of the right type: a typo
    fails when the task is registered (``--list-tasks``), not in the middle of someone's run."""
    from .config import RunConfig, apply_overrides

    layers = {"defaults": task.defaults, **{f"preset {name}": values for name, values in task.presets.items()}}
    for label, values in layers.items():
        cfg = RunConfig(task=task.name, backbone=BackboneConfig(), train=TrainConfig(), options=task.Config())
        try:
            apply_overrides(cfg, values, f"{where} {label}")
        except UserError as exc:
            raise TaskLoadError(str(exc)) from None
    for given, yielded in task.preset_yields.items():
        for key in (given, *yielded):
            section, _, name = key.partition(".")
            obj = {"backbone": BackboneConfig, "train": TrainConfig, "options": task.Config}.get(section)
            if obj is None or name not in {f.name for f in fields(obj)}:
                raise TaskLoadError(f"{where}: preset_yields names '{key}', which is no setting")

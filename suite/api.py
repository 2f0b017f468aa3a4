"""The suite from Python: train a run, load a trained model, predict and evaluate.

    from suite import api

    results = api.train("forecast", hidden=16, max_epochs=3)      # the same run as main.py --task forecast
    model = api.load(results["run_dir"])                           # a run folder, or a .ckpt file alone
    model.predict("1,2,3,...")                                     # what --predict prints, as data
    model.evaluate("other.csv")                                    # what --evaluate writes
    model.predict_file("inputs.txt", "answers.jsonl")              # what --predict FILE --batch writes

Settings are named as the command line's flags without dashes (``max_epochs``, ``batch_size``, a task
option such as ``lookback``), or by their dotted keys (``"train.lr"``). Errors a user can fix raise
:class:`suite.errors.UserError` with the same one-line message the command line prints.
"""

from __future__ import annotations

import io
import os
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from .config import SECTIONS, BackboneConfig, RunConfig, TrainConfig, build_run_config, read_config_file
from .errors import UserError
from .registry import get_task
from .shipped import find_config
from .task import Task

__all__ = ["train", "load", "Predictor"]


def _dotted_keys(task: Task) -> dict[str, str]:
    """Each setting's flag name (``max_epochs``) and field name mapped to its dotted key."""
    keys: dict[str, str] = {}
    for section, cls in zip(SECTIONS, (BackboneConfig, TrainConfig, task.Config)):
        for f in fields(cls):
            dotted = f"{section}.{f.name}"
            keys[f.name] = dotted
            keys[(f.metadata.get("flag") or f.name).replace("-", "_")] = dotted
            keys[dotted] = dotted
    return keys


def settings_to_explicit(task: Task, settings: dict[str, Any]) -> dict[str, Any]:
    keys = _dotted_keys(task)
    explicit = {}
    for name, value in settings.items():
        dotted = keys.get(name) or keys.get(name.replace("-", "_"))
        if dotted is None:
            raise UserError(f"unknown setting '{name}' for task '{task.name}' (see python main.py --task "
                            f"{task.name} --help)")
        explicit[dotted] = value
    return explicit


def resolve(task: str, *, preset: str | None = None, config: str | os.PathLike | None = None,
            data_root: str | None = None, **settings: Any) -> RunConfig:
    """The configuration a run with these settings would train with (as ``--print-config`` shows)."""
    chosen = get_task(task)
    config = find_config(config) if config else None  # a path, or a shipped config's name
    file_data = read_config_file(config) if config else None
    return build_run_config(chosen, preset=preset, file_data=file_data, file_name=str(config),
                            explicit=settings_to_explicit(chosen, settings), data_root=data_root)


def train(task: str, *, run_dir: str | os.PathLike | None = None, preset: str | None = None,
          config: str | os.PathLike | None = None, data_root: str | None = None, quiet: bool = True,
          **settings: Any) -> dict[str, Any]:
    """Train and test one run, exactly as ``main.py --task TASK`` would; returns its results.json as a
    dict, with ``run_dir`` added. ``quiet=False`` prints the run's summary as the command line does."""
    from .cli import format_summary
    from .events import EventStream
    from .runner import run_training
    from .training import quiet_libraries

    quiet_libraries()
    cfg = resolve(task, preset=preset, config=config, data_root=data_root, **settings)
    out = io.StringIO() if quiet else sys.stdout
    stream = EventStream()
    try:
        run, results = run_training(get_task(task), cfg, stream, out,
                                    run_dir=str(run_dir) if run_dir is not None else None)
    finally:
        stream.close()
    if results is None:  # a DDP worker: rank zero holds the results
        return {}
    if not quiet:
        print(format_summary(results, run.path))
    return {**results, "run_dir": str(run.path)}


class Predictor:
    """A trained model, ready to answer: built by :func:`load`."""

    def __init__(self, trained):
        self._trained = trained
        self.task: Task = trained.task
        self.config: RunConfig = trained.cfg
        self.checkpoint: Path = trained.checkpoint

    @property
    def model(self):
        """The LightningModule, in eval mode."""
        return self._trained.model

    @property
    def output_kind(self) -> str:
        return self.task.output_kind

    def predict(self, raw_input: str) -> Any:
        """What ``--predict INPUT`` prints, as a JSON-serialisable value (a text, values or a file path)."""
        try:
            return self.task.predict(self._trained.model, raw_input)
        except NotImplementedError:
            raise UserError(f"task '{self.task.name}' does not answer predictions") from None

    def predict_many(self, inputs: list[str], *, chunk_size: int | None = None) -> list[Any]:
        """``[predict(x) for x in inputs]``, in batches (one forward pass per batch where the task has one).
        A bad input raises UserError naming its index (``inputs[7]: ...``)."""
        from .batch_predict import CHUNK, _message

        inputs = list(inputs)
        bad = next((i for i, x in enumerate(inputs) if not isinstance(x, str)), None)
        if bad is not None:
            raise UserError(f"inputs[{bad}]: expected a string, got {type(inputs[bad]).__name__}")
        size = max(1, chunk_size or CHUNK)
        answers: list[Any] = []
        for start in range(0, len(inputs), size):
            chunk = inputs[start:start + size]
            try:
                answers.extend(self._predict_chunk(chunk))
            except UserError:
                for i, raw in enumerate(chunk, start):  # which one: asked again one at a time
                    try:
                        answers.extend(self._predict_chunk([raw]))
                    except UserError as exc:
                        raise UserError(f"inputs[{i}]: {_message(exc)}") from None
        return answers

    def _predict_chunk(self, inputs: list[str]) -> list[Any]:
        import torch

        try:
            with torch.inference_mode():
                answers = list(self.task.predict_many(self._trained.model, inputs))
        except NotImplementedError:
            raise UserError(f"task '{self.task.name}' does not answer predictions") from None
        if len(answers) != len(inputs):
            raise RuntimeError(f"{self.task.name}.predict_many answered {len(answers)} of {len(inputs)} inputs")
        return answers

    def predict_file(self, path: str | os.PathLike, output: str | os.PathLike | None = None, *,
                     input_column: str | None = None, id_column: str | None = None, on_error: str = "skip",
                     progress: bool | None = None, data_root: str | None = None,
                     chunk_size: int | None = None, predict_batch: int | None = None) -> dict[str, Any]:
        """What ``--predict FILE --batch --output OUTPUT`` does: every input of ``path`` (one per line of a
        .txt/.jsonl, or a .csv/.tsv/.parquet/.json table's rows) answered into ``output`` (.jsonl or .csv;
        None: JSON lines on standard output). Bad lines are warned about on standard error and written as
        error records (``on_error="skip"``), or raise UserError at the first (``"fail"``, the answers before
        it written). ``progress``: a bar on standard error (None: when it is a terminal). ``predict_batch``:
        inputs per forward pass (``--predict-batch``; None: the task's default). Returns the counts
        (``inputs``, ``answered``, ``errors``, ``seconds``, ...)."""
        from .batch_predict import CHUNK, BatchJob

        job = BatchJob.prepare(self.task, os.fspath(path), output, config=self.config.to_dict(),
                               input_column=input_column, id_column=id_column, on_error=on_error,
                               data_root=data_root, predict_batch=predict_batch)
        return job.run(self._trained.model, progress=progress, chunk_size=chunk_size or CHUNK).to_dict()

    def explain(self, raw_input: str, *, steps: int | None = None, horizon: str | int | None = None
                ) -> dict[str, Any]:
        """What ``--predict INPUT --explain --output FILE.json`` writes: Integrated Gradients attributions of
        one prediction (``prediction`` holds predict's answer) and their ``completeness`` check. ``steps``:
        integration steps (None: adaptive); ``horizon``: a forecast's step to explain (1-based) or "all"."""
        from .insight.attribution import check_steps
        from .insight.command import check_task

        check_task(self.task)
        check_steps(steps)
        return self.task.explain(self._trained.model, raw_input, steps=steps,
                                 horizon=None if horizon is None else str(horizon))

    def evaluate(self, data: str, data_root: str | None = None) -> dict[str, Any]:
        """What ``--evaluate DATA`` writes: metrics on ``data`` beside the task's baseline."""
        from .config import resolve_data_path
        from .trained import evaluate

        try:
            return evaluate(self._trained, resolve_data_path(data, data_root))
        except NotImplementedError:
            raise UserError(f"task '{self.task.name}' cannot evaluate other data") from None

    def __repr__(self) -> str:
        return f"Predictor(task={self.task.name!r}, checkpoint={str(self.checkpoint)!r})"


def load(path: str | os.PathLike, *, data_root: str | None = None, **options: Any) -> Predictor:
    """A trained model from a run folder or from a checkpoint file alone. ``options`` may set the task's
    own prediction settings (e.g. ``beam_size=1``), as ``--checkpoint RUN --beam-size 1`` does."""
    from .runs import Run
    from .trained import for_inference, load_checkpoint, load_checkpoint_file, load_trained, stamp_of

    target = Path(path)
    if target.is_file():
        ckpt = load_checkpoint(target)
        task = get_task(stamp_of(ckpt, target)["task"])
        return Predictor(load_checkpoint_file(target, _options_only(task, options), data_root, ckpt=ckpt))
    run = Run.open(target)
    saved = run.read_config()
    task = get_task(saved["task"])
    cfg = build_run_config(task, file_data=for_inference(saved), file_name=str(run.config_path),
                           explicit=_options_only(task, options), data_root=data_root)
    return Predictor(load_trained(task, cfg, run))


def _options_only(task: Task, options: dict[str, Any]) -> dict[str, Any]:
    explicit = settings_to_explicit(task, options)
    changed = sorted(k for k in explicit if not k.startswith("options."))
    if changed:
        raise UserError(f"a trained run's model settings cannot change (not {', '.join(changed)})")
    return explicit

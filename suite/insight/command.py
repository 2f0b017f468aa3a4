"""``--checkpoint RUN --predict INPUT --explain``: the flags' checks and the answer, printed or written as JSON.

Everything a user can get wrong is said before a model is loaded: a flag without ``--explain``,
``--explain`` without one prediction to explain, a task that cannot explain, a missing Captum.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from ..errors import UserError
from ..task import Task

#: the flags that mean nothing without --explain (argparse names)
EXPLAIN_FLAGS = ("explain_steps", "explain_horizon")
#: the ways of using a trained run that answer more (or other) than one prediction
NOT_WITH = ("batch", "evaluate", "serve", "export")


def check_flags(args: argparse.Namespace) -> None:
    """The flag combinations, before anything is read (and without torch: this runs for every command)."""
    if not getattr(args, "explain", False):
        stray = [name for name in EXPLAIN_FLAGS if getattr(args, name, None) is not None]
        if stray:
            flags = ", ".join("--" + name.replace("_", "-") for name in stray)
            raise UserError(f"{flags} belong{'s' * (len(stray) == 1)} to --explain "
                            f"(with --checkpoint RUN --predict INPUT)")
        return
    if not (args.checkpoint and args.predict is not None):
        raise UserError("--explain needs --checkpoint RUN --predict INPUT: it explains one prediction of a "
                        "trained model")
    clashing = [name for name in NOT_WITH if getattr(args, name, None) not in (None, False)]
    if clashing:
        flags = ", ".join("--" + name for name in clashing)
        raise UserError(f"--explain explains one prediction; it cannot be combined with {flags}")
    from .attribution import check_steps

    check_steps(args.explain_steps)
    if args.output and Path(args.output).suffix.lower() != ".json":
        raise UserError(f"{args.output}: --explain writes JSON (the prediction and its attributions); give "
                        f"--output a .json file name")


def check_task(task: Task) -> None:
    """Before a model is loaded: the task can explain, and Captum is installed."""
    from .attribution import check_captum

    if type(task).explain is Task.explain:
        raise UserError(f"task '{task.name}' does not support --explain")
    check_captum()


def explain_prediction(task: Task, model, args: argparse.Namespace, output_path: Path | None, out: TextIO) -> int:
    from ..atomic import dumps_strict, write_text_atomic
    from .attribution import completeness_line

    explanation = task.explain(model, args.predict, steps=args.explain_steps, horizon=args.explain_horizon)
    if output_path is None:
        print(task.render_explanation(explanation), file=out)
        return 0
    try:
        write_text_atomic(output_path, dumps_strict(explanation, indent=2) + "\n")
    except OSError as exc:
        raise UserError(f"{output_path}: cannot write --output ({exc.strerror or exc})") from None
    print(f"wrote {output_path}", file=out)
    if isinstance(explanation.get("completeness"), dict):
        print(completeness_line(explanation["completeness"]), file=out)
    return 0

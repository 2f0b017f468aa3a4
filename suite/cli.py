"""The headless command line: ``python main.py --task NAME [options]``.

Flags for the backbone, training and the task's own options are generated from their dataclasses.
Errors a user can fix are printed as one line (``error: ...``) with exit code 2; with
``--events stdout`` they are also sent as an ``error`` event for the parent process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from dataclasses import fields
from pathlib import Path
from typing import Any, TextIO

from .config import (BackboneConfig, RunConfig, TrainConfig, build_run_config, field_flag, field_types,
                     read_config_file)
from .errors import UserError
from .events import EventStream
from .registry import all_tasks, get_task, task_names
from .runs import RUN_DIR_ENV, Run
from .task import Task


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UserError(message)


def base_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="main.py",
        add_help=add_help,
        description="Train, evaluate and use recurrent networks (RNN, LSTM, GRU) on time series, text and "
                    "music. Runs go to runs/<task>/<timestamp>-<slug>/ (or --run-dir).",
        epilog="Add --task NAME --help to see that task's options. Exit codes: 0 done, 2 bad input.",
    )
    run = parser.add_argument_group("run")
    run.add_argument("--task", metavar="NAME", help="task to run (see --list-tasks)")
    run.add_argument("--list-tasks", action="store_true", help="list the installed tasks and exit")
    run.add_argument("--config", metavar="FILE", help="YAML file of settings (as written by --print-config)")
    run.add_argument("--preset", metavar="NAME", help="a named set of the task's settings (e.g. seed); 'none' for the plain defaults")
    run.add_argument("--print-config", action="store_true", help="print the resolved configuration and exit")
    run.add_argument("--run-dir", metavar="DIR", help="where to write the run (default runs/<task>/<time>-<slug>)")
    run.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    run.add_argument("--checkpoint", metavar="RUN_DIR", help="a trained run, for --predict or --evaluate")
    run.add_argument("--predict", metavar="INPUT", help="run the trained model on INPUT (text, values or a file)")
    run.add_argument("--evaluate", metavar="DATA", help="evaluate the trained model on another dataset")
    run.add_argument("--output", metavar="FILE", help="where --predict or --evaluate writes its result")
    run.add_argument("--events", choices=("file", "stdout"), default="file",
                     help="stdout: also stream JSON-line events to standard output, and stop gracefully on a "
                          "line 'stop' on standard input (for a parent process such as the GUI)")
    run.add_argument("--data-root", metavar="DIR",
                     help="folder where relative data paths are looked up (default: $RNN_SUITE_DATA)")
    return parser


def add_config_arguments(parser: argparse.ArgumentParser, task: Task) -> None:
    shown = build_run_config(task, preset=None) if not task.defaults else None
    groups = (("backbone", BackboneConfig, "backbone"), ("train", TrainConfig, "training"),
              ("options", task.Config, f"{task.name} options"))
    preset_text = "; ".join(f"{name}: {task.preset_help.get(name, '')}".rstrip(": ") for name in task.presets)
    for section, cls, title in groups:
        description = f"presets: {preset_text}" if section == "options" and preset_text else None
        group = parser.add_argument_group(title, description)
        types = field_types(cls)
        defaults = getattr(shown, section) if shown else None
        for f in fields(cls):
            default = getattr(defaults, f.name) if defaults else f.default
            help_text = f"{f.metadata.get('help', '')} (default: {default})"
            if f.metadata.get("choices"):
                help_text = f"{f.metadata['help']}: {'|'.join(map(str, f.metadata['choices']))} (default: {default})"
            kwargs: dict[str, Any] = {"dest": f"{section}.{f.name}", "default": argparse.SUPPRESS,
                                      "help": help_text}
            if types[f.name] is bool:
                kwargs["action"] = argparse.BooleanOptionalAction
            else:
                kwargs["metavar"] = f.name.upper()
            group.add_argument(field_flag(f), **kwargs)


def main(argv: list[str] | None = None) -> int:
    from .training import quiet_libraries

    quiet_libraries()
    argv = list(sys.argv[1:] if argv is None else argv)
    stream = EventStream(to_stdout="--events=stdout" in argv or _follows(argv, "--events", "stdout"))
    try:
        return _main(argv, stream)
    except UserError as exc:
        stream.emit("error", message=str(exc))
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        stream.emit("error", message="interrupted")
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: keep the traceback, but the parent still hears of it
        stream.emit("error", message=f"{type(exc).__name__}: {exc}")
        traceback.print_exc()
        return 1
    finally:
        stream.close()


def _follows(argv: list[str], flag: str, value: str) -> bool:
    return any(a == flag and b == value for a, b in zip(argv, argv[1:]))


def _main(argv: list[str], stream: EventStream) -> int:
    pre, _ = base_parser(add_help=False).parse_known_args(argv)
    if pre.list_tasks:
        for task in all_tasks():
            print(f"{task.name:<14} {task.description}")
        return 0
    saved: dict[str, Any] | None = None
    run: Run | None = None
    if pre.resume or pre.checkpoint:
        run = Run.open(pre.resume or pre.checkpoint)
        saved = run.read_config()
    file_data = read_config_file(pre.config) if pre.config else None
    task_name = pre.task or (saved or {}).get("task") or (file_data or {}).get("task")
    if not task_name:
        if "-h" in argv or "--help" in argv or not argv:
            base_parser().print_help()
            print(f"\ninstalled tasks: {', '.join(task_names())}")
            return 0
        raise UserError("no task given; use --task NAME (installed: " + ", ".join(task_names()) + ")")
    task = get_task(task_name)
    if saved and saved.get("task") != task.name:
        raise UserError(f"{run.path} is a '{saved.get('task')}' run, not '{task.name}'")

    parser = base_parser()
    add_config_arguments(parser, task)
    args = parser.parse_args(argv)
    explicit = {k: v for k, v in vars(args).items() if "." in k}
    out = sys.stderr if stream.to_stdout else sys.stdout
    data_root = args.data_root

    if args.checkpoint:
        return _use_trained(task, run, saved, explicit, args, out, data_root)
    if args.resume:
        changed = sorted(k for k in explicit if not k.startswith("train."))
        if changed:
            raise UserError(f"--resume continues the run as configured; only training settings may change "
                            f"(not {', '.join(changed)})")
        cfg = build_run_config(task, file_data=saved, file_name=str(run.config_path), explicit=explicit,
                               data_root=data_root)
        return _train(task, cfg, stream, out, run=run, resume=True, listen=stream.to_stdout)
    if args.predict or args.evaluate:
        raise UserError("--predict and --evaluate need --checkpoint RUN_DIR (a trained run)")
    cfg = build_run_config(task, preset=args.preset, file_data=file_data, file_name=str(args.config),
                           explicit=explicit, data_root=data_root)
    if args.print_config:
        print(cfg.to_yaml(), end="")
        return 0
    return _train(task, cfg, stream, out, run_dir=args.run_dir, listen=stream.to_stdout)


def _train(task: Task, cfg: RunConfig, stream: EventStream, out: TextIO, *, run: Run | None = None,
           run_dir: str | None = None, resume: bool = False, listen: bool = False) -> int:
    from .training import fit_and_test, is_rank_zero_process, prepare_fit

    datamodule = task.datamodule(cfg)
    datamodule.setup("fit")  # bad data fails here, before a run directory exists
    rank_zero = is_rank_zero_process()
    new_run = run is None
    if new_run:
        run = Run.create(task.name, task.slug(cfg), run_dir) if rank_zero else Run(run_dir or os.environ[RUN_DIR_ENV])
    try:
        session = prepare_fit(task, cfg, run, stream, datamodule, listen_stdin=listen and rank_zero,
                              show_progress=rank_zero and sys.stderr.isatty())
    except Exception:
        if new_run and rank_zero:  # nothing was trained: leave no run behind, and nothing of the user's lost
            run.discard()
        raise
    if rank_zero:
        os.environ[RUN_DIR_ENV] = str(run.path)  # DDP workers re-run this command; they must join this run
        run.results_path.unlink(missing_ok=True)  # a resumed run is not finished until it says so again
        run.write_config(cfg.to_yaml())
        stream.attach(run.path)
        print(f"{'resuming' if resume else 'run'}: {run.path}", file=out, flush=True)
    else:
        stream.to_stdout = False
    results = fit_and_test(session, resume=resume)
    if results is None:
        return 0
    stream.emit("finished", status=results["status"], run_dir=str(run.path), metrics=results["metrics"],
                baseline=results["baseline"], epochs_completed=results["epochs_completed"],
                fit_seconds=results["fit_seconds"], best_checkpoint=results["best_checkpoint"])
    print(format_summary(results), file=out)
    return 0


def _use_trained(task: Task, run: Run, saved: dict[str, Any], explicit: dict[str, Any], args, out: TextIO,
                 data_root: str | None) -> int:
    from .training import evaluate, load_trained

    if not (args.predict or args.evaluate):
        raise UserError("--checkpoint needs --predict INPUT or --evaluate DATA")
    changed = sorted(k for k in explicit if not k.startswith("options."))
    if changed:
        raise UserError(f"a trained run's model settings cannot change (not {', '.join(changed)})")
    cfg = build_run_config(task, file_data=saved, file_name=str(run.config_path), explicit=explicit,
                           data_root=data_root)
    trained = load_trained(task, cfg, run)
    output_path = Path(args.output) if args.output else None
    if args.predict is not None:
        prediction = task.predict(trained.model, args.predict)
        if output_path:
            written = task.save_prediction(prediction, output_path)  # a task may write several files
            print(f"wrote {', '.join(map(str, written)) if written else output_path}", file=out)
        else:
            print(task.render_prediction(prediction), file=out)
    if args.evaluate:
        from .config import resolve_data_path

        data = resolve_data_path(args.evaluate, data_root)
        report = evaluate(trained, data)
        text = json.dumps(report, indent=2)
        if output_path:
            output_path.write_text(text + "\n", encoding="utf-8")
            print(f"wrote {output_path}", file=out)
        else:
            print(text, file=out)
        print(format_metrics_table(report["metrics"], None, report["baseline"]), file=sys.stderr)
    return 0


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"
    return str(value)


def format_metrics_table(test: dict[str, float], val: dict[str, float] | None,
                         baseline: dict[str, Any] | None) -> str:
    base_name = baseline["name"] if baseline else None
    header = ["metric"] + (["val"] if val is not None else []) + ["test"]
    if base_name:
        header.append(f"baseline: {base_name} (test)")
    rows = [header]
    for name in test:
        row = [name] + ([_fmt(val.get(name))] if val is not None else []) + [_fmt(test[name])]
        if base_name:
            row.append(_fmt(baseline["test"].get(name)))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows)


def format_summary(results: dict[str, Any]) -> str:
    lines = [
        f"{results['task']} {results['status']}: {results['epochs_completed']} epochs in "
        f"{results['fit_seconds']:.1f} s, {_fmt(results['train_samples_per_second'])} samples/s, "
        f"{results['parameters']:,} parameters",
        format_metrics_table(results["metrics"]["test"], results["metrics"]["val"], results["baseline"]),
    ]
    if results.get("test_split") != "test":
        lines.append(f"test split: {results['test_split']}")
    lines.append(f"best checkpoint: {results['best_checkpoint']}")
    if results.get("outputs"):
        lines.append("outputs: " + ", ".join(results["outputs"]))
    return "\n".join(lines)

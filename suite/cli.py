"""The headless command line: ``python main.py --task NAME [options]``.

Flags for the backbone, training and the task's own options are generated from their dataclasses.
Errors a user can fix are printed as one line (``error: ...``) with exit code 2; with
``--events stdout`` they are also sent as an ``error`` event for the parent process.

Torch and Lightning are imported only on the paths that train or load a model: ``--help``,
``--list-tasks`` and ``--print-config`` read settings alone and answer in a fraction of a second
(tests/test_startup.py keeps it so, bench/startup.py measures it).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import traceback
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, TextIO

from .atomic import dumps_strict, write_text_atomic
from .config import (BackboneConfig, RunConfig, TrainConfig, build_run_config, describe_preset, field_flag,
                     field_types, read_config_file)
from .errors import UserError
from .stream import EventStream
from .interrupts import HANDLED, Interrupted, install_raising_handlers
from .registry import all_tasks, get_task, task_names
from .runs import Run
from .shipped import find_config, shipped_configs
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
    shipped = ", ".join(shipped_configs()) or "none"
    run.add_argument("--config", metavar="FILE", help="YAML file of settings (as written by --print-config), or "
                                                      f"the name of a shipped one: {shipped}")
    run.add_argument("--preset", metavar="NAME", help="a named set of the task's settings (e.g. seed); 'none' for the plain defaults")
    run.add_argument("--print-config", action="store_true", help="print the resolved configuration and exit")
    run.add_argument("--run-dir", metavar="DIR", help="where to write the run (default runs/<task>/<time>-<slug>)")
    run.add_argument("--run-name", metavar="NAME", help="a name for the new run, kept in its folder's notes.json "
                                                        "(the window's Runs tab shows and edits it)")
    run.add_argument("--tag", metavar="TAG", action="append",
                     help="a tag for the new run, kept in notes.json; repeat for several (--tag ett --tag long)")
    run.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    run.add_argument("--checkpoint", metavar="RUN",
                     help="a trained run's folder, or a checkpoint file alone (it carries its settings), "
                          "for --predict or --evaluate")
    run.add_argument("--predict", metavar="INPUT", help="run the trained model on INPUT (text, values or a file)")
    run.add_argument("--explain", action="store_true",
                     help="with --predict: which inputs mattered, by Integrated Gradients (words, source tokens, "
                          "time steps and variables), with the completeness check; needs the insight extra")
    run.add_argument("--explain-steps", metavar="N", type=int,
                     help="--explain: integration steps (default: from 50, doubled until completeness holds "
                          "within 1%%, at most 1600)")
    run.add_argument("--explain-horizon", metavar="K|all",
                     help="--explain, forecast: the forecast step to explain (default 1, the next), or all")
    run.add_argument("--evaluate", metavar="DATA", help="evaluate the trained model on another dataset")
    run.add_argument("--output", metavar="FILE", help="where --predict or --evaluate writes its result "
                                                      "(with --export: the folder to write)")
    run.add_argument("--batch", action="store_true",
                     help="--predict FILE holds many inputs (.txt/.jsonl one per line; .csv/.tsv/.parquet/.json "
                          "table rows): answer each, in batches, as JSON lines (--output OUT.jsonl, or standard "
                          "output) or CSV (--output OUT.csv)")
    run.add_argument("--input-column", metavar="NAME",
                     help="--batch: the column (or JSON field) holding the inputs (default: input, the run's "
                          "text column, text, ..., or the only column)")
    run.add_argument("--id-column", metavar="NAME", help="--batch: a column (or JSON field) copied to each answer as id")
    run.add_argument("--on-error", choices=("skip", "fail"),
                     help="--batch: a bad input is reported and written as an error record (skip, the default) "
                          "or stops the run with exit code 2, the answers before it kept (fail)")
    run.add_argument("--predict-batch", metavar="N", type=int,
                     help="--batch: inputs per forward pass, for a task with batched passes (default: the task's; "
                          "sentiment's 64)")
    run.add_argument("--serve", action="store_true",
                     help="with --checkpoint RUN: answer predictions over HTTP (POST /predict, GET /health, /info, "
                          "/docs), micro-batching concurrent requests; needs the serve extra")
    run.add_argument("--export", metavar="FORMAT",
                     help="with --checkpoint RUN and --output DIR: write the network as onnx (the export extra) or "
                          "torchscript, its preprocessing as JSON and a standalone DIR/predict.py (docs/EXPORT.md)")
    run.add_argument("--host", metavar="ADDR", help="--serve's address (default 127.0.0.1: this machine only)")
    run.add_argument("--port", metavar="N", type=int, help="--serve's port (default 8000; 0 picks a free one)")
    run.add_argument("--max-batch", metavar="N", type=int,
                     help="--serve: inputs answered in one forward pass at most (default 32; 1 turns batching off)")
    run.add_argument("--batch-wait-ms", metavar="MS", type=float,
                     help="--serve: how long a request waits for others to batch with (default 5)")
    run.add_argument("--events", choices=("file", "stdout"), default="file",
                     help="stdout: also stream JSON-line events to standard output, and stop gracefully on a "
                          "line 'stop' on standard input (for a parent process such as the GUI); a sweep then "
                          "lets its running trials finish and starts no new one (a second 'stop' ends them too)")
    run.add_argument("--data-root", metavar="DIR",
                     help="folder where relative data paths are looked up (default: $RNN_SUITE_DATA)")
    add_sweep_arguments(parser)
    return parser


#: the experiment flags (argparse names): any of them makes the command a sweep of runs
SWEEP_FLAGS = ("sweep", "seeds", "search", "space", "pruner", "equal_params", "parallel", "sweep_dir", "storage",
               "study")


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    from .sweeps.spec import PRUNERS

    group = parser.add_argument_group(
        "experiments", "many runs of one task, each an ordinary run folder under the sweep's folder; KEY is a "
                       "setting's flag without dashes (lr, batch-size, cell, a task option) or its dotted key")
    group.add_argument("--sweep", metavar="KEY=V1,V2", action="append",
                       help="a grid over the product of these lists (repeatable); separate values by ';' "
                            "when they hold commas")
    group.add_argument("--seeds", metavar="N", type=int, help="run every configuration N times: seeds "
                                                              "--seed, --seed+1, ... (default 1)")
    group.add_argument("--search", metavar="N", type=int,
                       help="an Optuna search (TPE, pruning poor trials: see --pruner): N trials by this process")
    group.add_argument("--space", metavar="KEY=LOW:HIGH[:log]|KEY=A,B", action="append",
                       help="what --search samples (repeatable); whole-number settings sample whole numbers")
    group.add_argument("--pruner", choices=PRUNERS,
                       help="how --search stops poor trials (default median): median is Optuna's MedianPruner, "
                            "which stops a trial whose validation metric at an epoch is worse than the median of "
                            "the earlier trials' at that epoch, once max(2, min(5, N // 4)) trials have completed "
                            "(its startup trials) and from epoch max(1, max-epochs // 4) + 1 on (its warm-up "
                            "epochs); none runs every trial to its end")
    group.add_argument("--equal-params", action="store_true",
                       help="with --sweep cell=...: size each cell's hidden units to the first cell's "
                            "parameter count (within 5%%)")
    group.add_argument("--parallel", metavar="K", type=int,
                       help="trials at once on this machine, CPU threads shared out among them (default 1)")
    group.add_argument("--sweep-dir", metavar="DIR",
                       help="the sweep's folder (default runs/<task>/sweeps/<time>-<what>); the same command "
                            "on an existing one continues it")
    group.add_argument("--storage", metavar="URL",
                       help="the Optuna storage (default sqlite:///<sweep-dir>/study.db): a database URL or "
                            "journal:PATH, shared by several processes or machines")
    group.add_argument("--study", metavar="NAME", help="the study's name in --storage (default: from the task "
                                                       "and the specification, the same for the same command)")


def add_config_arguments(parser: argparse.ArgumentParser, task: Task) -> None:
    try:  # what a run with no flags would get: the task's defaults and the preset it picks, as --print-config
        shown = build_run_config(task)
    except UserError:
        shown = None
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


def print_help(file: TextIO | None = None) -> None:
    """The overview of ``main.py --help``: the run flags and the installed tasks."""
    file = file or sys.stdout
    base_parser().print_help(file)
    print(f"\ninstalled tasks: {', '.join(task_names())}", file=file)


def _load_training_libraries() -> None:
    """Import Lightning (seconds) and quieten it: only on the paths that train or load a model."""
    from .training import quiet_libraries

    quiet_libraries()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    stream = EventStream(to_stdout="--events=stdout" in argv or _follows(argv, "--events", "stdout"))
    previous = {signum: signal.getsignal(signum) for signum in HANDLED}
    install_raising_handlers()
    try:
        return _main(argv, stream)
    except (UserError, Interrupted) as exc:
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
        for signum, handler in previous.items():
            if handler is not None and threading.current_thread() is threading.main_thread():
                signal.signal(signum, handler)


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
    checkpoint_file: Path | None = None
    checkpoint_data: dict[str, Any] | None = None  # read once: a checkpoint may be tens of MB
    if pre.checkpoint and Path(pre.checkpoint).is_file():  # a checkpoint alone carries its settings
        _load_training_libraries()
        from .trained import load_checkpoint, stamp_of

        checkpoint_file = Path(pre.checkpoint)
        checkpoint_data = load_checkpoint(checkpoint_file)
        saved = stamp_of(checkpoint_data, checkpoint_file)["config"]
    elif pre.resume or pre.checkpoint:
        run = Run.open(pre.resume or pre.checkpoint)
        saved = run.read_config()
        if pre.resume:  # a resumed run appends to its files: a damaged one is refused, not written into
            run.results(), run.events(), run.metric_rows()
    config_file = find_config(pre.config) if pre.config else None  # a path, or a shipped config's name
    file_data = read_config_file(config_file) if config_file else None
    task_name = pre.task or (saved or {}).get("task") or (file_data or {}).get("task")
    if not task_name:
        if "-h" in argv or "--help" in argv or not argv:
            print_help()
            return 0
        raise UserError("no task given; use --task NAME (installed: " + ", ".join(task_names()) + ")")
    if not isinstance(task_name, str):
        source = run.config_path if saved and saved.get("task") == task_name else config_file
        raise UserError(f"{source}: 'task' must be a task name such as forecast, got {task_name!r}")
    task = get_task(task_name)
    if saved and saved.get("task") != task.name:
        raise UserError(f"{run.path} is a '{saved.get('task')}' run, not '{task.name}'")

    parser = base_parser()
    add_config_arguments(parser, task)
    args = parser.parse_args(argv)
    explicit = {k: v for k, v in vars(args).items() if "." in k}
    out = sys.stderr if stream.to_stdout else sys.stdout
    data_root = args.data_root
    _refuse_conflicts(args)

    if args.checkpoint:
        return _use_trained(task, run or checkpoint_file, saved, explicit, args, out, data_root, checkpoint_data)
    if args.resume:
        changed = sorted(k for k in explicit if not k.startswith("train."))
        if changed:
            raise UserError(f"--resume continues the run as configured; only training settings may change "
                            f"(not {', '.join(changed)})")
        cfg = build_run_config(task, file_data=saved, file_name=str(run.config_path), explicit=explicit,
                               data_root=data_root)
        return _train(task, cfg, stream, out, run=run, resume=True, listen=stream.to_stdout)
    if args.predict or args.evaluate or args.serve or args.export:
        raise UserError("--predict, --evaluate, --serve and --export need --checkpoint RUN_DIR (a trained run)")
    if any(_given(args, name) for name in SWEEP_FLAGS):
        return _sweep(task, args, explicit, config_file, argv, out, listen=stream.to_stdout)
    cfg = build_run_config(task, preset=args.preset, file_data=file_data, file_name=str(config_file),
                           explicit=explicit, data_root=data_root)
    if args.print_config:
        print(cfg.to_yaml(), end="")
        # the YAML's preset: key says which; where it came from goes beside it, not into a file made of it
        print(describe_preset(cfg, task.presets), file=sys.stderr)
        return 0
    return _train(task, cfg, stream, out, run_dir=args.run_dir, listen=stream.to_stdout, notes=_run_notes(args))


def _run_notes(args: argparse.Namespace):
    """--run-name and --tag, checked before anything trains; None when neither is given."""
    from .run_notes import RunNotes, check_name, check_tags

    if args.run_name is None and not args.tag:
        return None
    return RunNotes(check_name(args.run_name or "", "--run-name"), check_tags(args.tag or [], "--tag"))


#: what each way of using a run cannot be combined with (argparse names; a combination is refused, not ignored)
_CONFLICTS = {
    "resume": ("checkpoint", "run_dir", "preset", "config", "print_config", "predict", "evaluate", "output",
               "serve", "export", "run_name", "tag", *SWEEP_FLAGS),
    "checkpoint": ("run_dir", "preset", "config", "print_config", "run_name", "tag", *SWEEP_FLAGS),
}
#: a sweep's flags with the single-run flags they cannot go with (each trial has its own run folder)
_SWEEP_CONFLICTS = ("run_dir", "print_config", "predict", "evaluate", "output", "serve", "export", "batch", "run_name",
                    "tag")
#: the flags that belong to --serve alone
SERVE_FLAGS = ("host", "port", "max_batch", "batch_wait_ms")


def _sweep(task: Task, args: argparse.Namespace, explicit: dict[str, Any], config_file: Path | None,
           argv: list[str], out: TextIO, listen: bool = False) -> int:
    from .sweeps import parse_spec, run_sweep

    given = [name for name in SWEEP_FLAGS if _given(args, name)]
    if not {"sweep", "seeds", "search", "space"} & set(given):  # (--space alone: parse_spec says what it needs)
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise UserError(f"{flags} belong{'s' * (len(given) == 1)} to a sweep: add --sweep KEY=V1,V2, "
                        f"--seeds N or --search N")
    spec = parse_spec(task, sweep=args.sweep, space=args.space, search=args.search, seeds=args.seeds,
                      equal_params=args.equal_params, parallel=args.parallel, sweep_dir=args.sweep_dir,
                      storage=args.storage, study=args.study, pruner=args.pruner)
    result = run_sweep(task.name, explicit, spec, preset=args.preset, config=config_file,
                       data_root=args.data_root, out=out, command=["main.py", *argv], listen=listen)
    return 0 if result.best is not None or not result.trials or result.stopped else 1


def _given(args: argparse.Namespace, name: str) -> bool:
    value = getattr(args, name)
    return value is not None and value is not False  # a count of 0 is given (and refused), not absent


def _refuse_conflicts(args: argparse.Namespace) -> None:
    if any(_given(args, name) for name in SWEEP_FLAGS):
        clashing = [name for name in _SWEEP_CONFLICTS if getattr(args, name) not in (None, False)]
        if clashing:
            flags = ", ".join("--" + name.replace("_", "-") for name in clashing)
            raise UserError(f"a sweep cannot be combined with {flags}: each trial is a run of its own, "
                            f"in <sweep-dir>/trials/")
    for mode, refused in _CONFLICTS.items():
        if getattr(args, mode) is None:
            continue
        clashing = [name for name in refused if _given(args, name)]
        if clashing:
            flags = ", ".join("--" + name.replace("_", "-") for name in clashing)
            raise UserError(f"--{mode} cannot be combined with {flags}")
    if args.export is not None:
        clashing = [name for name in ("predict", "evaluate", "serve") if _given(args, name)]
        if clashing:
            flags = ", ".join("--" + name for name in clashing)
            raise UserError(f"--export cannot be combined with {flags} (it writes a predictor; run that one after)")
        if not args.output:
            raise UserError("--export needs --output DIR, the folder to write the export into")
    elif args.output and not (args.predict or args.evaluate):
        raise UserError("--output needs --predict INPUT or --evaluate DATA")
    from .batch_predict import check_flags
    from .insight.command import check_flags as check_explain_flags

    check_flags(args)
    check_explain_flags(args)
    if args.serve:
        clashing = [name for name in ("predict", "evaluate", "output", "events") if _given(args, name)
                    and not (name == "events" and args.events == "file")]
        if clashing:
            flags = ", ".join("--" + name for name in clashing)
            raise UserError(f"--serve cannot be combined with {flags} (a server answers its requests)")
    else:
        stray = [name for name in SERVE_FLAGS if _given(args, name)]
        if stray:
            flags = ", ".join("--" + name.replace("_", "-") for name in stray)
            raise UserError(f"{flags} belong{'s' * (len(stray) == 1)} to --serve (with --checkpoint RUN)")


def _check_output(path: Path) -> None:
    """Before any work: an --output that cannot be written is said at once, not after a long prediction."""
    if path.is_dir():
        raise UserError(f"{path}: --output is a folder; give a file name")
    if not path.parent.is_dir():
        raise UserError(f"{path}: --output's folder {path.parent} does not exist")


def _write_output(path: Path, write: Callable[[], Any]) -> Any:
    """Run ``write``; if it fails (a full disk), leave no partial file where there was none before."""
    existed = path.exists()
    try:
        return write()
    except OSError as exc:
        if not existed:
            path.unlink(missing_ok=True)
        raise UserError(f"{path}: cannot write --output ({exc.strerror or exc})") from None


def _train(task: Task, cfg: RunConfig, stream: EventStream, out: TextIO, *, run: Run | None = None,
           run_dir: str | None = None, resume: bool = False, listen: bool = False, notes=None) -> int:
    _load_training_libraries()
    from .runner import run_training

    run, results = run_training(task, cfg, stream, out, run=run, run_dir=run_dir, resume=resume, listen=listen,
                                notes=notes)
    if results is None:
        return 0
    if results["status"] == "interrupted":
        signum = signal.Signals[results["interrupted_by"]].value
        stream.emit("interrupted", signal=results.get("interrupted_by"), run_dir=str(run.path.resolve()),
                    epochs_completed=results["epochs_completed"], message=f"interrupted by {results.get('interrupted_by')}")
        print(f"error: interrupted by {results.get('interrupted_by')} after {results['epochs_completed']} epochs; "
              f"the last checkpoint is saved: --resume {run.path} continues", file=sys.stderr)
        return 128 + signum
    stream.emit("finished", status=results["status"], run_dir=str(run.path.resolve()), metrics=results["metrics"],
                baseline=results["baseline"], epochs_completed=results["epochs_completed"],
                fit_seconds=results["fit_seconds"], best_checkpoint=str(run.path / results["best_checkpoint"]))
    print(format_summary(results, run.path), file=out)
    return 0


#: run settings that say how to compute, not what was learnt: a trained run takes them anew (a prediction on a
#: busy machine is several times faster on one thread than on torch's default)
INFERENCE_SETTINGS = ("train.threads",)


def _use_trained(task: Task, source: Run | Path, saved: dict[str, Any], explicit: dict[str, Any], args,
                 out: TextIO, data_root: str | None, checkpoint_data: dict[str, Any] | None = None) -> int:
    if not (args.predict or args.evaluate or args.serve or args.export is not None):
        raise UserError("--checkpoint needs --predict INPUT, --evaluate DATA, --serve or --export FORMAT")
    changed = sorted(k for k in explicit if not k.startswith("options.") and k not in INFERENCE_SETTINGS)
    if changed:
        raise UserError(f"a trained run's model settings cannot change (not {', '.join(changed)})")
    output_path = Path(args.output) if args.output else None
    if args.export is not None:  # the format, the extra and the folder are checked before a model is loaded
        from .export import check_format, check_target

        check_format(args.export)
        check_target(output_path)
    elif output_path:
        _check_output(output_path)
    if args.serve:  # the extra and the flags are checked before a model is loaded
        from . import serve

        serve.require_serve_extra()
        settings = {"host": args.host or serve.DEFAULT_HOST,
                    "port": serve.DEFAULT_PORT if args.port is None else args.port,
                    "max_batch": serve.DEFAULT_MAX_BATCH if args.max_batch is None else args.max_batch,
                    "batch_wait_ms": serve.DEFAULT_BATCH_WAIT_MS if args.batch_wait_ms is None else args.batch_wait_ms}
        serve.check_settings(**settings)
        sock = serve.bind(settings["host"], settings["port"])  # a port in use is said before a model loads
    if args.batch:  # the input file, its columns and the output are checked before a model is loaded
        from .batch_predict import BatchJob

        batch = BatchJob.prepare(task, args.predict, output_path, config=saved, input_column=args.input_column,
                                 id_column=args.id_column, on_error=args.on_error, data_root=data_root,
                                 predict_batch=args.predict_batch)
    if args.explain:  # the task's support and Captum are checked before a model is loaded
        from .insight.command import check_task

        check_task(task)
    _load_training_libraries()
    from .trained import evaluate, for_inference, load_checkpoint_file, load_trained

    if isinstance(source, Run):
        cfg = build_run_config(task, file_data=for_inference(saved), file_name=str(source.config_path),
                               explicit=explicit, data_root=data_root)
        trained = load_trained(task, cfg, source)
    else:
        trained = load_checkpoint_file(source, explicit, data_root, ckpt=checkpoint_data)
    if "train.threads" in explicit and trained.cfg.train.threads:
        import torch

        torch.set_num_threads(trained.cfg.train.threads)
    if args.serve:
        return serve.serve(trained, out=out, sock=sock, **settings)
    if args.export is not None:
        from .export import export_run

        files = export_run(trained, args.export, output_path)
        print(f"exported {task.name} as {args.export} to {output_path}: {', '.join(files)}", file=out)
        print(f"predict with: python {output_path / 'predict.py'} INPUT [--output FILE]", file=out)
        return 0
    if args.batch:
        summary = batch.run(trained.model)
        print(summary.line(), file=out if output_path else sys.stderr)  # without --output, stdout holds the answers
        return 1 if summary.internal_errors else 0
    if args.explain:
        from .insight.command import explain_prediction

        return explain_prediction(task, trained.model, args, output_path, out)
    if args.predict is not None:
        try:
            prediction = task.predict(trained.model, args.predict)
        except NotImplementedError:
            raise UserError(f"task '{task.name}' does not answer --predict") from None
        if output_path:
            # a task may write several files
            written = _write_output(output_path, lambda: task.save_prediction(prediction, output_path))
            print(f"wrote {', '.join(map(str, written)) if written else output_path}", file=out)
        else:
            print(task.render_prediction(prediction), file=out)
    if args.evaluate:
        from .config import resolve_data_path

        data = resolve_data_path(args.evaluate, data_root)
        try:
            report = evaluate(trained, data)
        except NotImplementedError:
            raise UserError(f"task '{task.name}' cannot --evaluate other data") from None
        text = dumps_strict(report, indent=2)
        if output_path:
            write_text_atomic(output_path, text + "\n")
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
    """The model's metrics beside the naive baseline's and the strong baseline's: a line of group names over
    a val and a test column each (test alone where ``val`` is None, as in --evaluate)."""
    splits = (["val"] if val is not None else []) + ["test"]
    groups: list[tuple[str, dict[str, Any]]] = [("model", {"val": val or {}, "test": test})]
    if baseline:
        groups.append((f"naive baseline: {baseline['name']}", baseline))
        strong = baseline.get("strong")
        entry = (baseline.get("others") or {}).get(strong) if strong else None
        if isinstance(entry, dict):
            groups.append((f"strong baseline: {strong}", entry))
    rows = [["metric"] + splits * len(groups)]
    for name in test:
        rows.append([name] + [_fmt((scores.get(split) or {}).get(name)) for _, scores in groups for split in splits])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    n = len(splits)
    for g, (label, _) in enumerate(groups):  # a group's name may be wider than its columns: widen the last
        span = sum(widths[1 + g * n: 1 + (g + 1) * n]) + 2 * (n - 1)
        widths[(g + 1) * n] += max(0, len(label) - span)
    spans = [sum(widths[1 + g * n: 1 + (g + 1) * n]) + 2 * (n - 1) for g in range(len(groups))]
    top = "  ".join([" " * widths[0]] + [label.ljust(w) for (label, _), w in zip(groups, spans)]).rstrip()
    return "\n".join([top] + ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows])


def strong_baseline_line(baseline: dict[str, Any] | None) -> str | None:
    """What the strong baseline is and what it cost, or why it is missing; None where none was asked for."""
    if not baseline:
        return None
    strong, note = baseline.get("strong"), baseline.get("strong_note")
    entry = (baseline.get("others") or {}).get(strong) if strong else None
    if isinstance(entry, dict):
        seconds = entry.get("fit_seconds")
        cost = f" ({_fmt(float(seconds))} s)" if isinstance(seconds, (int, float)) else ""
        return f"strong baseline: {strong}: {entry.get('description') or 'fitted in this run'}{cost}"
    return f"strong baseline: {note}" if note else None


def format_summary(results: dict[str, Any], run_dir: Path | None = None) -> str:
    lines = [
        f"{results['task']} {results['status']}: {results['epochs_completed']} epochs in "
        f"{results['fit_seconds']:.1f} s, {_fmt(results['train_samples_per_second'])} samples/s, "
        f"{results['parameters']:,} parameters",
        format_metrics_table(results["metrics"]["test"], results["metrics"]["val"], results["baseline"]),
    ]
    strong = strong_baseline_line(results.get("baseline"))
    if strong:
        lines.append(strong)
    lines.append(f"preset: {results.get('preset') or 'none (the plain defaults)'}")
    if results.get("test_split") != "test":
        lines.append(f"test split: {results['test_split']}")
    lines.append(f"best checkpoint: {Path(run_dir or '.') / results['best_checkpoint']}")
    if results.get("outputs"):
        lines.append("outputs: " + ", ".join(results["outputs"]))
    from .insight.verdicts import summary_lines  # pure Python: no torch

    lines.extend(summary_lines(results.get("diagnostics")))
    return "\n".join(lines)

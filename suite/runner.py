"""One run from a resolved configuration to its results: what ``main.py --task`` and ``suite.api.train``
both do, so a run started from code is the same run as one started from a shell."""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

from .config import RunConfig, describe_preset
from .events import EventStream
from .run_notes import RunNotes, write_notes
from .runs import RUN_DIR_ENV, Run
from .task import Task


def run_training(task: Task, cfg: RunConfig, stream: EventStream, out: TextIO, *, run: Run | None = None,
                 run_dir: str | None = None, resume: bool = False, listen: bool = False,
                 notes: RunNotes | None = None) -> tuple[Run, dict[str, Any] | None]:
    """Set up, train and test one run (or resume one); returns it with its results (None off rank zero).

    Bad data or settings fail before a run folder exists; a failed setup removes only what it made.
    ``notes``: the new run's name and tags (--run-name, --tag), written into it once it is set up."""
    from .training import fit_and_test, is_rank_zero_process, prepare_fit

    datamodule = task.datamodule(cfg)
    datamodule.setup("fit")  # bad data fails here, before a run directory exists
    rank_zero = is_rank_zero_process()
    new_run = run is None
    if new_run:
        run = Run.create(task.name, task.slug(cfg), run_dir) if rank_zero else Run(run_dir or os.environ[RUN_DIR_ENV])
    elif rank_zero:
        run.claim()  # a resumed run: no second process may resume it at the same time
    try:
        session = prepare_fit(task, cfg, run, stream, datamodule, listen_stdin=listen and rank_zero,
                              show_progress=rank_zero and sys.stderr.isatty())
        if rank_zero:
            run.write_config(cfg.to_yaml())
            stream.attach(run.path)
    except BaseException:
        if new_run and rank_zero:  # nothing was trained: leave no run behind, and nothing of the user's lost
            stream.close()
            for name in ("events.jsonl", "metrics.csv", "config.yaml"):
                (run.path / name).unlink(missing_ok=True)  # create() refused a folder that held any of them
            run.discard()
        run.release()
        raise
    if rank_zero:
        os.environ[RUN_DIR_ENV] = str(run.path)  # DDP workers re-run this command; they must join this run
        if notes is not None and new_run:
            write_notes(run.path, notes)
        if resume:
            run.results_path.unlink(missing_ok=True)  # a resumed run is not finished until it says so again
        print(f"{'resuming' if resume else 'run'}: {run.path}", file=out, flush=True)
        if not resume:  # said at the start, not after hours; only once the data has been read
            print(describe_preset(cfg, task.presets), file=out, flush=True)
    else:
        stream.to_stdout = False
    try:
        results = fit_and_test(session, resume=resume)
    finally:
        run.release()
    return run, results

"""Batch prediction: ``--checkpoint RUN --predict FILE --batch [--output OUT.jsonl|OUT.csv]``.

Every input of FILE (one per line, or a table's rows: :mod:`suite.batch_inputs`) is answered by one loaded
model, ``CHUNK`` inputs at a time through the task's ``predict_many`` (one batched forward pass where the
task has one, ``predict`` per input where not), and written as it comes (:mod:`suite.batch_output`).

A line that cannot be read or answered is said on standard error as ``FILE:LINE: what was wrong`` and,
with ``--on-error skip`` (the default: a long job is not lost to one bad line, and nothing is dropped
silently), written as an error record in its place; with ``--on-error fail`` the run stops there with
exit code 2, the answers before it written. When a chunk fails, its halves are asked again, down to
the bad inputs, so only those fail (the server asks a failed micro-batch again one input at a time).

This module imports neither torch nor pandas until a job runs: the CLI checks its flags with it.
"""

from __future__ import annotations

import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, TextIO

from .errors import DataError, UserError

if TYPE_CHECKING:
    from .batch_inputs import BatchSource, Item
    from .batch_output import Sink
    from .task import Task

#: inputs read, answered and written at once. Not a model batch size: sentiment and tagging split a chunk
#: into their own batches (--predict-batch; 64 by default). A chunk is sorted by length first, so those
#: batches pad little; a failed chunk is halved until the bad inputs are found.
CHUNK = 1024
ON_ERROR = ("skip", "fail")
DEFAULT_ON_ERROR = "skip"
#: warnings printed for bad lines, at most; every one is in the output either way
MAX_WARNINGS = 100
#: how often a job whose standard error is not a terminal (a log file) says how far it is, in seconds
LOG_EVERY_S = 60.0
TEXT_KINDS = ("text", "tokens", "text_pair")
#: the batch flags (argparse names) that mean nothing without --batch
BATCH_ONLY = ("input_column", "id_column", "on_error", "predict_batch")
#: --predict-batch at most: a forward pass of more texts only costs memory (sentiment: ~1 KB per text and step)
MAX_PREDICT_BATCH = 1 << 16


def check_predict_batch(value: Any, name: str = "--predict-batch") -> int | None:
    """The model batch size asked for (None: the task's own default), or a one-line error."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PREDICT_BATCH:
        raise UserError(f"{name}: expected a whole number of inputs per forward pass from 1 to {MAX_PREDICT_BATCH:,}, "
                        f"got {value!r}")
    return value


def check_flags(args: Any) -> None:
    """The command line's misuses of batch mode, each said in one line before anything is loaded."""
    given = [name for name in BATCH_ONLY if getattr(args, name, None) is not None]
    output = getattr(args, "output", None)
    if not args.batch:
        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            raise UserError(f"{flags} belong{'s' * (len(given) == 1)} to batch prediction: add --batch "
                            f"(--predict FILE --batch)")
        if args.predict is not None and output and Path(output).suffix.lower() == ".jsonl":
            raise UserError(f"{output}: JSON lines hold one answer per input; add --batch to answer every input "
                            f"of --predict FILE (without it, --predict answers one input)")
        return
    if args.predict is None:
        raise UserError("--batch needs --predict FILE: a file of inputs, one per line or a table's rows")
    for flag in ("evaluate", "serve", "explain", "export"):
        if getattr(args, flag, None) not in (None, False):
            raise UserError(f"--batch cannot be combined with --{flag}")
    if output:
        from .batch_output import FORMATS

        if Path(output).suffix.lower() not in FORMATS:
            raise UserError(f"{output}: --batch writes JSON lines (.jsonl) or CSV (.csv); name --output so, or "
                            f"leave it out for JSON lines on standard output")
    elif getattr(args, "events", "file") == "stdout":
        raise UserError("--batch with --events stdout needs --output FILE (standard output carries the events)")
    if getattr(args, "on_error", None) not in (None, *ON_ERROR):
        raise UserError(f"--on-error: expected skip or fail, got {args.on_error!r}")
    check_predict_batch(getattr(args, "predict_batch", None))


@dataclass
class Summary:
    """What a batch job did."""

    source: str
    output: str | None
    inputs: int = 0
    answered: int = 0
    errors: int = 0
    internal_errors: int = 0
    blank_lines: int = 0
    seconds: float = 0.0
    first_error: str | None = None

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "output": self.output, "inputs": self.inputs, "answered": self.answered,
                "errors": self.errors, "internal_errors": self.internal_errors, "blank_lines": self.blank_lines,
                "seconds": round(self.seconds, 3), "inputs_per_second": round(self.rate, 1)}

    def line(self) -> str:
        where = self.output or "standard output"
        blank = f", {plural(self.blank_lines, 'blank line')} passed over" if self.blank_lines else ""
        bugs = (f"; {plural(self.internal_errors, 'error')} of them a bug in the task (the traceback is above)"
                if self.internal_errors else "")
        return (f"wrote {where}: {plural(self.answered, 'answer')} and {plural(self.errors, 'error')} for "
                f"{plural(self.inputs, 'input')} of {self.source}{blank}, in {self.seconds:.1f} s "
                f"({self.rate:,.0f} inputs/s){bugs}")


class _Stop(Exception):
    """--on-error fail met a bad line."""

    def __init__(self, message: str, internal: BaseException | None = None):
        super().__init__(message)
        self.internal = internal


@dataclass
class _Outcome:
    prediction: Any = None
    error: str | None = None
    internal: BaseException | None = None


@dataclass
class BatchJob:
    """One file of inputs and where its answers go, checked; ``run`` answers them with a loaded model."""

    task: Task
    source: BatchSource
    output: Path | None
    format: str
    on_error: str = DEFAULT_ON_ERROR
    #: inputs per forward pass, for a task whose predict_many takes ``batch_size`` (None: the task's default)
    predict_batch: int | None = None
    warnings: int = field(default=0, init=False)

    @classmethod
    def prepare(cls, task: Task, path: str, output: str | Path | None = None, *, config: dict[str, Any] | None = None,
                input_column: str | None = None, id_column: str | None = None, on_error: str | None = None,
                data_root: str | None = None, predict_batch: int | None = None) -> BatchJob:
        """``config``: the trained run's settings (its text column is tried for a table's inputs).
        ``predict_batch``: inputs per forward pass (None: the task's own default)."""
        from .batch_inputs import BatchSource
        from .batch_output import output_format
        from .config import resolve_data_path

        predict_batch = check_predict_batch(predict_batch, "predict_batch")
        on_error = on_error or DEFAULT_ON_ERROR
        if on_error not in ON_ERROR:
            raise UserError(f"on_error: expected skip or fail, got {on_error!r}")
        out = Path(output) if output is not None else None
        fmt = "jsonl"
        if out is not None:
            fmt = output_format(out)
            if fmt is None:
                raise UserError(f"{out}: batch answers are written as JSON lines (.jsonl) or CSV (.csv)")
            if out.is_dir():
                raise UserError(f"{out}: --output is a folder; give a file name")
            if not out.parent.is_dir():
                raise UserError(f"{out}: --output's folder {out.parent} does not exist")
        options = (config or {}).get("options") or {}
        column = options.get("text_column")
        preferred = (column,) if isinstance(column, str) and column and column != "auto" else ()
        resolved = Path(resolve_data_path(path, data_root))
        source = BatchSource.open(resolved, name=path, input_column=input_column, id_column=id_column,
                                  preferred=preferred, structured=task.input_kind not in TEXT_KINDS)
        if out is not None and _same_file(out, resolved):
            raise UserError(f"{out}: --output is the input file itself; give another name")
        job = cls(task, source, out, fmt, on_error, predict_batch)
        if predict_batch is not None and not job.takes_batch_size:
            raise UserError(f"--predict-batch: task '{task.name}' sets its own forward passes (only a task whose "
                            f"predict_many takes batch_size, such as sentiment, has this setting)")
        return job

    @property
    def text_only(self) -> bool:
        """Text tasks read each input as the text itself: a review that happens to name a file is not opened."""
        return self.task.input_kind in TEXT_KINDS

    def run(self, model: Any, *, log: TextIO | None = None, progress: bool | None = None,
            chunk_size: int = CHUNK) -> Summary:
        """Answer every input. Raises UserError for ``--on-error fail`` at a bad line (the answers before it
        written), and when no input could be answered at all (every error written)."""
        from .batch_output import open_sink

        log = log if log is not None else sys.stderr
        summary = Summary(self.source.name, str(self.output) if self.output else None)
        sink = open_sink(self.output, self.format, self.task.output_kind, warn=log)
        bar = _Progress(self.source, log, progress)
        start = time.perf_counter()
        try:
            # a chunk holds at least one forward pass: the inputs it holds are what gets sorted by length
            for chunk in _chunks(self.source, max(1, chunk_size, self.predict_batch or 1)):
                self._answer(model, chunk, sink, summary, bar)
                sink.flush()
                bar.update(chunk[-1].position)
        except _Stop as stop:
            bar.close()
            summary.blank_lines = self.source.blank_lines
            sink.finish()
            kept = f"; {plural(sink.written, 'answer')} before it, in {self.output or 'standard output'}"
            if stop.internal is not None:
                print(f"error: {stop}{kept}", file=log)
                raise stop.internal
            raise UserError(f"{stop} (--on-error fail){kept}") from None
        except BaseException:
            bar.close()
            kept = sink.abandon()
            if kept is not None and sink.written:
                print(f"{plural(sink.written, 'answer')} so far in {kept}, each line whole ({self.output} is "
                      f"left as it was)", file=log)
            elif kept is not None:
                kept.unlink(missing_ok=True)
            raise
        bar.close()
        summary.seconds = time.perf_counter() - start
        summary.blank_lines = self.source.blank_lines
        if summary.inputs == 0:
            kept = sink.abandon()
            if kept is not None:
                kept.unlink(missing_ok=True)
            raise DataError(self.source.name, "no inputs in it (only blank lines)" if summary.blank_lines
                            else "no inputs in it")
        sink.finish()
        if summary.answered == 0 and not summary.internal_errors:
            raise UserError(f"none of the {summary.inputs:,} inputs of {self.source.name} could be answered; the "
                            f"first: {summary.first_error} (every error is in {self.output or 'the output'})")
        return summary

    # --- one chunk --------------------------------------------------------------------------------------
    def _answer(self, model: Any, chunk: list[Item], sink: Sink, summary: Summary, bar: _Progress) -> None:
        from .batch_output import record

        if self.on_error == "fail":  # nothing after the first unreadable line is worth answering
            bad = next((i for i, item in enumerate(chunk) if item.error is not None), None)
            chunk = chunk if bad is None else chunk[:bad + 1]
        readable = [item for item in chunk if item.error is None]
        outcomes = dict(zip(map(id, readable), self._outcomes(model, readable)))
        with_id = self.source.id_column is not None
        for item in chunk:
            outcome = outcomes.get(id(item))
            if outcome is None and item.error is None:
                break  # --on-error fail: not asked, an earlier input failed
            error = item.error if outcome is None else outcome.error
            summary.inputs += 1
            if error is None:
                sink.write(record(item.line, item.shown_input, ident=item.id, with_id=with_id,
                                  prediction=outcome.prediction))
                summary.answered += 1
                continue
            where = f"{self.source.name}:{item.line}" if self.source.unit == "line" else \
                f"{self.source.name}: row {item.line}"
            internal = outcome.internal if outcome is not None else None
            if self.on_error == "fail":
                raise _Stop(f"{where}: {error}", internal)
            summary.errors += 1
            summary.first_error = summary.first_error or f"{where}: {error}"
            if internal is not None:
                summary.internal_errors += 1
                if summary.internal_errors == 1:
                    bar.say(f"error: {where}: a bug in the {self.task.name} task's prediction:\n"
                            + "".join(traceback.format_exception(internal)).rstrip())
            self._warn(bar, f"{where}: {error}")
            sink.write(record(item.line, item.shown_input, ident=item.id, with_id=with_id, error=error))

    def _outcomes(self, model: Any, readable: list[Item]) -> list[_Outcome]:
        inputs = [item.input for item in readable]
        if not self.batched:  # predict per input anyway: asked one at a time, a bad input costs nothing more
            outcomes = []
            for raw in inputs:
                outcomes.append(self._solve(model, [raw])[0])
                if self.on_error == "fail" and outcomes[-1].error is not None:
                    break
            return outcomes
        # shortest first: the task's own batches then hold texts of about one length (little padding); the
        # answers do not depend on the order (each equals predict's for that input)
        order = sorted(range(len(inputs)), key=lambda i: len(inputs[i]))
        solved = self._solve(model, [inputs[i] for i in order])
        outcomes: list[_Outcome] = [None] * len(inputs)  # type: ignore[list-item]
        for at, outcome in zip(order, solved):
            outcomes[at] = outcome
        return outcomes

    def _solve(self, model: Any, inputs: list[str]) -> list[_Outcome]:
        """Answers to ``inputs`` in one call; if it fails, each half asked alone, down to the bad inputs
        (a chunk with one bad line costs about two passes, not one call per input)."""
        if not inputs:
            return []
        try:
            return [_Outcome(p) for p in self._call(model, inputs)]
        except _Whole as whole:
            raise whole.error from None
        except UserError as exc:
            if len(inputs) == 1:
                return [_Outcome(error=_message(exc))]
        except Exception as exc:  # noqa: BLE001 - a bug for some input: found, reported, the rest go on
            if len(inputs) == 1:
                return [_Outcome(error=f"internal error ({type(exc).__name__}: {_message(exc)})", internal=exc)]
        middle = len(inputs) // 2
        return self._solve(model, inputs[:middle]) + self._solve(model, inputs[middle:])

    @property
    def batched(self) -> bool:
        """Whether the task answers many inputs in one pass (it overrides ``Task.predict_many``)."""
        from .task import Task

        return type(self.task).predict_many is not Task.predict_many

    @property
    def takes_batch_size(self) -> bool:
        """Whether the task's predict_many takes ``batch_size`` (its own batches; sentiment's does)."""
        import inspect

        return "batch_size" in inspect.signature(self.task.predict_many).parameters

    def _call(self, model: Any, inputs: list[str]) -> list[Any]:
        import torch

        options = {"batch_size": self.predict_batch} if self.predict_batch and self.takes_batch_size else {}
        try:
            with torch.inference_mode():
                answers = list(self.task.predict_many(model, inputs, files=not self.text_only, **options))
        except NotImplementedError:
            raise _Whole(UserError(f"task '{self.task.name}' does not answer predictions")) from None
        if len(answers) != len(inputs):
            raise _Whole(RuntimeError(f"{self.task.name}.predict_many answered {len(answers)} of {len(inputs)} "
                                      f"inputs"))
        return answers

    def _warn(self, bar: _Progress, message: str) -> None:
        self.warnings += 1
        if self.warnings <= MAX_WARNINGS:
            bar.say(f"warning: {message} (skipped)")
        elif self.warnings == MAX_WARNINGS + 1:
            bar.say(f"warning: more inputs failed; not shown here, each has its error in "
                    f"{self.output or 'its record'}")


class _Whole(Exception):
    """A failure of the whole job, not of one input (the task cannot predict at all, or broke its contract)."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _message(exc: BaseException) -> str:
    """One line, without the ``--predict:`` a task puts before a single input's message."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text.removeprefix("--predict: ")


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and a.resolve() == b.resolve()
    except OSError:
        return False


class _Progress:
    """A bar on a terminal (tqdm, shown once the work takes over a second); in a log, a line a minute."""

    def __init__(self, source: BatchSource, stream: TextIO, enabled: bool | None):
        self.source, self.stream = source, stream
        self.bar = None
        self.started = self.last = time.monotonic()
        self.done = 0
        tty = bool(getattr(stream, "isatty", lambda: False)())
        self.lines = enabled is None and not tty
        if enabled or (enabled is None and tty):
            from tqdm import tqdm

            self.bar = tqdm(total=source.total, unit=f" {source.unit}s", file=stream, delay=1.0, leave=False,
                            dynamic_ncols=True, unit_scale=False, desc=Path(source.name).name)

    def update(self, position: int) -> None:
        step, self.done = position - self.done, position
        if self.bar is not None:
            self.bar.update(step)
        elif self.lines and time.monotonic() - self.last >= LOG_EVERY_S:
            self.last = time.monotonic()
            total = self.source.total or 0
            share = f" ({position / total:.0%})" if total else ""
            rate = position / max(self.last - self.started, 1e-9)
            print(f"{self.source.name}: {position:,} of {total:,} {self.source.unit}s{share}, "
                  f"{rate:,.0f} {self.source.unit}s/s", file=self.stream, flush=True)

    def say(self, message: str) -> None:
        if self.bar is not None:
            self.bar.write(message, file=self.stream)
        else:
            print(message, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

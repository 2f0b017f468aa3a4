"""A look at a run's data before the run: the first rows or sentences, the columns or tags found, the
split sizes. ``python -m suite.preview --task NAME [its flags]`` prints it; ``--json`` gives the window
one JSON object (the window runs this as a child, so a large file never stalls its event loop).

A task previews its data through a ``preview(cfg, rows)`` method, or a ``preview`` function in the
``preview`` module beside its task module (``tasks/forecast/preview.py``), returning a :class:`Preview`.
It reads with the task's own readers and column detection, so what it shows is what a run would use.
Nothing here reaches the network: a Hugging Face name is previewed only from the local cache.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from .config import RunConfig, build_run_config
from .errors import UserError

ROWS = 5  # first rows or sentences shown
#: a table larger than this is read only in part (its first rows); its split sizes wait for the run
WHOLE_FILE_BYTES = 256 * 2**20


@dataclass
class Split:
    name: str  # train, val, test
    size: int | None  # examples, rows, sentences, pairs or pieces (None: known when a run reads it)
    unit: str = "rows"
    origin: str = ""  # the file it comes from, or how it is carved ("0.2 of training, seeded")
    span: str = ""  # for a series with a time column: its first and last time


@dataclass
class Preview:
    source: str  # what was read: a file, a folder, a built-in name
    kind: str = "table"  # table, sentences, pairs, music, builtin, hub
    header: list[str] = field(default_factory=list)  # the first rows' column names
    rows: list[list[str]] = field(default_factory=list)  # the first rows, or a sentence's tokens per row
    columns: list[str] = field(default_factory=list)  # every column found
    used: dict[str, str] = field(default_factory=dict)  # column a run would use -> its role (text, label, ...)
    found_name: str = ""  # what ``found`` counts: labels, tags, pieces
    found: dict[str, int] = field(default_factory=dict)  # label or tag -> count in the training split
    splits: list[Split] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # one line each: what was left out or only named

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Preview":
        data = dict(data)
        data["splits"] = [Split(**s) for s in data.get("splits", [])]
        return cls(**data)


def shown(value: Any, width: int = 60) -> str:
    """One cell as text, cut to ``width`` characters."""
    text = "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def first_rows_of_large(source: str, rows: int = 1000) -> "tuple[Any, str] | None":
    """For a local CSV/TSV table over :data:`WHOLE_FILE_BYTES`: its first ``rows`` rows and a note saying
    so; None for any other source, which the task's reader reads whole."""
    from .data.tables import table_format

    path = Path(source)
    try:
        size = path.stat().st_size if path.is_file() else 0
    except OSError:
        return None
    fmt = table_format(path)
    if size <= WHOLE_FILE_BYTES or fmt not in ("csv", "tsv"):
        return None
    import pandas as pd

    from .errors import DataError

    try:
        frame = pd.read_csv(path, sep="\t" if fmt == "tsv" else ",", nrows=rows, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        raise DataError(source, f"cannot read as {fmt.upper()}: {str(exc).strip().splitlines()[0]}") from None
    return frame, (f"{size / 2**20:,.0f} MB: only its first {len(frame):,} rows were read here; the split "
                   "sizes are known when a run reads it whole")


def hub_cache_entry(name: str) -> Path | None:
    """Where the Hugging Face caches hold the dataset ``name`` (``owner/name``), if they hold it."""
    hf_home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface").expanduser()
    datasets_cache = Path(os.environ.get("HF_DATASETS_CACHE") or hf_home / "datasets").expanduser()
    hub_cache = Path(os.environ.get("HF_HUB_CACHE") or hf_home / "hub").expanduser()
    for place in (datasets_cache / name.replace("/", "___"), hub_cache / ("datasets--" + name.replace("/", "--"))):
        try:
            if place.is_dir():
                return place
        except OSError:
            continue
    return None


def hub_preview(name: str, read: Callable[[], Preview]) -> Preview:
    """A Hub dataset previewed from the local cache by ``read``, or named only: a preview never downloads."""
    cached = hub_cache_entry(name)
    if cached is None:
        return Preview(name, kind="hub", notes=[f"Hugging Face dataset {name}: previewed when a run loads it "
                                                "(not in the local cache)"])
    preview = read()
    preview.notes.insert(0, f"Hugging Face dataset {name}, from the local cache ({cached})")
    return preview


def preview_function(task: Any) -> Callable[[RunConfig, int], Preview] | None:
    """The task's preview: its ``preview`` method, else ``preview()`` of the module ``preview`` beside it."""
    method = getattr(task, "preview", None)
    if callable(method):
        return method
    package = type(task).__module__.rpartition(".")[0]
    if not package:
        return None
    try:
        module = importlib.import_module(f"{package}.preview")
    except ModuleNotFoundError as exc:
        if exc.name == f"{package}.preview":
            return None
        raise
    return getattr(module, "preview", None)


def preview_data(task: Any, cfg: RunConfig, rows: int = ROWS) -> Preview | None:
    """The data ``cfg`` names, as the task reads it; None where the task has no preview."""
    function = preview_function(task)
    return None if function is None else function(cfg, rows)


def render(preview: Preview) -> str:
    """The preview as the terminal shows it."""
    lines = [f"data: {preview.source}"]
    lines += preview.notes
    if preview.columns:
        used = preview.used
        lines.append("columns: " + ", ".join(f"{c} ({used[c]})" if c in used else c for c in preview.columns))
    elif preview.used:
        lines.append("uses: " + ", ".join(f"{name} ({role})" for name, role in preview.used.items()))
    if preview.rows:
        widths = [max(len(shown(r[i], 40)) for r in [preview.header, *preview.rows] if i < len(r))
                  for i in range(max(len(r) for r in [preview.header, *preview.rows]))]
        for row in ([preview.header] if preview.header else []) + preview.rows:
            lines.append("  " + "  ".join(shown(v, 40).ljust(w) for v, w in zip(row, widths)).rstrip())
    if preview.found:
        total = sum(preview.found.values())
        items = sorted(preview.found.items(), key=lambda kv: -kv[1])
        lines.append(f"{preview.found_name or 'values'} ({len(items)}): " + ", ".join(
            f"{k} {v / total:.0%}" if total else k for k, v in items[:20]) + (" …" if len(items) > 20 else ""))
    for split in preview.splits:
        size = "unknown until a run reads it" if split.size is None else f"{split.size:,} {split.unit}"
        extra = "; ".join(x for x in (split.span, split.origin) if x)
        lines.append(f"{split.name}: {size}" + (f" ({extra})" if extra else ""))
    return "\n".join(lines)


#: the worker's answer lines start with this; anything else on its standard output is a reader's chatter
ANSWER = "preview: "


def _parser(task: Any | None = None, add_help: bool = True):
    from .cli import _Parser, add_config_arguments

    parser = _Parser(prog="python -m suite.preview", add_help=add_help,
                     description="Show the first rows or sentences of a task's data, the columns or tags found "
                                 "and the split sizes a run would use; reads local files only.")
    parser.add_argument("--task", metavar="NAME", required=True, help="the task whose data to preview")
    parser.add_argument("--preset", metavar="NAME", help="a preset of the task ('none': the plain defaults)")
    parser.add_argument("--data-root", metavar="DIR", help="where relative data paths are also looked up "
                                                           "(default $RNN_SUITE_DATA)")
    parser.add_argument("--rows", type=int, default=ROWS, metavar="N", help=f"rows shown (default {ROWS})")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--serve", action="store_true",
                        help="answer requests, one JSON object {id, args} a line on standard input, each with one "
                             f"line '{ANSWER}JSON' (the window's worker: the libraries are imported once)")
    if task is not None:
        add_config_arguments(parser, task)
    return parser


def preview_for_args(argv: list[str]) -> Preview:
    """The preview the command line ``argv`` (``--task NAME`` and its flags) asks for."""
    from .registry import get_task

    known, _ = _parser(add_help=False).parse_known_args(argv)  # --help waits for the task's own flags
    task = get_task(known.task)
    args = _parser(task).parse_args(argv)
    if args.rows < 1:
        raise UserError(f"--rows: expected a count of at least 1, got {args.rows}")
    explicit = {k: v for k, v in vars(args).items() if "." in k}
    cfg = build_run_config(task, preset=args.preset, explicit=explicit, data_root=args.data_root)
    preview = preview_data(task, cfg, args.rows)
    if preview is None:
        raise UserError(f"task '{task.name}' has no data preview")
    return preview


def answer(argv: list[str]) -> dict[str, Any]:
    """One request's answer as JSON-ready data: the preview, or ``{"error": one line}``."""
    try:
        return preview_for_args(argv).to_dict()
    except UserError as exc:
        return {"error": str(exc)}
    except SystemExit:  # --help in a request: argparse printed it
        return {"error": "not a preview request (--help)"}
    except Exception as exc:  # a bug in a task's preview: said, and the worker keeps serving
        import traceback

        traceback.print_exc()
        return {"error": f"the preview failed: {type(exc).__name__}: {exc}"}


def serve(requests, out) -> None:
    """Answer each request line ``{"id": N, "args": [...]}`` with ``preview: {"id": N, ...}``, until EOF."""
    for line in requests:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            ident, argv = request["id"], [str(a) for a in request["args"]]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            ident, result = None, {"error": f"not a preview request ({exc})"}
        else:
            result = answer(argv)
        out.write(ANSWER + json.dumps({"id": ident, **result}, default=str) + "\n")
        out.flush()


def main(argv: list[str] | None = None) -> int:
    # a preview reads what is on this machine: the Hub libraries answer from their cache or not at all
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    from .errors import exit_on_user_error

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (("-h" in argv or "--help" in argv) and "--task" not in argv):
        print(_parser().format_help() + "\nAdd --task NAME --help for that task's flags.")
        return 0
    if argv == ["--serve"]:
        try:  # the window's worker yields the cores to a training run and to the window itself
            os.nice(10)
        except (AttributeError, OSError):
            pass
        serve(sys.stdin, sys.stdout)
        return 0
    if "--json" in argv:  # an error is the same one line of JSON
        result = answer(argv)
        print(json.dumps(result, default=str))
        return 2 if "error" in result else 0

    def run() -> int:
        print(render(preview_for_args(argv)))
        return 0
    return exit_on_user_error(run)


if __name__ == "__main__":
    sys.exit(main())

"""The shared runtime of every exported predictor: its command line, --output checks and writing, errors,
and its networks' sessions (onnxruntime for ``NAME.onnx``, TorchScript for ``NAME.pt``).

Copied beside every exported ``predict.py`` as ``_runtime.py``; each task's predict.py keeps only its task's
logic (reading an input, running its networks, the answer). It imports only the standard library and numpy
at the top; onnxruntime or torch is imported only for the format found, so an ONNX export runs where torch
is not installed. Both sessions answer ``run(output_names, feeds)`` as onnxruntime's InferenceSession
does: ``feeds`` maps input names to numpy arrays, the result is a list of numpy arrays.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

#: beside a TorchScript network: its input and output names, which a traced module does not keep
SIGNATURE_SUFFIX = ".signature.json"
#: the export's preprocessing state, beside predict.py
SETTINGS = "preprocessing.json"


class InputError(Exception):
    """Bad input or flags: said in one line (``error: ...``) with exit code 2, as the suite's command line."""


# --- the command line -------------------------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    """argparse with the suite's one-line errors and exit code 2."""

    def error(self, message):
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def parser(description: str, input_help: str, output_help: str, metavar: str = "INPUT") -> Parser:
    """``predict.py INPUT [--output FILE]``; a task adds its own flags."""
    made = Parser(prog="predict.py", description=description)
    made.add_argument("input", metavar=metavar, help=input_help)
    made.add_argument("--output", metavar="FILE", help=output_help)
    return made


def bounded(kind: type, low: float, high: float, low_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a number of ``kind`` from ``low`` (above it, ``low_open``) to ``high``."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got "
                                             f"{text!r}") from None
        if not ((low < value) if low_open else (low <= value)) or not value <= high:
            raise argparse.ArgumentTypeError(f"must be {'above' if low_open else 'from'} {low:g}"
                                             f"{' and at most' if low_open else ' to'} {high:g}, got {text}")
        return value

    return parse


def output_path(value: str | None) -> Path | None:
    """--output as a path, checked before any work: a file name in a folder that exists."""
    if not value:
        return None
    path = Path(value)
    if path.is_dir():
        raise InputError(f"{path}: --output is a folder; give a file name")
    if not path.absolute().parent.is_dir():
        raise InputError(f"{path}: --output's folder {path.parent} does not exist")
    return path


def read_settings(folder: Path) -> dict:
    """The export's preprocessing.json."""
    return json.loads((Path(folder) / SETTINGS).read_text(encoding="utf-8"))


# --- writing the answer -----------------------------------------------------------------------------------
def write_json(path: Path, value) -> None:
    """The whole answer as JSON (indented), as the suite's --output FILE.json writes it."""
    _write(path, lambda handle: handle.write(json.dumps(value, indent=2) + "\n"))


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    _write(path, lambda handle: _csv(handle, header, rows))


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    """The same table as write_csv writes, as text (printed when there is no --output)."""
    buffer = io.StringIO()
    _csv(buffer, header, rows)
    return buffer.getvalue()


def _csv(handle, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    writer = csv.writer(handle)
    writer.writerow(header)
    writer.writerows(rows)


def _write(path: Path, fill: Callable) -> None:
    existed = path.exists()
    try:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            fill(handle)
    except OSError as exc:
        if not existed:  # no half-written file of ours is left behind
            path.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write --output ({exc.strerror or exc})") from None


def answer(work: Callable[[], None]) -> int:
    """Run ``work``; an InputError is one ``error:`` line on standard error and exit code 2."""
    try:
        work()
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def run(main: Callable[[], int]) -> None:
    """``sys.exit(main())``; a reader that stops early (``| head``) ends it quietly, without a traceback."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    sys.exit(code)


# --- the networks -----------------------------------------------------------------------------------------
def threads() -> int:
    """Intra-op threads: $RNN_SUITE_THREADS, else 1 (one input at a time is fastest on one thread)."""
    return max(1, int(os.environ.get("RNN_SUITE_THREADS", "1")))


class OnnxSession:
    def __init__(self, path: Path):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads()
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, output_names, feeds):
        # the exporter drops an input the graph never reads (a tagger without character features)
        return self.session.run(output_names, {k: v for k, v in feeds.items() if k in self.input_names})


class TorchScriptSession:
    def __init__(self, path: Path):
        import torch

        torch.set_num_threads(threads())
        self.torch = torch
        self.module = torch.jit.load(str(path), map_location="cpu")
        self.module.eval()
        signature = path.with_name(path.stem + SIGNATURE_SUFFIX)
        names = json.loads(signature.read_text(encoding="utf-8")) if signature.is_file() else {}
        self.input_names = names.get("inputs")
        self.output_names = names.get("outputs")

    def run(self, output_names, feeds):
        torch = self.torch
        order = self.input_names or list(feeds)
        missing = [name for name in order if name not in feeds]
        if missing:
            raise ValueError(f"missing inputs {missing}")
        args = [torch.from_numpy(np.ascontiguousarray(feeds[name])) for name in order]
        with torch.no_grad():
            result = self.module(*args)
        result = list(result) if isinstance(result, (tuple, list)) else [result]
        arrays = [r.numpy() for r in result]
        if not output_names:
            return arrays
        if self.output_names is None:
            raise ValueError("this TorchScript network has no signature file; ask for all outputs (None)")
        return [arrays[self.output_names.index(name)] for name in output_names]


def load_session(folder, name: str):
    """The network ``name`` of the export in ``folder``: ``name.onnx`` or ``name.pt``, whichever is there."""
    folder = Path(folder)
    if (folder / f"{name}.onnx").is_file():
        return OnnxSession(folder / f"{name}.onnx")
    if (folder / f"{name}.pt").is_file():
        return TorchScriptSession(folder / f"{name}.pt")
    raise FileNotFoundError(f"{folder}: neither {name}.onnx nor {name}.pt (is this an export folder?)")

"""Networks to ONNX or TorchScript, each checked against eager PyTorch before it is kept.

The ONNX graphs come from the TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``), not the
dynamo one that torch 2.13 defaults to: it maps ``nn.RNN``/``nn.LSTM``/``nn.GRU`` onto ONNX's own fused
RNN/LSTM/GRU operators, whose batch and sequence axes are symbolic by construction, and it needs nothing
beyond torch and onnx. The dynamo exporter (which needs onnxscript as well) specialises the recurrence
on the example's sequence length unless every dimension is declared to torch.export, and unrolls it.

Every export is then run on its example inputs and on a second example with other sizes on each dynamic
axis (more rows, more steps), and compared with the eager module: a graph that baked in a shape, or that
computes something else, fails here with a message rather than in a user's predictor.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ._runtime import SIGNATURE_SUFFIX

#: ONNX opset of the exports: onnxruntime >= 1.17 (the export extra's floor) runs it
DEFAULT_OPSET = 17
#: how far an exported network may be from eager PyTorch (absolute, and relative to the value)
TOLERANCE = 1e-4


class ExportMismatch(RuntimeError):
    """An exported network does not compute what the eager module computes."""


@dataclass
class Exported:
    """One network written by to_onnx or to_torchscript: where, the eager module, and its inputs' names."""

    path: Path
    module: torch.nn.Module
    input_names: list[str]


_recorders: list[list[Exported]] = []


@contextmanager
def recording() -> Iterator[list[Exported]]:
    """Collects every network exported while inside (bench/export.py times each against its eager module)."""
    made: list[Exported] = []
    _recorders.append(made)
    try:
        yield made
    finally:
        _recorders.remove(made)


def _record(path: Path, module: torch.nn.Module, input_names: Sequence[str]) -> None:
    for made in _recorders:
        made.append(Exported(path, module, list(input_names)))


def to_onnx(module: torch.nn.Module, example_inputs: tuple, path: Path, *, input_names: Sequence[str],
            output_names: Sequence[str], dynamic_axes: Mapping[str, Mapping[int, str] | Sequence[int]],
            opset: int | None = None, check_inputs: tuple | None = None) -> None:
    """Export ``module`` called as ``module(*example_inputs)`` to ``path``, run onnx.checker on it, and verify
    onnxruntime's outputs against eager ones on the example and on ``check_inputs`` (default: the example
    grown on every dynamic axis; give one where the grown values would not be valid, e.g. lengths)."""
    import onnx
    import onnxruntime as ort

    module = module.eval()
    path = Path(path)
    axes = _named_axes(dynamic_axes)
    with torch.no_grad(), _tracing(module), _packed_outputs_kept(module), _quiet_native_stderr(), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on tracing and its deprecation are not the user's
        torch.onnx.export(module, tuple(example_inputs), str(path), input_names=list(input_names),
                          output_names=list(output_names), dynamic_axes=axes,
                          opset_version=opset or DEFAULT_OPSET, dynamo=False, do_constant_folding=True)
    onnx.checker.check_model(str(path), full_check=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    graph_inputs = [i.name for i in session.get_inputs()]

    def run(inputs: tuple) -> list[np.ndarray]:
        feeds = {name: _numpy(value) for name, value in zip(input_names, inputs) if name in graph_inputs}
        return session.run(list(output_names), feeds)

    _verify(module, run, example_inputs, check_inputs, input_names, output_names, axes, path)
    _record(path, module, input_names)


def to_torchscript(module: torch.nn.Module, example_inputs: tuple, path: Path, *,
                   input_names: Sequence[str] | None = None, output_names: Sequence[str] | None = None,
                   dynamic_axes: Mapping[str, Mapping[int, str] | Sequence[int]] | None = None,
                   check_inputs: tuple | None = None) -> None:
    """Trace ``module`` to ``path`` and verify it as :func:`to_onnx` does. With ``input_names`` and
    ``output_names``, they are saved beside it (``NAME.signature.json``) so that the exported predictor feeds
    it by name as it feeds onnxruntime; ``dynamic_axes`` says which axes the second example grows (default:
    every axis of size > 1 that is not the last, named alike across inputs by position)."""
    module = module.eval()
    path = Path(path)
    with torch.no_grad(), _tracing(module), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # trace warnings about Python values are checked by _verify instead
        traced = torch.jit.trace(module, tuple(example_inputs), check_trace=False)
    traced.save(str(path))
    if input_names is not None and output_names is not None:
        path.with_name(path.stem + SIGNATURE_SUFFIX).write_text(
            json.dumps({"inputs": list(input_names), "outputs": list(output_names)}) + "\n", encoding="utf-8")
    loaded = torch.jit.load(str(path), map_location="cpu")
    names = list(input_names) if input_names is not None else [f"input{i}" for i in range(len(example_inputs))]
    outputs = list(output_names) if output_names is not None else None

    def run(inputs: tuple) -> list[np.ndarray]:
        with torch.no_grad():
            result = loaded(*inputs)
        return [_numpy(r) for r in _as_list(result)]

    axes = _named_axes(dynamic_axes) if dynamic_axes is not None else None
    _verify(module, run, example_inputs, check_inputs, names, outputs, axes, path)
    _record(path, module, names)


def _verify(module, run, example_inputs, check_inputs, input_names, output_names, axes, path: Path) -> None:
    second = check_inputs if check_inputs is not None else grown(example_inputs, input_names, axes)
    for label, inputs in (("the example input", example_inputs), ("a second input of other sizes", second)):
        with torch.no_grad():
            expected = [_numpy(r) for r in _as_list(module(*inputs))]
        got = run(inputs)
        names = output_names or [f"output{i}" for i in range(len(expected))]
        for name, want, have in zip(names, expected, got):
            if want.shape != have.shape:
                raise ExportMismatch(f"{path.name}: output '{name}' on {label} has shape {have.shape}, "
                                     f"eager PyTorch {want.shape} (a size was fixed at export)")
            if want.dtype.kind in "iub":
                bad = not np.array_equal(want, have)
                gap = "different values"
            else:
                gap_value = float(np.max(np.abs(want - have))) if want.size else 0.0
                bad = not np.allclose(have, want, atol=TOLERANCE, rtol=TOLERANCE)
                gap = f"differs by up to {gap_value:.3g}"
            if bad:
                raise ExportMismatch(f"{path.name}: output '{name}' on {label} {gap} from eager PyTorch "
                                     f"(tolerance {TOLERANCE:g})")


def grown(inputs: tuple, input_names: Sequence[str], axes: dict[str, dict[int, str]] | None) -> tuple:
    """``inputs`` with each dynamic axis longer (batch +2, each other named axis +3), values repeated
    cyclically along it: token ids stay in the vocabulary and lengths stay within the longer sequence."""
    sizes: dict[str, int] = {}
    out = []
    for name, value in zip(input_names, inputs):
        value_axes = (axes or {}).get(name)
        if axes is None:
            value_axes = {i: f"axis{i}" for i in range(value.dim() - 1) if value.shape[i] > 1 or i == 0}
        for axis, label in (value_axes or {}).items():
            old = value.shape[axis]
            new = sizes.setdefault(label, old + (2 if "batch" in label else 3))
            index = torch.arange(new, device=value.device) % old
            value = value.index_select(axis, index)
        out.append(value)
    return tuple(out)


@contextmanager
def _tracing(module: torch.nn.Module) -> Iterator[None]:
    """Lightning modules out of a Trainer raise on ``.trainer``, which tracing reads; Lightning's own
    to_torchscript sets this flag for the same reason."""
    flagged = [m for m in module.modules() if hasattr(m, "_jit_is_scripting")]
    for m in flagged:
        m._jit_is_scripting = True
    try:
        yield
    finally:
        for m in flagged:
            m._jit_is_scripting = False


@contextmanager
def _packed_outputs_kept(module: torch.nn.Module) -> Iterator[None]:
    """The ONNX exporter fails (``vector::_M_range_check`` in its peephole pass) on a packed recurrence whose
    per-step outputs are unused, as where only the final state is read (a character LSTM, last-state
    pooling). While exporting, each RecurrentBackbone given lengths adds ``0 * sum(outputs)`` to its final
    state: exactly zero (the outputs are finite), and it keeps the outputs in the graph."""
    from ..backbones import RecurrentBackbone

    patched = []
    for m in module.modules():
        if isinstance(m, RecurrentBackbone):
            def forward(x, lengths=None, state=None, _original=m.forward):
                out, final = _original(x, lengths, state)
                if lengths is None:
                    return out, final
                anchor = out.sum() * 0
                return out, (tuple(f + anchor for f in final) if isinstance(final, tuple) else final + anchor)

            m.forward = forward
            patched.append(m)
    try:
        yield
    finally:
        for m in patched:
            del m.forward


@contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """The exporter's C++ side prints shape-inference notes straight to file descriptor 2 (for packed
    sequences, which it exports correctly, as the verification shows); they are kept from the user, and
    shown only if the export fails."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        failed = True
        try:
            yield
            failed = False
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            if failed:
                sink.seek(0)
                os.write(2, sink.read()[-4000:])


def _named_axes(dynamic_axes) -> dict[str, dict[int, str]]:
    named = {}
    for name, value in (dynamic_axes or {}).items():
        named[name] = dict(value) if isinstance(value, Mapping) else {int(a): f"{name}_{a}" for a in value}
    return named


def _as_list(result) -> list:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _numpy(value) -> np.ndarray:
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)

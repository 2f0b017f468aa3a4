"""How an exported predictor runs its networks: onnxruntime for ``NAME.onnx``, TorchScript for ``NAME.pt``.

Copied beside every exported ``predict.py`` as ``_runtime.py``. It imports only the standard library and
numpy at the top; onnxruntime or torch is imported only for the format found, so an ONNX export runs
where torch is not installed. Both sessions answer ``run(output_names, feeds)`` as onnxruntime's
InferenceSession does: ``feeds`` maps input names to numpy arrays, the result is a list of numpy arrays.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

#: beside a TorchScript network: its input and output names, which a traced module does not keep
SIGNATURE_SUFFIX = ".signature.json"


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

"""``--export`` for the sentiment task: the classifier from token ids to class probabilities, the tokenizer,
vocabulary, classes and settings as JSON, and the standalone predictor (exported_predict.py).

The network takes right-padded ``ids`` (batch, time) and ``lengths`` (batch), both axes dynamic, and returns
the probabilities (a sigmoid for two classes, a softmax otherwise) in the graph, so the predictor only
tokenises, looks words up, cuts long texts and pads batches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from suite.export.files import TEXT_INPUT, install_predictor, tokenizer_settings, write_json
from suite.export.graphs import to_onnx, to_torchscript

from .task import PREDICT_BATCH

NETWORK = "classifier"
TEMPLATE = Path(__file__).with_name("exported_predict.py")


class Probabilities(nn.Module):
    """The trained module's forward pass and its probabilities, as classify() computes them."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.model.probabilities(self.model(ids, lengths))


def example(vocab_size: int, lengths: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids of the given lengths (words from the vocabulary, never <pad>)."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(1, max(vocab_size, 2), (n,), generator=generator)
    return ids, torch.tensor(lengths, dtype=torch.long)


def export(task, model, out_dir: Path, fmt: str) -> list[str]:
    net = Probabilities(model.eval()).eval()
    vocab_size = len(model.preprocessor.vocab)
    names = {"input_names": ["ids", "lengths"], "output_names": ["probabilities"],
             "dynamic_axes": {"ids": {0: "batch", 1: "time"}, "lengths": {0: "batch"},
                              "probabilities": {0: "batch"}},
             "check_inputs": example(vocab_size, [9, 2, 5, 1])}
    path = out_dir / f"{NETWORK}.{'onnx' if fmt == 'onnx' else 'pt'}"
    (to_onnx if fmt == "onnx" else to_torchscript)(net, example(vocab_size, [6, 3]), path, **names)
    files = [path.name, write_json(out_dir, "preprocessing.json", preprocessing(model))]
    return files + install_predictor(out_dir, TEMPLATE, [TEXT_INPUT])


def preprocessing(model) -> dict[str, Any]:
    opts = model.preprocessor.opts
    return {"tokenizer": tokenizer_settings(), "lowercase": opts.lowercase,
            "drop_punctuation": opts.drop_punctuation, "oov": opts.oov, "max_length": opts.max_length,
            "truncate": opts.truncate, "classes": list(model.classes), "vocab": list(model.preprocessor.vocab.itos),
            "pad_index": 0, "unk_index": 1, "batch": PREDICT_BATCH}

"""``--export`` for the tagging task: the network from word and character ids to per-token tag scores, the
CRF's start/transition/end scores, the vocabularies, tag set and tokeniser as JSON, and the standalone
predictor (exported_predict.py) that decodes with Viterbi in numpy (or takes each token's best tag when the
model has no CRF).

An ensemble is exported as one network returning the members' mean scores, with the members' mean CRF
scores, exactly as TaggerEnsemble.decode combines them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from suite.export.files import TEXT_INPUT, install_predictor, tokenizer_settings, write_json
from suite.export.graphs import to_onnx, to_torchscript

from .data import TagBatch
from .models import TaggerEnsemble
from .task import PREDICT_BATCH
from .tokens import _CLITIC, _WHOLE

NETWORK = "tagger"
TEMPLATE = Path(__file__).with_name("exported_predict.py")
INPUTS = ["words", "chars", "char_lengths", "forms", "lengths"]


class Emissions(nn.Module):
    """Tag scores (batch, time, tags) from plain tensors: the batch TaggedSentences.collate would build."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, words, chars, char_lengths, forms, lengths):
        batch = TagBatch(words, chars, char_lengths, forms, torch.zeros_like(words), lengths, 0)
        scores = self.net(batch)
        return scores.mean(dim=0) if isinstance(self.net, TaggerEnsemble) else scores


def example(state, sentence_lengths: list[int], forms: int) -> tuple[torch.Tensor, ...]:
    """A right-padded batch of random words and ``forms`` distinct random character strings."""
    g = torch.Generator().manual_seed(0)
    b, t = len(sentence_lengths), max(sentence_lengths)
    lengths = torch.tensor(sentence_lengths, dtype=torch.long)
    valid = torch.arange(t)[None] < lengths[:, None]
    words = torch.randint(1, max(len(state.words), 2), (b, t), generator=g) * valid
    form_ids = torch.randint(0, forms, (b, t), generator=g) * valid
    char_lengths = torch.randint(1, 7, (forms,), generator=g)
    chars = torch.randint(2, max(len(state.chars), 3), (forms, int(char_lengths.max())), generator=g)
    chars = chars * (torch.arange(chars.shape[1])[None] < char_lengths[:, None])
    return words, chars, char_lengths, form_ids, lengths


def export(task, model, out_dir: Path, fmt: str) -> list[str]:
    state = model.state
    net = Emissions(model.net.eval()).eval()
    axes = {"words": {0: "batch", 1: "time"}, "chars": {0: "forms", 1: "characters"}, "char_lengths": {0: "forms"},
            "forms": {0: "batch", 1: "time"}, "lengths": {0: "batch"}, "scores": {0: "batch", 1: "time"}}
    names = {"input_names": INPUTS, "output_names": ["scores"], "dynamic_axes": axes,
             "check_inputs": example(state, [7, 2, 5, 1, 3], 9)}
    path = out_dir / f"{NETWORK}.{'onnx' if fmt == 'onnx' else 'pt'}"
    (to_onnx if fmt == "onnx" else to_torchscript)(net, example(state, [4, 2], 5), path, **names)
    files = [path.name, write_json(out_dir, "preprocessing.json", preprocessing(model))]
    return files + install_predictor(out_dir, TEMPLATE, [TEXT_INPUT])


def crf_scores(net: nn.Module) -> dict[str, Any] | None:
    """The start, transition [from][to] and end scores Viterbi uses, ill-formed moves included at their
    fixed penalty; an ensemble's are its members' means (TaggerEnsemble.decode)."""
    if net.crf is None:
        return None
    with torch.no_grad():
        if isinstance(net, TaggerEnsemble):
            parts = zip(*(m.crf.potentials() for m in net.members))
            start, trans, end = (torch.stack(p).mean(dim=0) for p in parts)
        else:
            start, trans, end = net.crf.potentials()
    return {"start": start.tolist(), "transitions": trans.tolist(), "end": end.tolist()}


def preprocessing(model) -> dict[str, Any]:
    state = model.state
    return {"tokenizer": {**tokenizer_settings(),
                          "whole": {"pattern": _WHOLE.pattern, "flags": _WHOLE.flags},
                          "clitic": {"pattern": _CLITIC.pattern, "flags": _CLITIC.flags}},
            "tags": list(state.tags), "scheme": state.scheme, "words": list(state.words),
            "chars": list(state.chars), "lowercase": state.lowercase, "max_word_chars": state.max_word_chars,
            "unk_index": 1, "batch": PREDICT_BATCH, "crf": crf_scores(model.net)}

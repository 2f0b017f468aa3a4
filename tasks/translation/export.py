"""``--export`` for the translation task: the encoder and one decoder step as networks, the two tokenizers
as the ``tokenizers`` library's own JSON, the decoding settings as JSON, and the standalone predictor
(exported_predict.py, copied as predict.py) that runs greedy and beam search in numpy.

The encoder reads a padded batch with its lengths (the legacy ONNX exporter maps PyTorch's packed
sequences onto the ``sequence_lens`` input of ONNX's fused GRU/LSTM/RNN, so padding never reaches the
recurrent state in the graph either). The decoder step takes the previous tokens, the decoder's recurrent
state (and the previous attentional vector with input feeding) and the encoder's outputs with their mask,
and returns log-probabilities, the new state and the attention weights: the search in the predictor
carries the state from step to step and reorders it between beams, as tasks/translation/decoding.py does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from suite.export.files import install_predictor, write_json
from suite.export.graphs import to_onnx, to_torchscript

from .config import MAX_BEAM, MAX_DECODE_RATIO, MAX_LENGTH_PENALTY
from .segmenters import BOS_ID, EOS_ID, PAD_ID, UNK_ID

TEMPLATE = Path(__file__).with_name("exported_predict.py")
ENCODER, DECODER = "encoder", "decoder_step"
TOKENIZERS = ("source.tokenizer.json", "target.tokenizer.json")


def state_names(model) -> list[str]:
    return ["h", "c"] if model.decoder.is_lstm else ["h"]


class ExportEncoder(nn.Module):
    """``(src (N, S), src_len (N,))`` -> the decoder's initial state, then (with attention) the encoder
    outputs, their attention keys and the mask of real source tokens."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, src: torch.Tensor, src_len: torch.Tensor):
        enc = self.model.encode(src, src_len)
        state = list(enc.state) if isinstance(enc.state, tuple) else [enc.state]
        if self.model.attention_kind == "none":
            return tuple(state)
        return (*state, enc.memory, enc.keys, enc.mask)


class ExportDecoderStep(nn.Module):
    """One decoder step, the recurrent state explicit: ``(tokens (N,), h (1, N, H)[, c][, feed (N, E)]
    [, memory, keys, mask])`` -> ``(log_probs (N, V), h[, c][, feed][, attention (N, S)])``."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.lstm = model.decoder.is_lstm
        self.feeding = model.input_feeding
        self.attending = model.attention_kind != "none"

    def forward(self, tokens: torch.Tensor, *rest: torch.Tensor):
        from .models import Encoded

        rest = list(rest)
        state = (rest.pop(0), rest.pop(0)) if self.lstm else rest.pop(0)
        feed = rest.pop(0) if self.feeding else None
        if self.attending:
            memory, keys, mask = rest
            enc = Encoded(memory, keys, mask, state)
        else:
            enc = Encoded(None, None, torch.ones(tokens.shape[0], 1, dtype=torch.bool), state)
        logits, state, feed, weights = self.model.decode_step(tokens, state, feed, enc)
        # decoding.py scores with log_softmax over float32 logits; the graph returns exactly that
        out = [torch.log_softmax(logits.float(), dim=-1)]
        out += list(state) if isinstance(state, tuple) else [state]
        if self.feeding:
            out.append(feed)
        if self.attending:
            out.append(weights)
        return tuple(out)


def _examples(model):
    """Two sentences of real token ids, one padded, and the encoder's outputs for them."""
    vocab = model.source_vocab
    generator = torch.Generator().manual_seed(0)
    src = torch.randint(4, max(vocab, 5), (2, 6), generator=generator).clamp(max=vocab - 1)
    src_len = torch.tensor([6, 4])
    src[1, 4:] = PAD_ID
    with torch.no_grad():
        encoded = ExportEncoder(model)(src, src_len)
    return src, src_len, encoded


def export(task, model, out_dir: Path, fmt: str) -> list[str]:
    model = model.eval()
    out_dir = Path(out_dir)
    states = state_names(model)
    attending = model.attention_kind != "none"
    memory_names = ["memory", "keys", "mask"] if attending else []
    src, src_len, encoded = _examples(model)
    suffix = "onnx" if fmt == "onnx" else "pt"
    save = to_onnx if fmt == "onnx" else to_torchscript

    batch_state = {1: "batch"}
    enc_axes = {"src": {0: "batch", 1: "source"}, "src_len": {0: "batch"}, **{s: batch_state for s in states}}
    if attending:
        enc_axes.update({"memory": {0: "batch", 1: "source"}, "keys": {0: "batch", 1: "source"},
                         "mask": {0: "batch", 1: "source"}})
    enc_path = out_dir / f"{ENCODER}.{suffix}"
    save(ExportEncoder(model), (src, src_len), enc_path, input_names=["src", "src_len"],
         output_names=states + memory_names, dynamic_axes=enc_axes)

    step_inputs = ["tokens"] + states + (["feed"] if model.input_feeding else []) + memory_names
    step_outputs = (["log_probs"] + [f"{s}_out" for s in states] + (["feed_out"] if model.input_feeding else [])
                    + (["attention"] if attending else []))
    state_values = list(encoded[:len(states)])
    feed = [torch.zeros(2, model.out_size)] if model.input_feeding else []
    tokens = torch.tensor([BOS_ID, min(5, model.target_vocab - 1)])
    step_example = (tokens, *state_values, *feed, *encoded[len(states):])
    step_axes: dict[str, dict[int, str]] = {"tokens": {0: "batch"}, "log_probs": {0: "batch"}}
    for s in states:
        step_axes[s] = step_axes[f"{s}_out"] = batch_state
    if model.input_feeding:
        step_axes["feed"] = step_axes["feed_out"] = {0: "batch"}
    if attending:
        for name in memory_names + ["attention"]:
            step_axes[name] = {0: "batch", 1: "source"}
    step_path = out_dir / f"{DECODER}.{suffix}"
    save(ExportDecoderStep(model), step_example, step_path, input_names=step_inputs, output_names=step_outputs,
         dynamic_axes=step_axes)

    files = [enc_path.name, step_path.name]
    source, target = model.segmenters
    for name, segmenter in zip(TOKENIZERS, (source, target)):
        (out_dir / name).write_text(segmenter.tokenizer.to_str(), encoding="utf-8")
        files.append(name)
    files.append(write_json(out_dir, "preprocessing.json", preprocessing(model, step_inputs, step_outputs)))
    files += install_predictor(out_dir, TEMPLATE)
    return files


def preprocessing(model, step_inputs: list[str], step_outputs: list[str]) -> dict[str, Any]:
    """What the predictor needs besides the networks and tokenizers: the run's decoding settings (flags of
    predict.py may override them, within the same bounds as the task's options) and the graphs' layout."""
    opts = model.cfg.options
    return {
        "source_lang": opts.source_lang, "target_lang": opts.target_lang, "segmentation": opts.tokenizer,
        "tokenizers": {"source": TOKENIZERS[0], "target": TOKENIZERS[1]},
        "special_ids": {"pad": PAD_ID, "unk": UNK_ID, "bos": BOS_ID, "eos": EOS_ID},
        "unk_piece": model.segmenters[1].unk_piece,
        "max_length": opts.max_length,
        "beam_size": opts.beam_size, "length_penalty": opts.length_penalty,
        "max_decode_ratio": opts.max_decode_ratio,
        "bounds": {"beam_size": [1, MAX_BEAM], "length_penalty": [0.0, MAX_LENGTH_PENALTY],
                   "max_decode_ratio": [0.0, MAX_DECODE_RATIO]},
        "attention": model.attention_kind, "input_feeding": bool(model.input_feeding),
        "feed_size": int(model.out_size), "states": state_names(model),
        "networks": {"encoder": ENCODER, "decoder_step": DECODER},
        "decoder_step_inputs": step_inputs, "decoder_step_outputs": step_outputs,
    }

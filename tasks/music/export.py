"""``--export`` for the music task: the generation step network with its recurrent state explicit, the
NADE's key-by-key sampler (frames with a NADE output), the encoding and generation settings as JSON, and
the standalone predictor (exported_predict.py, copied as predict.py).

The step network reads any number of steps, so one graph reads the primer at once and then one step at a
time, as tasks/music/generate.py calls ``contexts``. The predictor draws the random numbers itself: a
numpy MT19937 seeded as PyTorch seeds its CPU generator, turned into uniforms and exponentials as PyTorch's
``bernoulli`` and ``multinomial`` do, so ``--gen-seed`` gives the same piece as ``--predict``. The NADE
sampler takes those uniforms as an input: the keys of a frame depend on each other, which is tensor work
for the graph, while the randomness stays in the predictor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from suite.export.files import install_predictor, write_json
from suite.export.graphs import to_onnx, to_torchscript

from .encoding import FIRST_NOTE, HOLD, REST, START, VOCAB
from .rolls import KEYS, LOW

TEMPLATE = Path(__file__).with_name("exported_predict.py")
STEP, NADE_SAMPLER = "step", "nade_sampler"


def head_names(model) -> list[str]:
    if model.nade is not None:
        return ["visible_bias", "hidden_bias"]
    return ["logits"]


def state_names(model) -> list[str]:
    return ["h", "c"] if model.rnn.is_lstm else ["h"]


class ExportStep(nn.Module):
    """``(inputs (N, T, 88) frames or (N, T) event tokens, h (layers, N, H)[, c])`` -> the output layer's
    inputs at every step (logits, or the NADE's biases) and the state after the last step."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.lstm = model.rnn.is_lstm

    def forward(self, inputs: torch.Tensor, *state: torch.Tensor):
        model = self.model
        context, state = model.contexts(inputs, state=tuple(state) if self.lstm else state[0])
        if model.nade is not None:
            heads = [model.nade.to_visible_bias(context), model.nade.to_hidden_bias(context)]
        else:
            heads = [model.head(context)]
        return (*heads, *(state if self.lstm else (state,)))


class ExportNadeSampler(nn.Module):
    """A frame from the NADE's biases, key by key as ``NADE.sample`` draws it: key ``i`` is on where
    ``uniforms[:, i] < sigmoid(logit_i / temperature)``, which is how ``torch.bernoulli`` decides."""

    def __init__(self, nade):
        super().__init__()
        self.nade = nade

    def forward(self, visible_bias, hidden_bias, uniforms, temperature):
        a, ons = hidden_bias, []
        for i in range(self.nade.keys):
            logit = visible_bias[:, i] + (torch.sigmoid(a) * self.nade.V[i]).sum(-1)
            on = (uniforms[:, i] < torch.sigmoid(logit / temperature)).to(visible_bias.dtype)
            ons.append(on)
            a = a + on.unsqueeze(-1) * self.nade.W[i]
        return torch.stack(ons, dim=1)


def export(task, model, out_dir: Path, fmt: str) -> list[str]:
    model = model.eval()
    out_dir = Path(out_dir)
    suffix = "onnx" if fmt == "onnx" else "pt"
    save = to_onnx if fmt == "onnx" else to_torchscript
    generator = torch.Generator().manual_seed(0)
    rnn = model.rnn
    if model.events:
        inputs = torch.randint(0, VOCAB + 1, (2, 3), generator=generator)
        input_axes = {0: "batch", 1: "time"}
    else:
        inputs = (torch.rand(2, 3, KEYS, generator=generator) < 0.1).float()
        input_axes = {0: "batch", 1: "time"}
    states = state_names(model)
    state = [torch.randn(rnn.num_layers, 2, rnn.hidden_size, generator=generator) * 0.5 for _ in states]
    heads = head_names(model)
    axes: dict[str, dict[int, str]] = {"inputs": input_axes}
    for name in heads:
        axes[name] = {0: "batch", 1: "time"}
    for name in states:
        axes[name] = axes[f"{name}_out"] = {1: "batch"}
    step_path = out_dir / f"{STEP}.{suffix}"
    save(ExportStep(model), (inputs, *state), step_path, input_names=["inputs"] + states,
         output_names=heads + [f"{s}_out" for s in states], dynamic_axes=axes)
    files = [step_path.name]
    if model.nade is not None:
        nade = model.nade
        example = (torch.randn(2, KEYS, generator=generator), torch.randn(2, nade.hidden, generator=generator),
                   torch.rand(2, KEYS, generator=generator), torch.tensor([1.0]))
        sampler_path = out_dir / f"{NADE_SAMPLER}.{suffix}"
        save(ExportNadeSampler(nade), example, sampler_path,
             input_names=["visible_bias", "hidden_bias", "uniforms", "temperature"], output_names=["frame"],
             dynamic_axes={"visible_bias": {0: "batch"}, "hidden_bias": {0: "batch"}, "uniforms": {0: "batch"},
                           "frame": {0: "batch"}})
        files.append(sampler_path.name)
    files.append(write_json(out_dir, "preprocessing.json", preprocessing(model)))
    files += install_predictor(out_dir, TEMPLATE)
    return files


def preprocessing(model) -> dict[str, Any]:
    """The encoding (keyboard, event tokens), the run's generation settings and their bounds (flags and JSON
    requests of predict.py may override them, as with --predict), and the networks' layout."""
    opts, state = model.cfg.options, model.state
    return {
        "representation": state.representation,
        "distribution": "events" if model.events else ("nade" if model.nade is not None else "bernoulli"),
        "step": state.step, "quarter_length": state.step_ql,
        "keys": KEYS, "lowest_pitch": LOW,
        "events": {"rest": REST, "hold": HOLD, "first_note": FIRST_NOTE, "vocabulary": VOCAB, "start": START},
        "generation": {"length": opts.length, "temperature": opts.temperature, "pieces": opts.pieces,
                       "gen_seed": opts.gen_seed, "bpm": opts.bpm, "musicxml": opts.musicxml},
        "bounds": _option_bounds(),
        "midi": {"ticks_per_quarter": 480, "velocity": 80, "channel": 1},
        "networks": {"step": STEP, **({"nade_sampler": NADE_SAMPLER} if model.nade is not None else {})},
        "heads": head_names(model), "states": state_names(model),
        "layers": model.rnn.num_layers, "hidden": model.rnn.hidden_size,
    }


def _option_bounds() -> dict[str, list[float]]:
    """The options' own bounds (a JSON request is held to these, as MusicTask.predict holds it)."""
    import dataclasses

    from .config import MusicConfig

    wanted = ("length", "temperature", "pieces", "gen_seed", "bpm")
    return {f.name: [f.metadata["min"], f.metadata["max"]] for f in dataclasses.fields(MusicConfig)
            if f.name in wanted}

"""A fused ``nn.RNN``/``nn.LSTM``/``nn.GRU`` recomputed step by step from its own weights.

The fused kernels hand back per-step outputs whose gradients are only the direct part: what reaches the
loss through later steps stays inside the kernel. Recomputing the recurrence one step at a time, with each
hidden state ``h_t`` a node of the autograd graph, lets ``torch.autograd.grad(loss, [h_1 .. h_T])`` give
the whole derivative ``dL/dh_t`` (through every later step and layer), and exposes the gates the kernels
keep to themselves.

The equations are PyTorch's (the ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` documentation), including its
gate order (LSTM i, f, g, o; GRU r, z, n) and the GRU's reset gate applied after the recurrent matrix.
Variable lengths follow packing: a sequence's state stops at its last real step, its outputs are zero
after it, and the reverse direction reads each sequence backwards within its own length. A caller
compares the outputs with the fused kernel's before trusting them (:mod:`suite.insight.probe`).

Used only for one diagnostic batch now and then: a Python loop over the steps, many times slower than
the fused kernels on a GPU (on a CPU, for the small networks here, about as fast).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

#: a sigmoid gate below this or above 1 minus it is saturated: its slope is under 0.0475, a fifth of the
#: sigmoid's largest (0.25), so little gradient passes through the gate itself
SIGMOID_SATURATION = 0.05
#: a tanh unit whose magnitude is above this is saturated: its slope is under 0.0975, a tenth of tanh's largest
TANH_SATURATION = 0.95
#: a unit whose output spans less than this over a whole batch carries nothing (outputs are within [-1, 1]
#: for every cell but ReLU, so a thousandth of that range is below any signal the next layer uses)
DEAD_SPREAD = 1e-3

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


@dataclass
class Trace:
    """One layer and direction: its hidden state at every step, in that direction's reading order."""

    layer: int
    direction: int  # 0 forward, 1 reverse
    cell: str  # rnn_tanh, rnn_relu, lstm, gru
    #: h_t for t = 1..T in reading order, each (batch, hidden) and a node of the autograd graph
    states: list[torch.Tensor]
    #: (T, batch) bool, which steps are real in reading order; None when every step is
    valid: torch.Tensor | None
    #: detached gate activations, each (T, batch, hidden): LSTM input/forget/output, GRU reset/update
    gates: dict[str, torch.Tensor] = field(default_factory=dict)
    #: the states themselves, detached, (T, batch, hidden)
    values: torch.Tensor | None = None
    #: the name diagnostics file it under (the module's path and this layer), set by the recorder
    label: str = ""

    @property
    def name(self) -> str:
        return f"l{self.layer}" + (".reverse" if self.direction else "")


@dataclass
class Unrolled:
    outputs: torch.Tensor  # as the fused module's (batch_first), zero at padded steps when lengths are given
    state: State  # as the fused module's h_n, or (h_n, c_n)
    traces: list[Trace]


def cell_of(rnn: nn.RNNBase) -> str:
    return {"RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu", "LSTM": "lstm", "GRU": "gru"}[rnn.mode]


def reverse_within(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """``x`` (batch, time, ...) with each sequence reversed within its own length (padding stays last)."""
    if lengths is None:
        return x.flip(1)
    from ..backbones import reverse_padded

    return reverse_padded(x, lengths)


def unroll(rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor | None = None,
           state: State | None = None) -> Unrolled:
    """The fused module ``rnn`` applied to ``x`` one step at a time; see the module's docstring."""
    if getattr(rnn, "proj_size", 0):
        raise NotImplementedError("an LSTM with projections (proj_size) is not unrolled")
    cell = cell_of(rnn)
    if not rnn.batch_first:
        x = x.transpose(0, 1)
    batch, steps, _ = x.shape
    layers, directions = rnn.num_layers, 2 if rnn.bidirectional else 1
    valid = None
    if lengths is not None:
        lengths = lengths.to(x.device, torch.long)
        valid = torch.arange(steps, device=x.device)[None, :] < lengths[:, None]  # (B, T)
    h0, c0 = (state if isinstance(state, tuple) else (state, None)) if state is not None else (None, None)
    inputs, finals_h, finals_c, traces = x, [], [], []
    for layer in range(layers):
        per_direction = []
        for direction in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            weights = [getattr(rnn, f"{kind}{suffix}", None) for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            index = layer * directions + direction
            h = h0[index] if h0 is not None else x.new_zeros(batch, rnn.hidden_size)
            c = (c0[index] if c0 is not None else x.new_zeros(batch, rnn.hidden_size)) if cell == "lstm" else None
            seq = inputs if direction == 0 else reverse_within(inputs, lengths)
            hs, h, c, gates = _run(cell, seq, weights, h, c, valid)
            out = torch.stack(hs, dim=1)
            values = out.detach().transpose(0, 1)
            if valid is not None:
                out = out * valid.unsqueeze(-1)
            per_direction.append(out if direction == 0 else reverse_within(out, lengths))
            finals_h.append(h)
            finals_c.append(c)
            traces.append(Trace(layer, direction, cell, hs, None if valid is None else valid.t(), gates, values))
        inputs = torch.cat(per_direction, dim=-1) if directions > 1 else per_direction[0]
        if rnn.dropout and rnn.training and layer + 1 < layers:
            inputs = F.dropout(inputs, rnn.dropout, training=True)  # a different draw than the kernel's
    outputs = inputs if rnn.batch_first else inputs.transpose(0, 1)
    h_n = torch.stack(finals_h)
    final = (h_n, torch.stack(finals_c)) if cell == "lstm" else h_n
    return Unrolled(outputs, final, traces)


def _run(cell: str, seq: torch.Tensor, weights, h: torch.Tensor, c: torch.Tensor | None,
         valid: torch.Tensor | None):
    """One direction of one layer over ``seq`` (batch, T, features); returns the states, the final h and c,
    and the gates. Written for few operations per step: the pass's cost is mostly their count."""
    w_ih, w_hh, b_ih, b_hh = weights
    size = w_hh.shape[1]
    # every step's input part in one matrix product; the recurrent bias joins it except for the GRU, whose
    # candidate applies the reset gate to (W_hn h + b_hn)
    bias = b_ih if cell == "gru" or b_ih is None else b_ih + b_hh
    projected = F.linear(seq, w_ih, bias)
    recurrent_t = w_hh.t()
    hs: list[torch.Tensor] = []
    kept: list[torch.Tensor] = []
    for t in range(seq.shape[1]):
        x_t = projected[:, t]
        if cell == "lstm":
            pre = torch.addmm(x_t, h, recurrent_t)
            s = torch.sigmoid(pre)  # the input, forget and output gates in one call (the g slice unused)
            c_new = s[:, size:2 * size] * c + s[:, :size] * torch.tanh(pre[:, 2 * size:3 * size])
            h_new = s[:, 3 * size:] * torch.tanh(c_new)
            kept.append(s.detach())
        elif cell == "gru":
            rec = F.linear(h, w_hh, b_hh)
            rz = torch.sigmoid(x_t[:, :2 * size] + rec[:, :2 * size])
            n = torch.tanh(x_t[:, 2 * size:] + rz[:, :size] * rec[:, 2 * size:])
            h_new = n + rz[:, size:] * (h - n)  # (1 - z) n + z h
            kept.append(rz.detach())
        else:
            pre = torch.addmm(x_t, h, recurrent_t)
            h_new = torch.tanh(pre) if cell == "rnn_tanh" else torch.relu(pre)
        if valid is not None:  # past a sequence's end its state stays (packing's semantics)
            real = valid[:, t].unsqueeze(1)
            h_new = torch.where(real, h_new, h)
            if cell == "lstm":
                c_new = torch.where(real, c_new, c)
        h = h_new
        if cell == "lstm":
            c = c_new
        hs.append(h)
    gates: dict[str, torch.Tensor] = {}
    if kept:
        stacked = torch.stack(kept)  # (T, B, gates)
        if cell == "lstm":
            gates = {"input": stacked[..., :size], "forget": stacked[..., size:2 * size],
                     "output": stacked[..., 3 * size:]}
        else:
            gates = {"reset": stacked[..., :size], "update": stacked[..., size:]}
    return hs, h, c, gates


def gate_activity(trace: Trace) -> dict[str, float]:
    """What the gates and units did over the real steps of the batch.

    ``saturated``: LSTM and GRU, the share of sigmoid gate values (LSTM input, forget, output; GRU reset,
    update) within :data:`SIGMOID_SATURATION` of 0 or 1; tanh RNN, the share of unit values beyond
    :data:`TANH_SATURATION`. ``forget`` (LSTM) or ``update`` (GRU: PyTorch's z, the share of the previous
    state kept): the mean gate. ``dead``: the share of units whose output moves by less than
    :data:`DEAD_SPREAD` over every real step of every sequence (a ReLU unit at 0, a tanh unit stuck at +-1,
    an LSTM unit whose output gate stays shut): they pass nothing on.
    """
    mask = None if trace.valid is None else trace.valid.unsqueeze(-1)  # (T, B, 1)

    def mean(values: torch.Tensor) -> float:
        if mask is None:
            return float(values.float().mean())
        weights = mask.expand_as(values)
        return float(values.float()[weights].mean()) if bool(weights.any()) else float("nan")

    stats: dict[str, float] = {}
    if trace.cell in ("lstm", "gru"):
        sigmoids = [trace.gates[name] for name in (("input", "forget", "output") if trace.cell == "lstm"
                                                    else ("reset", "update"))]
        saturated = [mean((g < SIGMOID_SATURATION) | (g > 1 - SIGMOID_SATURATION)) for g in sigmoids]
        key = "forget" if trace.cell == "lstm" else "update"
        stats = {"saturated": sum(saturated) / len(saturated), key: mean(trace.gates[key])}
    h = trace.values.float() if trace.values is not None else torch.stack([s.detach() for s in trace.states]).float()
    if trace.cell == "rnn_tanh":
        stats = {"saturated": mean(h.abs() > TANH_SATURATION)}
    if mask is not None:
        if not bool(mask.any()):
            return stats
        high = h.masked_fill(~mask, -math.inf).amax(dim=(0, 1))
        low = h.masked_fill(~mask, math.inf).amin(dim=(0, 1))
    else:
        high, low = h.amax(dim=(0, 1)), h.amin(dim=(0, 1))
    stats["dead"] = float(((high - low) < DEAD_SPREAD).float().mean())
    return stats

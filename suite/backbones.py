"""RecurrentBackbone: PyTorch's fused RNN/LSTM/GRU kernels behind one interface.

Every task uses this module. It never loops over time steps in Python (cuDNN on GPU, oneDNN on
CPU do the recurrence), packs variable-length batches so padding never reaches the recurrent
state, and can continue from a given state for generation and streaming.

For right-padded batches of variable length there are two exact encoders with one interface,
``(outputs, last) = encoder(x, lengths)``: ``PackedRecurrence`` (packing; fast with cuDNN) and
``PaddedRecurrence`` (each direction one unpacked fused call; several times faster on CPU).
"""

from __future__ import annotations

from contextvars import ContextVar

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .config import BackboneConfig

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]

_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}

#: set only while suite.insight.probe runs one diagnostic forward pass: every backbone then hands its
#: call to that recorder, which unrolls it step by step (training never sets it)
UNROLL_HOOK: ContextVar = ContextVar("rnn_suite_unroll_hook", default=None)


class RecurrentBackbone(nn.Module):
    """A stack of recurrent layers over ``(batch, time, features)`` input.

    ``forward(x, lengths=None, state=None)`` returns ``(outputs, state)``: per-step outputs of the
    top layer ``(batch, time, hidden * directions)``, zero at padded positions, and the final state
    (``h`` or ``(h, c)`` for LSTM, each ``(layers * directions, batch, hidden)``), taken at each
    sequence's true last step when ``lengths`` is given.
    """

    def __init__(self, input_size: int, cfg: BackboneConfig | None = None, **overrides):
        super().__init__()
        cfg = cfg or BackboneConfig()
        if overrides:
            cfg = BackboneConfig(**{**cfg.__dict__, **overrides})
        self.cfg = cfg
        self.input_size = input_size
        self.hidden_size = cfg.hidden
        self.num_layers = cfg.layers
        self.directions = 2 if cfg.bidirectional else 1
        self.rnn = _CELLS[cfg.cell](
            input_size=input_size,
            hidden_size=cfg.hidden,
            num_layers=cfg.layers,
            bidirectional=cfg.bidirectional,
            # PyTorch applies dropout between layers only; with one layer it would just warn.
            dropout=cfg.dropout if cfg.layers > 1 else 0.0,
            batch_first=True,
        )
        if cfg.init == "keras":
            keras_init_(self.rnn)

    @property
    def output_size(self) -> int:
        return self.hidden_size * self.directions

    @property
    def is_lstm(self) -> bool:
        return isinstance(self.rnn, nn.LSTM)

    def forward(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor | None = None,
        state: State | None = None,
    ) -> tuple[torch.Tensor, State]:
        hook = UNROLL_HOOK.get()
        if hook is not None:
            return hook(self, x, lengths, state)
        return self.fused(x, lengths, state)

    def fused(self, x: torch.Tensor, lengths: torch.Tensor | None = None,
              state: State | None = None) -> tuple[torch.Tensor, State]:
        """``forward`` through PyTorch's fused kernel, whatever hook is set."""
        if lengths is None:
            return self.rnn(x, state)
        total = x.shape[1]
        # pack_padded_sequence wants lengths on the CPU; sorting happens inside (enforce_sorted=False).
        packed = pack_padded_sequence(x, lengths.detach().to("cpu", torch.int64), batch_first=True,
                                      enforce_sorted=False)
        out, final = self.rnn(packed, state)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=total)
        return out, final

    def unrolled(self, x: torch.Tensor, lengths: torch.Tensor | None = None, state: State | None = None):
        """The same computation one step at a time from the same weights (suite.insight.unroll.Unrolled:
        outputs and state as ``forward``'s, plus every layer's and direction's per-step hidden states and
        gates). For diagnostics on one batch now and then; training always takes the fused kernel."""
        from .insight.unroll import unroll

        return unroll(self.rnn, x, lengths, state)

    def last_hidden(self, state: State) -> torch.Tensor:
        """The top layer's final hidden state, both directions concatenated: ``(batch, output_size)``."""
        h = state[0] if isinstance(state, tuple) else state
        top = h.view(self.num_layers, self.directions, h.shape[1], self.hidden_size)[-1]
        return top.transpose(0, 1).reshape(h.shape[1], self.output_size)

    def initial_state(self, batch: int, device=None, dtype=None) -> State:
        shape = (self.num_layers * self.directions, batch, self.hidden_size)
        h = torch.zeros(shape, device=device, dtype=dtype)
        return (h, torch.zeros_like(h)) if self.is_lstm else h


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence within its own length; padded steps stay at the end."""
    steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
    n = lengths.to(x.device).unsqueeze(1)
    index = torch.where(steps < n, n - 1 - steps, steps)
    return x.gather(1, index.unsqueeze(-1).expand_as(x))


class PaddedRecurrence(nn.Module):
    """A stacked, optionally bidirectional recurrence over right-padded batches, without packing.

    A recurrence reads left to right, so its outputs at a sequence's real steps never depend on the
    padding after them; the backward direction reads each sequence reversed within its own length, so
    the same holds for it. Results therefore equal packing's, while each direction runs as one fused
    kernel call over the whole batch: on CPU, PyTorch's packed kernels step through shrinking batches
    and are several times slower than the unpacked ones (measured: bench/sentiment.py, tests/test_backbone.py checks equality).
    """

    def __init__(self, input_size: int, cfg: BackboneConfig):
        super().__init__()
        self.directions = 2 if cfg.bidirectional else 1
        self.layer_dropout = nn.Dropout(cfg.dropout)
        size = input_size
        self.layers = nn.ModuleList()
        for _ in range(cfg.layers):
            self.layers.append(nn.ModuleList(
                RecurrentBackbone(size, cfg, layers=1, bidirectional=False, dropout=0.0)
                for _ in range(self.directions)))
            size = cfg.hidden * self.directions
        self.output_size = size

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, outputs: bool = True
                ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Outputs ``(B, T, H*dirs)``, zero at padded steps, and each sequence's final states
        (forward at its last real step, backward at its first) ``(B, H*dirs)``.

        Only the top layer's outputs are masked: between layers padding comes after the real steps in
        both directions' reading order, so it never reaches them. ``outputs=False`` returns None for
        them and skips that masking, for callers that read only the final states (the masking
        costs about 5% of a seed-preset sentiment step: bench/sentiment.py)."""
        lengths = lengths.to(x.device)
        steps = x.shape[1]
        rows = torch.arange(x.shape[0], device=x.device)
        for depth, directions in enumerate(self.layers):
            if depth:
                x = self.layer_dropout(x)
            forward, _ = directions[0](x)
            per_direction = [forward]
            if self.directions == 2:
                backward, _ = directions[1](reverse_padded(x, lengths))
                per_direction.append(reverse_padded(backward, lengths))
            if outputs or depth + 1 < len(self.layers):  # the top layer's only for callers that read them
                x = torch.cat(per_direction, dim=-1) if len(per_direction) > 1 else forward
        last = [forward[rows, lengths - 1]] + ([per_direction[1][:, 0]] if self.directions == 2 else [])
        last = torch.cat(last, dim=-1) if len(last) > 1 else last[0]
        if not outputs:
            return None, last
        valid = torch.arange(steps, device=x.device).unsqueeze(0) < lengths.unsqueeze(1)
        return x * valid.unsqueeze(-1), last


class PackedRecurrence(nn.Module):
    """RecurrentBackbone with packing (cuDNN's packed kernels are fast; PyTorch's CPU ones are not)."""

    def __init__(self, input_size: int, cfg: BackboneConfig):
        super().__init__()
        self.rnn = RecurrentBackbone(input_size, cfg)
        self.output_size = self.rnn.output_size

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, outputs: bool = True
                ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """As PaddedRecurrence.forward."""
        per_step, state = self.rnn(x, lengths)
        return (per_step if outputs else None), self.rnn.last_hidden(state)


def keras_init_(rnn: nn.RNNBase) -> None:
    """Keras' default initialisation for recurrent layers.

    Input weights Glorot-uniform over the whole gate-stacked matrix (as Keras' kernel), recurrent
    weights orthogonal, biases zero, and the LSTM forget-gate bias 1 (Keras' unit_forget_bias; only
    one of PyTorch's two bias vectors gets it so the sum is 1).
    """
    hidden = rnn.hidden_size
    for name, param in rnn.named_parameters():
        with torch.no_grad():
            if name.startswith("weight_ih"):
                nn.init.xavier_uniform_(param)
            elif name.startswith("weight_hh"):
                nn.init.orthogonal_(param)
            elif name.startswith("bias"):
                param.zero_()
                if isinstance(rnn, nn.LSTM) and name.startswith("bias_ih"):
                    param[hidden:2 * hidden] = 1.0  # PyTorch's gate order is i, f, g, o


def glorot_linear_(layer: nn.Linear) -> nn.Linear:
    """Keras' Dense default: Glorot-uniform weights, zero bias."""
    nn.init.xavier_uniform_(layer.weight)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())

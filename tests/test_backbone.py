"""RecurrentBackbone (suite/backbones.py): shapes, packing, state continuation, initialisation."""

from __future__ import annotations

import itertools
import math
import warnings

import pytest
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from suite.backbones import PackedRecurrence, PaddedRecurrence, RecurrentBackbone, count_parameters, keras_init_
from suite.config import BackboneConfig

CELLS = ("rnn", "lstm", "gru")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
FUSED = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
FUSED_OP = {"rnn": "rnn_tanh", "lstm": "lstm", "gru": "gru"}
COMBOS = list(itertools.product(CELLS, (False, True), (1, 2)))
COMBO_IDS = [f"{c}-{'bi' if b else 'uni'}-L{n}" for c, b, n in COMBOS]

INPUT, HIDDEN = 3, 5


def make(cell: str, bidirectional: bool = False, layers: int = 1, seed: int = 0, double: bool = True,
         **extra) -> RecurrentBackbone:
    torch.manual_seed(seed)
    input_size = extra.pop("input_size", INPUT)
    cfg = BackboneConfig(cell=cell, hidden=extra.pop("hidden", HIDDEN), layers=layers,
                         bidirectional=bidirectional, **extra)
    bb = RecurrentBackbone(input_size, cfg)
    bb.eval()
    return bb.double() if double else bb


def states(state) -> tuple[torch.Tensor, ...]:
    return state if isinstance(state, tuple) else (state,)


# --- shapes ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell,bidirectional,layers", COMBOS, ids=COMBO_IDS)
def test_shapes_and_output_size(cell, bidirectional, layers):
    bb = make(cell, bidirectional, layers)
    dirs = 2 if bidirectional else 1
    assert bb.output_size == HIDDEN * dirs
    x = torch.randn(4, 7, INPUT, dtype=torch.float64)
    out, state = bb(x)
    assert out.shape == (4, 7, HIDDEN * dirs)
    parts = states(state)
    assert len(parts) == (2 if cell == "lstm" else 1)
    for s in parts:
        assert s.shape == (layers * dirs, 4, HIDDEN)
    assert bb.last_hidden(state).shape == (4, bb.output_size)
    init = states(bb.initial_state(4, dtype=torch.float64))
    assert [s.shape for s in init] == [s.shape for s in parts]
    assert all(float(s.abs().sum()) == 0.0 for s in init)


@pytest.mark.parametrize("cell", CELLS)
def test_wraps_the_fused_module_with_no_python_time_loop(cell):
    """The recurrence is one call of PyTorch's fused op, however long the sequence is."""
    bb = make(cell, bidirectional=True, layers=2, double=False)
    assert type(bb.rnn) is FUSED[cell]
    assert bb.rnn.batch_first
    assert [type(m) for m in bb.children()] == [FUSED[cell]]

    class Calls(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.names: list[str] = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            self.names.append(getattr(func, "__name__", str(func)))
            return func(*args, **(kwargs or {}))

    counts = {}
    for steps in (4, 60):
        x = torch.randn(3, steps, INPUT)
        lengths = torch.tensor([steps, 2, 1])
        with Calls() as plain:
            bb(x)
        with Calls() as packed:
            bb(x, lengths)
        assert plain.names.count(FUSED_OP[cell]) == 1
        assert packed.names.count(FUSED_OP[cell]) == 1
        counts[steps] = (len(plain.names), len(packed.names))
    assert counts[4] == counts[60], f"Python-level calls grow with sequence length: {counts}"


# --- packing ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell,bidirectional,layers", COMBOS, ids=COMBO_IDS)
def test_packed_batch_equals_each_sequence_alone(cell, bidirectional, layers):
    bb = make(cell, bidirectional, layers)
    torch.manual_seed(1)
    lengths = torch.tensor([4, 9, 1, 6])  # unsorted on purpose
    total = 11  # longer than any sequence: the padding must not matter at all
    x = torch.randn(len(lengths), total, INPUT, dtype=torch.float64)
    x_garbage = x.clone()
    for i, n in enumerate(lengths):
        x_garbage[i, n:] = 1e3  # huge junk in the padding
    with torch.no_grad():
        out, state = bb(x_garbage, lengths)
        assert out.shape == (len(lengths), total, bb.output_size)
        last = bb.last_hidden(state)
        for i, n in enumerate(lengths.tolist()):
            alone_out, alone_state = bb(x[i:i + 1, :n])
            torch.testing.assert_close(out[i, :n], alone_out[0], rtol=1e-10, atol=1e-12)
            assert out[i, n:].numel() > 0 and float(out[i, n:].abs().sum()) == 0.0, "padded outputs must be zero"
            for s, a in zip(states(state), states(alone_state)):
                torch.testing.assert_close(s[:, i], a[:, 0], rtol=1e-10, atol=1e-12)
            torch.testing.assert_close(last[i], bb.last_hidden(alone_state)[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell,bidirectional", list(itertools.product(CELLS, (False, True))))
def test_last_hidden_is_the_output_at_each_true_end(cell, bidirectional):
    """Forward half: the output at the last valid step; backward half: the output at step 0."""
    bb = make(cell, bidirectional, layers=2)
    lengths = torch.tensor([3, 8, 5])
    x = torch.randn(3, 8, INPUT, dtype=torch.float64)
    with torch.no_grad():
        out, state = bb(x, lengths)
    last = bb.last_hidden(state)
    for i, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(last[i, :HIDDEN], out[i, n - 1, :HIDDEN])
        if bidirectional:
            torch.testing.assert_close(last[i, HIDDEN:], out[i, 0, HIDDEN:])


def test_lengths_may_live_on_any_device_and_be_any_int_type():
    bb = make("gru")
    x = torch.randn(2, 5, INPUT, dtype=torch.float64)
    with torch.no_grad():
        a, _ = bb(x, torch.tensor([5, 2]))
        b, _ = bb(x, torch.tensor([5, 2], dtype=torch.int32))
    torch.testing.assert_close(a, b)


# --- continuing from a state -------------------------------------------------------------------------

@pytest.mark.parametrize("cell,layers", list(itertools.product(CELLS, (1, 2))))
def test_two_halves_equal_the_whole(cell, layers):
    bb = make(cell, False, layers)
    x = torch.randn(2, 12, INPUT, dtype=torch.float64)
    with torch.no_grad():
        whole, whole_state = bb(x)
        first, mid = bb(x[:, :5])
        second, end = bb(x[:, 5:], state=mid)
        zero_start, _ = bb(x, state=bb.initial_state(2, dtype=torch.float64))
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole, rtol=1e-10, atol=1e-12)
    for a, b in zip(states(end), states(whole_state)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(zero_start, whole)


@pytest.mark.parametrize("cell", CELLS)
def test_packed_batch_continues_from_a_given_state(cell):
    """With lengths and a state, each row starts from its own slice of the state (unsorted lengths)."""
    bb = make(cell, False, layers=2)
    lengths = torch.tensor([2, 6, 4])
    x = torch.randn(3, 6, INPUT, dtype=torch.float64)
    h0 = tuple(torch.randn(2, 3, HIDDEN, dtype=torch.float64) for _ in range(2 if cell == "lstm" else 1))
    state0 = h0 if cell == "lstm" else h0[0]
    with torch.no_grad():
        out, state = bb(x, lengths, state0)
        for i, n in enumerate(lengths.tolist()):
            own = tuple(s[:, i:i + 1].contiguous() for s in h0)
            alone_out, alone_state = bb(x[i:i + 1, :n], state=own if cell == "lstm" else own[0])
            torch.testing.assert_close(out[i, :n], alone_out[0])
            for s, a in zip(states(state), states(alone_state)):
                torch.testing.assert_close(s[:, i], a[:, 0])


# --- initialisation ----------------------------------------------------------------------------------

def named(bb: RecurrentBackbone, prefix: str) -> list[tuple[str, torch.Tensor]]:
    found = [(n, p.detach()) for n, p in bb.rnn.named_parameters() if n.startswith(prefix)]
    assert found, prefix
    return found


@pytest.mark.parametrize("cell,bidirectional,layers", COMBOS, ids=COMBO_IDS)
def test_keras_init(cell, bidirectional, layers):
    hidden, inp = 16, 7
    bb = make(cell, bidirectional, layers, double=False, hidden=hidden, input_size=inp)
    assert bb.cfg.init == "keras"  # the default
    gates = GATES[cell]
    dirs = 2 if bidirectional else 1
    for name, w in named(bb, "weight_hh"):
        assert w.shape == (gates * hidden, hidden)
        # orthogonal_ on a tall (gates*H, H) matrix gives orthonormal columns: W^T W = I_H.
        torch.testing.assert_close(w.T @ w, torch.eye(hidden), atol=1e-5, rtol=0, msg=name)
        if gates == 1:  # square: rows orthonormal too
            torch.testing.assert_close(w @ w.T, torch.eye(hidden), atol=1e-5, rtol=0, msg=name)
    for name, w in named(bb, "weight_ih"):
        fan_in = inp if name.startswith("weight_ih_l0") else hidden * dirs
        fan_out = gates * hidden
        assert w.shape == (fan_out, fan_in)
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        top = float(w.abs().max())
        # uniform(-bound, bound): within it, and with >= 112 draws the largest one is near it
        assert top <= bound + 1e-7, name
        assert top > 0.9 * bound, f"{name}: max |w| {top:.4f} far below the Glorot bound {bound:.4f}"
        assert abs(float(w.mean())) < 0.2 * bound
    for name, b in named(bb, "bias"):
        expected = torch.zeros_like(b)
        if cell == "lstm" and name.startswith("bias_ih"):
            expected[hidden:2 * hidden] = 1.0  # forget gate (PyTorch order i, f, g, o)
        assert torch.equal(b, expected), name
    if cell == "lstm":  # the forget gate's total bias is exactly 1, every other gate's 0
        for suffix in {n[len("bias_ih"):] for n, _ in named(bb, "bias_ih")}:
            total = getattr(bb.rnn, "bias_ih" + suffix) + getattr(bb.rnn, "bias_hh" + suffix)
            assert total.tolist() == [0.0] * hidden + [1.0] * hidden + [0.0] * (2 * hidden)


@pytest.mark.parametrize("cell", CELLS)
def test_pytorch_init_keeps_pytorch_default(cell):
    hidden = 16
    bb = make(cell, True, 2, double=False, hidden=hidden, init="pytorch")
    limit = 1 / math.sqrt(hidden)  # PyTorch: every parameter ~ U(-1/sqrt(H), 1/sqrt(H))
    for name, p in bb.rnn.named_parameters():
        p = p.detach()
        assert float(p.abs().max()) <= limit + 1e-7, name
        if name.startswith("bias"):
            assert float(p.abs().sum()) > 0, f"{name} is zero: keras init was applied"
    w = bb.rnn.weight_hh_l0
    assert not torch.allclose(w.T @ w, torch.eye(hidden), atol=1e-2)


def test_keras_init_is_reproducible_and_applies_to_a_bare_module():
    a, b = nn.LSTM(4, 6), nn.LSTM(4, 6)
    torch.manual_seed(3)
    keras_init_(a)
    torch.manual_seed(3)
    keras_init_(b)
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(p, q), n
    assert a.bias_ih_l0[6:12].tolist() == [1.0] * 6


def test_count_parameters_matches_the_formula():
    # LSTM layer: 4H(I + H) weights + 8H biases; 2nd bidirectional layer reads 2H inputs
    bb = make("lstm", True, 2, hidden=HIDDEN)
    h, i = HIDDEN, INPUT
    per_dir_l0 = 4 * h * (i + h) + 8 * h
    per_dir_l1 = 4 * h * (2 * h + h) + 8 * h
    assert count_parameters(bb) == 2 * (per_dir_l0 + per_dir_l1)


# --- dropout -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", CELLS)
def test_dropout_only_between_layers(cell):
    x = torch.randn(4, 10, INPUT, dtype=torch.float64)

    two = make(cell, layers=2, dropout=0.5)
    assert two.rnn.dropout == 0.5
    two.train()
    with torch.no_grad():
        a, _ = two(x)
        b, _ = two(x)
    assert not torch.allclose(a, b), "dropout between two layers should be active in training"
    two.eval()
    with torch.no_grad():
        torch.testing.assert_close(two(x)[0], two(x)[0], rtol=0, atol=0)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PyTorch warns about dropout on a single layer
        one = make(cell, layers=1, dropout=0.5)
    assert one.rnn.dropout == 0.0
    assert one.cfg.dropout == 0.5  # the user's setting is kept in the config
    one.train()
    with torch.no_grad():
        torch.testing.assert_close(one(x)[0], one(x)[0], rtol=0, atol=0)


def test_overrides_replace_config_fields():
    cfg = BackboneConfig(cell="gru", hidden=8)
    bb = RecurrentBackbone(2, cfg, hidden=12, bidirectional=True)
    assert (bb.hidden_size, bb.directions, bb.output_size) == (12, 2, 24)
    assert isinstance(bb.rnn, nn.GRU)
    assert cfg.hidden == 8  # the caller's config is not mutated


@pytest.mark.parametrize("cell,layers,bidirectional", [("gru", 2, True), ("lstm", 1, True), ("rnn", 2, False)])
def test_padded_recurrence_equals_packing(cell, layers, bidirectional):
    """The unpacked recurrence (fast on CPU) gives packing's outputs and final states, weight for weight."""
    torch.manual_seed(0)
    cfg = BackboneConfig(cell=cell, hidden=6, layers=layers, bidirectional=bidirectional)
    packed, padded = PackedRecurrence(5, cfg), PaddedRecurrence(5, cfg)
    fused = packed.rnn.rnn
    for depth, directions in enumerate(padded.layers):
        for d, single in enumerate(directions):
            suffix = "_reverse" if d else ""
            for name, param in single.rnn.named_parameters():
                param.data.copy_(getattr(fused, name.replace("_l0", f"_l{depth}") + suffix))
    lengths = torch.tensor([7, 3, 12, 1, 12])
    x = torch.randn(5, 12, 5)
    x[torch.arange(12)[None] >= lengths[:, None]] = 1e3  # padding that would wreck any state it reached
    out_packed, last_packed = packed(x, lengths)
    out_padded, last_padded = padded(x, lengths)
    torch.testing.assert_close(out_padded, out_packed, rtol=0, atol=1e-5)
    torch.testing.assert_close(last_padded, last_packed, rtol=0, atol=1e-5)
    for encoder, expected in ((packed, last_packed), (padded, last_padded)):
        no_outputs, last = encoder(x, lengths, outputs=False)  # final states only, as 'last' pooling reads
        assert no_outputs is None
        torch.testing.assert_close(last, expected, rtol=0, atol=0)

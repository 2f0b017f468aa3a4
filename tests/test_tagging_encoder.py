"""The per-direction padded encoder gives exactly what packed sequences give, at real positions."""

from __future__ import annotations

import pytest
import torch

from suite.backbones import RecurrentBackbone
from suite.config import BackboneConfig
from tasks.tagging.encoder import PaddedBiRNN, reverse_within_lengths


def test_reverse_within_lengths_keeps_padding_in_place():
    index = reverse_within_lengths(torch.tensor([3, 1, 4]), 4, "cpu")
    assert index.tolist() == [[2, 1, 0, 3], [0, 1, 2, 3], [3, 2, 1, 0]]


@pytest.mark.parametrize("cell,layers,bidirectional", [("lstm", 1, True), ("gru", 2, True), ("lstm", 2, False)])
def test_padded_encoder_equals_packed_backbone(cell, layers, bidirectional):
    torch.manual_seed(0)
    cfg = BackboneConfig(cell=cell, hidden=8, layers=layers, bidirectional=bidirectional, init="pytorch")
    padded = PaddedBiRNN(5, cfg).eval()
    packed = RecurrentBackbone(5, cfg).eval()
    # copy the per-direction weights into the fused multi-layer module's names (suffix _reverse)
    with torch.no_grad():
        for layer in range(layers):
            for name, p in padded.forward_layers[layer].rnn.named_parameters():
                getattr(packed.rnn, name.replace("_l0", f"_l{layer}")).copy_(p)
            if bidirectional:
                for name, p in padded.backward_layers[layer].rnn.named_parameters():
                    getattr(packed.rnn, name.replace("_l0", f"_l{layer}") + "_reverse").copy_(p)
    lengths = torch.tensor([6, 2, 4, 1])
    x = torch.randn(4, 6, 5)
    x[torch.arange(6)[None] >= lengths[:, None]] = 1e3  # padding that would wreck any state it reached
    want, _ = packed(x, lengths)
    got = padded(x, lengths)
    real = torch.arange(6)[None] < lengths[:, None]
    assert torch.allclose(got[real], want[real], atol=1e-5)

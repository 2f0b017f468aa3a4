"""Attention over encoder states, masked so that padded source positions get exactly zero weight."""

from __future__ import annotations

import torch
from torch import nn


class Attention(nn.Module):
    """Scores ``(B, T, S)`` of decoder states against encoder states.

    multiplicative: ``q . W k`` (Luong's "general"); additive: ``v . tanh(W q + U k)`` (Bahdanau). Keys
    are projected once per sentence (``keys``), then reused at every decoder step.
    """

    def __init__(self, kind: str, query_size: int, memory_size: int, size: int):
        super().__init__()
        self.kind = kind
        if kind == "multiplicative":
            self.key = nn.Linear(memory_size, query_size, bias=False)
        elif kind == "additive":
            self.key = nn.Linear(memory_size, size, bias=True)
            self.query = nn.Linear(query_size, size, bias=False)
            self.v = nn.Linear(size, 1, bias=False)
        else:
            raise ValueError(f"unknown attention {kind!r}")

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        return self.key(memory)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, memory: torch.Tensor,
                mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``query (B, T, Q)``, ``mask (B, S)`` true at real tokens -> context ``(B, T, M)``, weights ``(B, T, S)``."""
        if self.kind == "multiplicative":
            scores = torch.bmm(query, keys.transpose(1, 2))
        else:
            scores = self.v(torch.tanh(self.query(query).unsqueeze(2) + keys.unsqueeze(1))).squeeze(-1)
        scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        return torch.bmm(weights, memory), weights

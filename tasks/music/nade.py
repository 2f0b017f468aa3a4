"""A NADE output distribution over the keys of one frame (RNN-NADE, Boulanger-Lewandowski et al. 2012).

The recurrent state gives the NADE's biases; its weights are shared over time. Key ``i`` is on with
probability ``sigmoid(b_v[i] + V[i] . sigmoid(b_h + W[:i]^T v[:i]))``, lowest key first. Under teacher
forcing the hidden pre-activations of all keys are one exclusive cumulative sum over keys, so the
likelihood is computed for every key at once; only sampling visits the keys one by one.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


CHUNK_ELEMENTS = 1_000_000  # floats per (steps, keys, hidden) block: small enough to reuse memory


def _hidden(frames: torch.Tensor, b_h: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """sigmoid(b_h + sum of W over the keys strictly below each key that are on): (n, keys, hidden)."""
    contributions = frames.unsqueeze(-1) * W
    before = torch.cumsum(contributions, dim=1).sub_(contributions)
    return torch.sigmoid_(before.add_(b_h.unsqueeze(1)))


class _NadeReadout(torch.autograd.Function):
    """``(h * V).sum(-1)`` of every key, in blocks of steps, recomputing ``h`` in the backward pass.

    Autograd through the plain expression would keep several (steps, keys, hidden) tensors per batch
    (hundreds of MB on a CPU, re-faulted from the OS on every step); this keeps none."""

    @staticmethod
    def forward(ctx, frames, b_h, W, V):
        ctx.save_for_backward(frames, b_h, W, V)
        out = frames.new_empty(frames.shape)
        for s in _blocks(frames, W.shape[1]):
            out[s] = torch.einsum("nkh,kh->nk", _hidden(frames[s], b_h[s], W), V)
        return out

    @staticmethod
    def backward(ctx, grad):
        frames, b_h, W, V = ctx.saved_tensors
        d_bh, d_W, d_V = torch.zeros_like(b_h), torch.zeros_like(W), torch.zeros_like(V)
        for s in _blocks(frames, W.shape[1]):
            h = _hidden(frames[s], b_h[s], W)
            g = grad[s]
            d_V += torch.einsum("nk,nkh->kh", g, h)
            d_a = h.mul_(1 - h).mul_(g.unsqueeze(-1) * V)  # through the sigmoid, in place of h
            d_bh[s] = d_a.sum(1)
            after = d_a.sum(1, keepdim=True) - torch.cumsum(d_a, dim=1)  # keys strictly above
            d_W += torch.einsum("nk,nkh->kh", frames[s], after)
        return None, d_bh, d_W, d_V


def _blocks(frames: torch.Tensor, hidden: int):
    n, keys = frames.shape
    size = max(1, CHUNK_ELEMENTS // (keys * hidden))
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


class NADE(nn.Module):
    def __init__(self, context_size: int, keys: int = 88, hidden: int = 150):
        super().__init__()
        self.keys, self.hidden = keys, hidden
        self.W = nn.Parameter(torch.randn(keys, hidden) * 0.01)  # key i's contribution to later keys
        self.V = nn.Parameter(torch.randn(keys, hidden) * 0.01)  # key i's read-out
        self.to_visible_bias = nn.Linear(context_size, keys)
        self.to_hidden_bias = nn.Linear(context_size, hidden)

    def logits(self, context: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """Logits of every key given the keys below it in ``frames`` (..., keys), all keys at once."""
        shape = frames.shape
        context, frames = context.reshape(-1, context.shape[-1]), frames.reshape(-1, shape[-1])
        readout = _NadeReadout.apply(frames, self.to_hidden_bias(context), self.W, self.V)
        return (self.to_visible_bias(context) + readout).reshape(shape)

    def log_prob(self, context: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """log p(frame | context), summed over keys: shape ``frames.shape[:-1]``."""
        logits = self.logits(context, frames)
        return -F.binary_cross_entropy_with_logits(logits, frames, reduction="none").sum(-1)

    @torch.no_grad()
    def sample(self, context: torch.Tensor, temperature: float = 1.0,
               generator: torch.Generator | None = None, greedy: bool = False) -> torch.Tensor:
        """Frames for a batch of contexts ``(n, context_size)``; ``greedy`` takes each key's likelier value."""
        b_v, a = self.to_visible_bias(context), self.to_hidden_bias(context)
        frames = torch.zeros(context.shape[0], self.keys, dtype=context.dtype, device=context.device)
        for i in range(self.keys):
            logit = b_v[:, i] + (torch.sigmoid(a) * self.V[i]).sum(-1)
            if greedy:
                on = (logit > 0).to(context.dtype)
            else:
                on = torch.bernoulli(torch.sigmoid(logit / temperature), generator=generator)
            frames[:, i] = on
            a = a + on.unsqueeze(-1) * self.W[i]
        return frames

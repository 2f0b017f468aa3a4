"""A linear-chain CRF over per-token scores, batched and masked.

The forward algorithm (log partition) and Viterbi run one vectorised step per position over the whole
batch: the recursion over positions is inherent to both, and each step is a (batch, tags, tags)
tensor operation. Padded positions (``mask`` false) leave the running scores untouched, so a
sentence's result does not depend on the batch it is in.
"""

from __future__ import annotations

import torch
from torch import nn

NEG = -1e4  # a forbidden move: far below any reachable score, yet finite so no NaN appears


class CRF(nn.Module):
    def __init__(self, num_tags: int, allowed: tuple[list[bool], list[list[bool]], list[bool]] | None = None):
        super().__init__()
        self.num_tags = num_tags
        self.start = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        self.end = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags).uniform_(-0.1, 0.1))  # [from, to]
        # Moves that make an ill-formed entity sequence (O -> I-PER) are fixed at NEG, not learned.
        if allowed is None:
            penalties = (torch.zeros(num_tags), torch.zeros(num_tags, num_tags), torch.zeros(num_tags))
        else:
            penalties = tuple((~torch.tensor(a, dtype=torch.bool)).float() * NEG for a in allowed)
        self.register_buffer("start_penalty", penalties[0], persistent=False)
        self.register_buffer("trans_penalty", penalties[1], persistent=False)
        self.register_buffer("end_penalty", penalties[2], persistent=False)

    def potentials(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The start, transition and end scores, with ill-formed moves fixed at NEG."""
        return (self.start + self.start_penalty, self.transitions + self.trans_penalty,
                self.end + self.end_penalty)

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log Z per sentence: ``emissions`` (B, T, K), ``mask`` (B, T) with every first position true."""
        start, trans, end = self.potentials()
        alpha = start + emissions[:, 0]
        for t in range(1, emissions.shape[1]):
            step = torch.logsumexp(alpha.unsqueeze(2) + trans, dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t, None], step, alpha)
        return torch.logsumexp(alpha + end, dim=1)

    def sequence_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The unnormalised log score of the given tag paths (B,)."""
        start, trans, end = self.potentials()
        maskf = mask.to(emissions.dtype)
        emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)
        score = start[tags[:, 0]] + (emit * maskf).sum(dim=1)
        moves = trans[tags[:, :-1], tags[:, 1:]]
        score = score + (moves * maskf[:, 1:]).sum(dim=1)
        last = tags.gather(1, (mask.sum(dim=1) - 1).clamp(min=0).unsqueeze(1)).squeeze(1)
        return score + end[last]

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood per sentence (B,)."""
        return self.log_partition(emissions, mask) - self.sequence_score(emissions, tags, mask)

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor,
               potentials: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """The best tag path per sentence (B, T); padded positions hold 0. ``potentials`` replaces
        this layer's ``potentials()``, e.g. with an ensemble's averages."""
        start, trans, end = potentials if potentials is not None else self.potentials()
        batch, length, _ = emissions.shape
        score = start + emissions[:, 0]
        pointers = []
        for t in range(1, length):
            best, arg = (score.unsqueeze(2) + trans).max(dim=1)
            step = best + emissions[:, t]
            keep = mask[:, t, None]
            score = torch.where(keep, step, score)
            # at padding, point each tag at itself so the path carries through unchanged
            identity = torch.arange(self.num_tags, device=emissions.device).expand(batch, -1)
            pointers.append(torch.where(keep, arg, identity))
        best_last = (score + end).argmax(dim=1)
        path = [best_last]
        for ptr in reversed(pointers):
            path.append(ptr.gather(1, path[-1].unsqueeze(1)).squeeze(1))
        path.reverse()
        tags = torch.stack(path, dim=1)
        return tags.masked_fill(~mask, 0)

"""Greedy and beam-search decoding, batched over sentences (and beams).

A sentence may produce at most ``ratio * source_length + 10`` tokens. Beam search keeps ``K`` live
hypotheses per sentence; a hypothesis that ends (``</s>`` among the top ``K`` candidates) is set aside
with its score divided by ``length ** alpha``, and a sentence is done once ``K`` have ended. With
``K = 1`` this is exactly greedy decoding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .segmenters import BOS_ID, EOS_ID


@dataclass
class Hypothesis:
    tokens: list[int]  # without <s> and </s>
    score: float  # summed log-probability (of </s> too, when it ended)
    attention: list[list[float]] = field(default_factory=list)  # one row per output token (and </s>)
    normalised: float = 0.0


def max_lengths(src_len: torch.Tensor, ratio: float) -> torch.Tensor:
    return (src_len.float() * ratio).floor().long() + 10


@torch.no_grad()
def greedy(model, src: torch.Tensor, src_len: torch.Tensor, ratio: float,
           keep_attention: bool = False) -> list[Hypothesis]:
    was_training = model.training
    model.eval()
    try:
        enc = model.encode(src, src_len)
        batch = src.shape[0]
        limit = max_lengths(src_len, ratio).to(src.device)
        tokens = torch.full((batch,), BOS_ID, dtype=torch.long, device=src.device)
        state, feed = enc.state, model.initial_feed(enc)
        out = [Hypothesis([], 0.0) for _ in range(batch)]
        alive = torch.ones(batch, dtype=torch.bool, device=src.device)
        for t in range(int(limit.max())):
            logits, state, feed, weights = model.decode_step(tokens, state, feed, enc)
            logp = torch.log_softmax(logits.float(), dim=-1)
            best, tokens = logp.max(dim=-1)
            for b in alive.nonzero().flatten().tolist():
                hyp = out[b]
                hyp.score += float(best[b])
                if keep_attention and weights is not None:
                    hyp.attention.append(weights[b, : int(src_len[b])].tolist())
                if int(tokens[b]) == EOS_ID:
                    alive[b] = False
                else:
                    hyp.tokens.append(int(tokens[b]))
                    if t + 1 >= int(limit[b]):
                        alive[b] = False
            if not alive.any():
                break
        for hyp in out:
            hyp.normalised = hyp.score
        return out
    finally:
        model.train(was_training)


@torch.no_grad()
def beam_search(model, src: torch.Tensor, src_len: torch.Tensor, beam: int, alpha: float, ratio: float,
                keep_attention: bool = False, n_best: int = 1) -> list[Hypothesis] | list[list[Hypothesis]]:
    """The best hypothesis per sentence (or the ``n_best`` best, best first, when ``n_best > 1``)."""
    was_training = model.training
    model.eval()
    try:
        return _beam(model, src, src_len, beam, alpha, ratio, keep_attention, n_best)
    finally:
        model.train(was_training)


def _beam(model, src, src_len, K, alpha, ratio, keep_attention, n_best):
    device = src.device
    B = src.shape[0]
    enc = model.encode(src, src_len)
    flat = torch.arange(B, device=device).repeat_interleave(K)
    enc = enc.select(flat)
    state, feed = enc.state, model.initial_feed(enc)
    limit = max_lengths(src_len, ratio).tolist()
    tokens = torch.full((B * K,), BOS_ID, dtype=torch.long, device=device)
    scores = torch.zeros(B, K, device=device)
    scores[:, 1:] = float("-inf")  # all beams start identical: expand only the first
    history = torch.empty(B * K, 0, dtype=torch.long, device=device)
    attn_hist = torch.empty(B * K, 0, src.shape[1], device=device) if keep_attention else None
    if model.attention_kind == "none":
        keep_attention, attn_hist = False, None
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    done = [False] * B
    for t in range(max(limit)):
        logits, state, feed, weights = model.decode_step(tokens, state, feed, enc)
        logp = torch.log_softmax(logits.float(), dim=-1)
        V = logp.shape[-1]
        cand = (scores.view(B * K, 1) + logp).view(B, K * V)
        top_scores, top_idx = cand.topk(2 * K, dim=-1)
        from_beam, word = top_idx // V, top_idx % V
        attn_now = weights if keep_attention else None  # (B*K, S) for the beams that were expanded
        ended = ((word[:, :K] == EOS_ID) & (top_scores[:, :K] > float("-inf"))).nonzero().tolist()
        for b, j in ended:
            if done[b]:
                continue
            row = b * K + int(from_beam[b, j])
            finished[b].append(_hypothesis(history[row], float(top_scores[b, j]), t + 1, alpha,
                                           attn_hist, attn_now, row, int(src_len[b])))
        for b in {b for b, _ in ended}:
            if len(finished[b]) >= K:
                done[b] = True
        # the live beams: the best K candidates that did not end
        alive_scores = top_scores.masked_fill(word == EOS_ID, float("-inf"))
        keep_scores, keep = alive_scores.topk(K, dim=-1)
        rows = (torch.arange(B, device=device)[:, None] * K + from_beam.gather(1, keep)).view(-1)
        tokens = word.gather(1, keep).view(-1)
        scores = keep_scores
        history = torch.cat([history.index_select(0, rows), tokens[:, None]], dim=1)
        if attn_now is not None:
            attn_hist = torch.cat([attn_hist.index_select(0, rows), attn_now.index_select(0, rows)[:, None]], 1)
        state = _select(state, rows)
        feed = None if feed is None else feed.index_select(0, rows)
        for b in range(B):
            if not done[b] and t + 1 >= limit[b]:  # out of length: the live beams end here
                for j in range(K):
                    if scores[b, j] > float("-inf"):
                        row = b * K + j
                        finished[b].append(_hypothesis(history[row], float(scores[b, j]), t + 1, alpha,
                                                       attn_hist, None, row, int(src_len[b]), ended=False))
                done[b] = True
        if all(done):
            break
    results = []
    for b in range(B):
        ranked = sorted(finished[b], key=lambda h: h.normalised, reverse=True)
        results.append(ranked[:n_best] if n_best > 1 else ranked[0])
    return results


def _select(state, rows):
    if isinstance(state, tuple):
        return tuple(s.index_select(1, rows) for s in state)
    return state.index_select(1, rows)


def _hypothesis(history_row, score, length, alpha, attn_hist, attn_now, row, src_len, ended=True) -> Hypothesis:
    """A finished hypothesis; ``history_row`` holds its tokens before </s> (all of them if it ran out)."""
    tokens = history_row[:length - 1].tolist() if ended else history_row.tolist()
    attention = []
    if attn_hist is not None:
        attention = attn_hist[row, :, :src_len].tolist()[: len(tokens)]
        if ended and attn_now is not None:
            attention.append(attn_now[row, :src_len].tolist())
    return Hypothesis(tokens, score, attention, score / (length ** alpha) if alpha else score)

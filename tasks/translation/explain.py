"""Which source tokens each output token came from: Integrated Gradients on the source embeddings.

The translation is the one ``predict`` returns (greedy or beam). It is fed back with teacher forcing,
and for each generated token u the function explained is its log-probability given the source and the
tokens before it, the very number decoding chose it by. Each is attributed to every source token (the
source embedding's dimensions summed), a matrix shaped like the attention beside it: rows, the output
tokens; columns, the source tokens. The baseline keeps the source's length and sets every source token's
embedding to zero, the padding token's vector: the decoder still attends over as many positions, so
what is attributed is what the source words say. An empty translation explains its end-of-sentence token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from suite.errors import UserError
from suite.insight.attribution import (check_steps, completeness_line, integrated_gradients, method_line,
                                       output_replaced, refuse_horizon, require_captum, rounded, signed)

if TYPE_CHECKING:
    from .models import Seq2Seq
    from .task import TranslationTask

BASELINE = "every source token's embedding set to zero (the padding token's vector), the source's length kept"
#: source tokens shown beside each output token in the printed table (all of them are in the JSON)
SHOWN = 3


def explain(task: TranslationTask, model: Seq2Seq, raw_input: str, *, steps: int | None = None,
            horizon: str | None = None) -> dict[str, Any]:
    from .segmenters import BOS_ID, EOS_ID, EOS, UNK_ID

    refuse_horizon(task.name, horizon)
    check_steps(steps)
    require_captum()
    prediction = task.predict(model, raw_input)
    source, target = model.segmenters
    opts = model.cfg.options
    src_ids = source.encode(raw_input.strip())[: opts.max_length] or [UNK_ID]  # what predict encoded
    pieces = prediction["target_tokens"]
    out_ids = [UNK_ID if p == "<unk>" else target.tokenizer.token_to_id(p) for p in pieces]
    if any(i is None for i in out_ids):
        raise UserError(f"--explain: the translation's tokens are not in the target vocabulary ({pieces})")
    explained, gold = (pieces, out_ids) if out_ids else ([EOS], [EOS_ID])
    model.eval()
    device = model.device
    src = torch.tensor([src_ids], dtype=torch.long, device=device)
    src_len = torch.tensor([len(src_ids)])
    tgt_in = torch.tensor([[BOS_ID] + gold[:-1]], dtype=torch.long, device=device)
    tgt_len = torch.tensor([len(gold)])
    gold_t = torch.tensor(gold, device=device)
    steps_t = torch.arange(len(gold), device=device)

    def log_probabilities(embedded: torch.Tensor) -> torch.Tensor:
        k = embedded.shape[0]
        with output_replaced(model.src_embed, embedded):
            logits = model(src.expand(k, -1), src_len.expand(k), tgt_in.expand(k, -1), tgt_len.expand(k))
        # in float64: a log-probability near 0 is logit - logsumexp, two numbers near 10 whose float32
        # difference keeps only about 1e-6, which is a share of f(x) - f(baseline) when that is 1e-4
        return torch.log_softmax(logits.double(), dim=-1)[:, steps_t, gold_t]  # (k, output tokens)

    with torch.no_grad():
        embedded = model.src_embed(src)[0]
    result = integrated_gradients(log_probabilities, [embedded], [torch.zeros_like(embedded)], len(gold),
                                  steps=steps)
    matrix = result.values[0].sum(dim=-1)  # (output token, source token)
    source_tokens = prediction["source_tokens"]
    return {
        "method": "integrated_gradients",
        "target": "each output token's log-probability, the translation fed back with teacher forcing",
        "baseline": BASELINE,
        "steps": result.steps,
        "source_tokens": source_tokens,
        "target_tokens": explained,
        "attributions": [[rounded(v) for v in row] for row in matrix],
        "attributions_layout": "rows: the output tokens; columns: the source tokens (as the attention)",
        "log_probabilities": [rounded(v) for v in result.f_x],
        "completeness": result.completeness([f"'{p}' ({u + 1})" for u, p in enumerate(explained)],
                                            noun="output token"),
        "prediction": prediction,
    }


def render(explanation: dict[str, Any]) -> str:
    source, matrix = explanation["source_tokens"], explanation["attributions"]
    attention = explanation["prediction"].get("attention") or []
    targets = explanation["target_tokens"]
    width = max(len(t) for t in targets)
    lines = [method_line(explanation),
             f"  {'output':<{width}}  {'log p':>8}  the source tokens that mattered most (attention in brackets)"]
    for u, token in enumerate(targets):
        row = matrix[u]
        weights = attention[u] if u < len(attention) else None
        best = sorted(range(len(source)), key=lambda i: -abs(row[i]))[:SHOWN]
        told = ", ".join(f"{source[i]} {signed(row[i])}" + (f" ({weights[i]:.2f})" if weights else "")
                         for i in best)
        lines.append(f"  {token:<{width}}  {explanation['log_probabilities'][u]:>8.3f}  {told}")
    lines.append(completeness_line(explanation["completeness"]))
    return "\n".join(lines)

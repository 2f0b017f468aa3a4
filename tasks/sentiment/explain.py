"""Which words decided a sentiment prediction: Integrated Gradients on the word embeddings.

The function explained is the probability of the predicted class (not its logit): the attributions
then sum, by completeness, to how far the text's words move that probability from the baseline's, a
quantity in the same units as the probabilities shown beside it. The baseline keeps the text's length
and sets every word's embedding to zero, the padding token's vector (the embedding's ``padding_idx``
row is kept at zero), the standard "no word here" input for text: the encoder still reads as many
steps, so what is attributed is what the words say, not how many there are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from suite.data.text import truncate
from suite.insight.attribution import (check_steps, completeness_line, integrated_gradients, method_line, number,
                                       output_replaced, refuse_horizon, require_captum, rounded, signed, signed_bar,
                                       single_text)

if TYPE_CHECKING:
    from .models import SentimentModule
    from .task import SentimentTask

BASELINE = "every word's embedding set to zero (the padding token's vector), the text's length kept"
#: words listed in text order up to this many; a longer text lists its most influential words
LISTED = 30


def read_tokens(model: SentimentModule, text: str) -> tuple[list[str], list[int]]:
    """The words the model reads, with their ids: the text's tokens after unknown words are dropped
    (``--oov drop``) and over-long texts are cut, as ``TextPreprocessor.ids`` does."""
    pre = model.preprocessor
    tokens = pre.tokens(text)
    ids = pre.vocab.encode(tokens)
    kept = [i for i, token_id in enumerate(ids) if not (pre.opts.oov == "drop" and token_id == pre.vocab.unk_index)]
    kept = truncate(kept, pre.opts.max_length, pre.opts.truncate)  # positions, cut as the ids are
    if not kept:  # every word dropped: the model reads one <unk> (as classify does)
        return ["<unk>"], [pre.vocab.unk_index]
    return [tokens[i] for i in kept], [ids[i] for i in kept]


def explain(task: SentimentTask, model: SentimentModule, raw_input: str, *, steps: int | None = None,
            horizon: str | None = None) -> dict[str, Any]:
    refuse_horizon(task.name, horizon)
    check_steps(steps)
    require_captum()
    from .task import classify

    text = single_text(raw_input, "text")
    prediction = classify(model, [text], ["--predict"])[0]
    label = model.classes.index(prediction["label"])
    words, ids = read_tokens(model, text)
    if ids != (model.preprocessor.ids(model.preprocessor.tokens(text))[0] or [model.preprocessor.vocab.unk_index]):
        raise RuntimeError("the words --explain lists are not the ids the model reads")  # a drift from data.py
    model.eval()
    device = model.device
    ids_row = torch.tensor([ids], dtype=torch.long, device=device)
    lengths = torch.tensor([len(ids)], dtype=torch.int64)

    def probability(embedded: torch.Tensor) -> torch.Tensor:
        k = embedded.shape[0]
        with output_replaced(model.embedding, embedded):
            logits = model(ids_row.expand(k, -1), lengths.expand(k))
        return model.probabilities(logits.double())[:, [label]]  # float64: a probability near 1 keeps its digits

    with torch.no_grad():
        embedded = model.embedding(ids_row)[0]
    result = integrated_gradients(probability, [embedded], [torch.zeros_like(embedded)], 1, steps=steps)
    per_word = result.values[0][0].sum(dim=-1)  # a word's share: its embedding's dimensions summed
    return {
        "method": "integrated_gradients",
        "target": f"the probability of '{prediction['label']}'",
        "baseline": BASELINE,
        "steps": result.steps,
        "tokens": words,
        "attributions": [rounded(v) for v in per_word],
        "completeness": result.completeness([prediction["label"]]),
        "prediction": prediction,
    }


def render(explanation: dict[str, Any]) -> str:
    words, values = explanation["tokens"], explanation["attributions"]
    order = list(range(len(words)))
    note = None
    if len(words) > LISTED:
        order = sorted(order, key=lambda i: -abs(values[i]))[:LISTED]
        note = f"  ({len(words) - LISTED} more words: all of them in the JSON, --output FILE.json)"
    scale = max((abs(v) for v in values), default=0.0)
    width = max(len(words[i]) for i in order)
    check = explanation["completeness"]
    lines = [method_line(explanation),
             f"{explanation['target']}: {number(check['f_x'])} for this text, {number(check['f_baseline'])} for the "
             f"baseline",
             f"  {'word':<{width}}  attribution" + ("  (the most influential, largest first)" if note else "")]
    lines += [f"  {words[i]:<{width}}  {signed(values[i]):>11}  {signed_bar(values[i], scale)}" for i in order]
    if note:
        lines.append(note)
    lines.append(completeness_line(explanation["completeness"]))
    return "\n".join(lines)

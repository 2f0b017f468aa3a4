"""Which words decided a sentiment prediction: Integrated Gradients over the whole model.

The function explained is the probability of the predicted class (not its logit): the attributions
then sum, by completeness, to how far the text's words move that probability from the baseline's, a
quantity in the same units as the probabilities shown beside it. The baseline keeps the text's length
and sets every word's embedding to zero, the padding token's vector (the embedding's ``padding_idx``
row is kept at zero), the standard "no word here" input for text: the encoder still reads as many
steps, so what is attributed is what the words say, not how many there are.

With the n-gram member (``--ngrams``, the default) the member reads ids, not embeddings, so zero
embeddings leave its logits as they are and an attribution over the embeddings alone would credit the
encoder's share only. The member's logits are the sum of its n-grams' shares plus a bias, so a presence
weight per n-gram (1 for the text, 0 for the baseline: no n-grams, the bias alone) scales each share, and
one Integrated Gradients runs over both inputs at once: the probability is not linear in the two members'
logits, so two separate attributions would not add up to its change. Each n-gram's attribution is then
split equally among the occurrences of its bucket (the member counts a bucket once per text) and each
occurrence's among its words.
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
BASELINE_WITH_NGRAMS = ("no words: every word's embedding set to zero (the padding token's vector), the text's "
                        "length kept, and no n-grams (the n-gram member's bias alone)")
#: words listed in text order up to this many; a longer text lists its most influential words
LISTED = 30
#: n-grams named under the words, the most influential first
NGRAMS_LISTED = 5


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
    with torch.no_grad():
        embedded = model.embedding(ids_row)[0]
    if model.ngrams is None:
        def probability(embedded: torch.Tensor) -> torch.Tensor:
            k = embedded.shape[0]
            with output_replaced(model.embedding, embedded):
                logits = model(ids_row.expand(k, -1), lengths.expand(k))
            return model.probabilities(logits.double())[:, [label]]  # float64: a probability near 1 keeps its digits

        result = integrated_gradients(probability, [embedded], [torch.zeros_like(embedded)], 1, steps=steps)
        per_word = result.values[0][0].sum(dim=-1)  # a word's share: its embedding's dimensions summed
        parts = {}
    else:
        with torch.no_grad():
            shares = model.ngrams.terms(ids_row)[0].double()  # (1, K, outputs), zero where an entry does not count
        bias = model.ngrams.bias.detach().double()

        def probability(embedded: torch.Tensor, presence: torch.Tensor) -> torch.Tensor:
            k = embedded.shape[0]
            with output_replaced(model.embedding, embedded):
                encoder, member = model.members(ids_row.expand(k, -1), lengths.expand(k))
            # the member's own logits, each n-gram's share scaled by its presence (1: the text, 0: none)
            ngrams = ((presence.unsqueeze(-1) * shares).sum(dim=1) + bias).reshape(member.shape)
            return model.probabilities(model.answer(encoder.double(), ngrams))[:, [label]]

        presence = torch.ones(shares.shape[1], dtype=torch.float64, device=device)
        result = integrated_gradients(probability, [embedded, presence],
                                      [torch.zeros_like(embedded), torch.zeros_like(presence)], 1, steps=steps)
        encoder_part = result.values[0][0].sum(dim=-1).double()
        ngram_part, terms = ngram_credit(model, ids_row, words, result.values[1][0], shares[0])
        per_word = encoder_part + ngram_part
        parts = {"parts": {"encoder": [rounded(v) for v in encoder_part],
                           "ngrams": [rounded(v) for v in ngram_part]},
                 "ngram_terms": terms}
    return {
        "method": "integrated_gradients",
        "target": f"the probability of '{prediction['label']}'",
        "baseline": BASELINE if model.ngrams is None else BASELINE_WITH_NGRAMS,
        "steps": result.steps,
        "tokens": words,
        "attributions": [rounded(v) for v in per_word],
        **parts,
        "completeness": result.completeness([prediction["label"]]),
        "prediction": prediction,
    }


def ngram_credit(model: SentimentModule, ids_row: torch.Tensor, words: list[str], values: torch.Tensor,
                 shares: torch.Tensor) -> tuple[torch.Tensor, list[dict[str, Any]]]:
    """The n-gram member's attribution per word, and per n-gram bucket of the text that is a feature, the
    most influential first. ``values``: the IG attribution of each of ``hashed``'s K entries (zero but where
    an entry counts); ``shares``: its ``(K, outputs)`` share of the member's logits."""
    key, _, valid, start, width = (t[0].cpu() for t in model.ngrams.hashed(ids_row, origins=True))
    values, shares = values.double().cpu(), shares.cpu()
    buckets, group, occurrences = torch.unique(key[valid], return_inverse=True, return_counts=True)
    # a bucket's attribution sits on the one entry that counts it; every occurrence gets an equal part of it
    credit = torch.zeros(len(buckets), dtype=torch.float64).index_add_(0, group, values[valid])
    entry = credit[group] / occurrences[group]
    per_word = torch.zeros(len(words), dtype=torch.float64)
    start, width = start[valid], width[valid]
    for offset in range(int(width.max()) if len(width) else 0):
        inside = offset < width
        per_word.index_add_(0, start[inside] + offset, (entry / width)[inside])
    # a bucket the fit made a feature (a non-zero share); the others moved nothing and are not listed
    feature = torch.zeros(len(buckets), dtype=torch.float64).index_add_(
        0, group, (shares[valid] != 0).any(dim=-1).double()) > 0
    terms = []
    for b in range(len(buckets)):
        if not feature[b]:
            continue
        mine = (group == b).nonzero().flatten().tolist()
        texts = dict.fromkeys(" ".join(words[int(start[j]):int(start[j] + width[j])]) for j in mine)
        terms.append({"ngram": " / ".join(texts), "occurrences": len(mine), "attribution": rounded(credit[b])})
    terms.sort(key=lambda t: -abs(t["attribution"]))
    return per_word, terms


def render(explanation: dict[str, Any]) -> str:
    words, values = explanation["tokens"], explanation["attributions"]
    parts = explanation.get("parts")  # absent without the n-gram member: the encoder is the whole model
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
             f"baseline"]
    if parts:
        lines.append("each word's attribution is the encoder's share (its embedding) plus the n-gram member's (each "
                     "n-gram's split among its words)")
    lines.append(f"  {'word':<{width}}  attribution" + ("      encoder     n-grams" if parts else "")
                 + ("  (the most influential, largest first)" if note else ""))
    for i in order:
        row = f"  {words[i]:<{width}}  {signed(values[i]):>11}"
        if parts:
            row += f"  {signed(parts['encoder'][i]):>11}  {signed(parts['ngrams'][i]):>10}"
        lines.append(f"{row}  {signed_bar(values[i], scale)}".rstrip())
    if note:
        lines.append(note)
    terms = explanation.get("ngram_terms")
    if parts:
        named = ", ".join(f"'{t['ngram']}' {signed(t['attribution'])}" for t in terms[:NGRAMS_LISTED])
        more = f" ({len(terms) - NGRAMS_LISTED} more in the JSON)" if len(terms) > NGRAMS_LISTED else ""
        lines.append(f"n-grams, the most influential first: {named}{more}" if terms else
                     "n-grams: none of this text's is a feature of the member")
    lines.append(completeness_line(explanation["completeness"]))
    return "\n".join(lines)

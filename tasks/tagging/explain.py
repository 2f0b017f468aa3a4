"""Which words decided each predicted tag: Integrated Gradients on the tagger's token vectors.

For every position j the function explained is the score the output layer gives the predicted tag at
j (before the softmax, or before the CRF, whose transitions then pick the path: the score is what the
words contribute to it). Each is attributed to every word i of the sentence, a words x words matrix:
row j, the tag of word j; column i, what word i gave it. The attributed input is each token's whole
vector as the encoder reads it (word embedding, pretrained vector and character features joined), so
an unknown word's characters count too. The baseline sets every such vector to zero, the padding
token's word embedding with no character evidence, the sentence's length kept. An ensemble's score
is its members' mean; each member's vectors are attributed and the members' shares added.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import torch

from suite.insight.attribution import (check_steps, completeness_line, input_replaced, integrated_gradients,
                                       method_line, module_input, refuse_horizon, require_captum, rounded, signed,
                                       single_text)

if TYPE_CHECKING:
    from .models import TaggingModule
    from .task import TaggingTask

BASELINE = "every token's vector (word embedding and character features) set to zero, the sentence's length kept"
#: the other words shown beside each tag in the printed table (all of them are in the JSON)
SHOWN = 3


def explain(task: TaggingTask, model: TaggingModule, raw_input: str, *, steps: int | None = None,
            horizon: str | None = None) -> dict[str, Any]:
    from .data import encode_sentences
    from .models import TaggerEnsemble
    from .task import tag_sentences

    refuse_horizon(task.name, horizon)
    check_steps(steps)
    require_captum()
    text = single_text(raw_input, "sentence")
    prediction = tag_sentences(model, [text])[0]
    tokens, tags = prediction["tokens"], prediction["tags"]
    state = model.state
    dataset = encode_sentences([tokens], state)
    item = dataset[0]
    members = list(model.net.members) if isinstance(model.net, TaggerEnsemble) else [model.net]
    model.eval()
    device = model.device
    batches: dict[int, Any] = {}

    def batch_of(k: int):
        if k not in batches:  # the interpolation passes come in a few sizes: collate each once
            batch = dataset.collate([item] * k)
            batches[k] = type(batch)(*(t.to(device) if isinstance(t, torch.Tensor) and name != "lengths" else t
                                       for name, t in zip(batch._fields, batch)))
        return batches[k]

    positions = torch.arange(len(tokens), device=device)
    tag_ids = torch.tensor([state.tags.index(t) for t in tags], device=device)

    def tag_scores(*vectors: torch.Tensor) -> torch.Tensor:
        batch = batch_of(vectors[0].shape[0])
        with ExitStack() as stack:
            for member, x in zip(members, vectors):
                stack.enter_context(input_replaced(member.encoder, x))
            scores = torch.stack([member(batch) for member in members]).mean(dim=0)  # (k, T, K)
        return scores[:, positions, tag_ids].double()  # (k, T): each position's predicted tag

    one = batch_of(1)
    vectors = [module_input(member.encoder, lambda m=member: m(one))[0] for member in members]  # (T, F) each
    result = integrated_gradients(tag_scores, vectors, [torch.zeros_like(v) for v in vectors], len(tokens),
                                  steps=steps)
    matrix = sum(v.sum(dim=-1) for v in result.values)  # (tag position, word): features and members added
    names = [f"the tag of '{token}' ({i + 1}, {tag})" for i, (token, tag) in enumerate(zip(tokens, tags))]
    return {
        "method": "integrated_gradients",
        "target": "the score of each predicted tag at its position (the output layer's, before softmax or CRF)",
        "baseline": BASELINE,
        "steps": result.steps,
        "tokens": tokens,
        "tags": tags,
        "attributions": [[rounded(v) for v in row] for row in matrix],
        "attributions_layout": "rows: the tag at each position; columns: the words it is attributed to",
        "scores": [rounded(v) for v in result.f_x],
        "completeness": result.completeness(names, noun="tag"),
        "prediction": prediction,
    }


def render(explanation: dict[str, Any]) -> str:
    tokens, tags, matrix = explanation["tokens"], explanation["tags"], explanation["attributions"]
    width = max(len(t) for t in tokens)
    tag_width = max(len(t) for t in tags)
    lines = [method_line(explanation),
             f"  {'word':<{width}}  {'tag':<{tag_width}}  {'itself':>8}  the other words that mattered most"]
    for j, (token, tag) in enumerate(zip(tokens, tags)):
        row = matrix[j]
        others = sorted((i for i in range(len(tokens)) if i != j), key=lambda i: -abs(row[i]))[:SHOWN]
        told = ", ".join(f"{tokens[i]} {signed(row[i])}" for i in others)
        lines.append(f"  {token:<{width}}  {tag:<{tag_width}}  {signed(row[j]):>8}  {told}")
    lines.append(completeness_line(explanation["completeness"]))
    return "\n".join(lines)

"""Tagging scores: token accuracy, entity precision/recall/F1 (seqeval conventions), per-tag report.

One torchmetrics Metric holds summed counts (so it synchronises across DDP ranks) and is fed decoded
tag ids; entity spans are read from the tag names with :func:`schemes.entities`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchmetrics import Metric

from .schemes import entities, entity_types


def prf(tp: float, predicted: float, gold: float) -> tuple[float, float, float]:
    """Precision, recall, F1; 0 where a denominator is 0 (seqeval's zero_division result)."""
    p = tp / predicted if predicted else 0.0
    r = tp / gold if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


class TaggingScores(Metric):
    """Counts over sentences; ``compute()`` returns the flat dict that is logged.

    ``with_report`` adds ``f1/NAME`` per entity type (or per tag) to that dict and keeps the full
    report (precision, recall, F1, support) as ``last_report``.

    ``entities_scored`` (BIO/BIOES tag sets) adds entity-level precision, recall and F1 and a report
    per entity type; otherwise the report is per tag. ``score`` is the selection metric: entity F1,
    or token accuracy for plain tags.
    """

    full_state_update = False

    def __init__(self, tags: Sequence[str], entities_scored: bool, with_report: bool = False):
        super().__init__()
        self.with_report = with_report
        self.last_report: dict[str, dict[str, float]] = {}
        self.tags = list(tags)
        self.entities_scored = entities_scored
        self.types = entity_types(self.tags) if entities_scored else []
        self._type_index = {t: i for i, t in enumerate(self.types)}
        k = len(self.tags)
        self.add_state("correct", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("total", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")
        # per tag (token level): true positives, predicted, gold
        self.add_state("tag_counts", torch.zeros(3, k, dtype=torch.long), dist_reduce_fx="sum")
        # per entity type: true positives, predicted, gold
        self.add_state("entity_counts", torch.zeros(3, max(len(self.types), 1), dtype=torch.long),
                       dist_reduce_fx="sum")

    def update(self, predicted: torch.Tensor, gold: torch.Tensor, lengths: torch.Tensor) -> None:
        """``predicted``/``gold`` (B, T) tag ids, valid up to each sentence's length."""
        mask = torch.arange(gold.shape[1], device=gold.device)[None] < lengths.to(gold.device)[:, None]
        pred_ids, gold_ids = predicted[mask], gold[mask]
        hit = pred_ids == gold_ids
        self.correct += hit.sum()
        self.total += mask.sum()
        k = len(self.tags)
        self.tag_counts[0] += torch.bincount(gold_ids[hit], minlength=k)
        self.tag_counts[1] += torch.bincount(pred_ids, minlength=k)
        self.tag_counts[2] += torch.bincount(gold_ids, minlength=k)
        if self.entities_scored:
            counts = torch.zeros_like(self.entity_counts)
            for p_row, g_row, n in zip(predicted.tolist(), gold.tolist(), lengths.tolist()):
                p_spans = set(entities([self.tags[i] for i in p_row[:n]]))
                g_spans = set(entities([self.tags[i] for i in g_row[:n]]))
                for row, spans in ((0, p_spans & g_spans), (1, p_spans), (2, g_spans)):
                    for kind, _, _ in spans:
                        counts[row, self._type_index[kind]] += 1
            self.entity_counts += counts

    def compute(self) -> dict[str, torch.Tensor]:
        out = {"accuracy": self.correct.float() / self.total.clamp(min=1).float()}
        if self.entities_scored:
            tp, pred, gold = (float(x) for x in self.entity_counts.sum(dim=1))
            p, r, f = prf(tp, pred, gold)
            out.update(precision=torch.tensor(p), recall=torch.tensor(r), f1=torch.tensor(f))
        out["score"] = out["f1"] if self.entities_scored else out["accuracy"]
        if self.with_report:  # inside compute(), so the counts are already synchronised across ranks
            self.last_report = self.report()
            out.update({f"f1/{name}": torch.tensor(v["f1"]) for name, v in self.last_report.items()})
        return out

    def report(self) -> dict[str, dict[str, float]]:
        """Per entity type (or per tag): precision, recall, F1 and support (gold count)."""
        names, counts = (self.types, self.entity_counts) if self.entities_scored else (self.tags, self.tag_counts)
        out: dict[str, dict[str, float]] = {}
        for i, name in enumerate(names):
            tp, pred, gold = (int(counts[j, i]) for j in range(3))
            if not gold and not pred:
                continue
            p, r, f = prf(tp, pred, gold)
            out[name] = {"precision": p, "recall": r, "f1": f, "support": gold, "predicted": pred}
        return out

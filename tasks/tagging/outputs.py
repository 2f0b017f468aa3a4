"""What a finished run adds: the per-tag report (results.json) and the test predictions in CoNLL columns."""

from __future__ import annotations

from pathlib import Path

import torch

from .data import TaggedSentences, TaggingDataModule
from .models import TaggingModule

BATCH = 128


def per_tag_report(model: TaggingModule, datamodule: TaggingDataModule) -> dict:
    """Precision, recall, F1, support and predicted count per entity type (BIO/BIOES) or per tag, for
    the splits last scored (validation and test after training; the evaluated data for --evaluate)."""
    kind = "entity_type" if model.state.scheme != "none" else "tag"
    return {"per": kind, "scheme": model.state.scheme, "crf": model.state.crf,
            "test_split": datamodule.test_split, **{split: model.reports[split] for split in ("val", "test")
                                                    if split in model.reports}}


def predicted_tags(model: TaggingModule, dataset: TaggedSentences) -> list[list[str]]:
    tags = model.state.tags
    out: list[list[str]] = []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(dataset), BATCH):
            batch = dataset.collate([dataset[i] for i in range(start, min(start + BATCH, len(dataset)))])
            ids = model.predict_ids(batch)
            out.extend([[tags[j] for j in row[:n]] for row, n in zip(ids.tolist(), batch.lengths.tolist())])
    return out


def write_predictions(path: Path, model: TaggingModule, dataset: TaggedSentences) -> str:
    """``token gold predicted`` per line, a blank line between sentences (conlleval's input)."""
    gold_names = model.state.tags
    with open(path, "w", encoding="utf-8") as handle:
        for sentence, gold, predicted in zip(dataset.sentences, dataset.tags, predicted_tags(model, dataset)):
            for token, g, p in zip(sentence.tokens, gold.tolist(), predicted):
                handle.write(f"{token}\t{gold_names[g]}\t{p}\n")
            handle.write("\n")
    return path.name

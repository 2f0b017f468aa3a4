"""Corpus BLEU and chrF with sacreBLEU's standard settings (13a tokenisation, exponential smoothing,
chrF with character 6-grams, beta 2), on detokenised text against the references as written."""

from __future__ import annotations

from typing import Sequence

import sacrebleu


def corpus_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    refs = [list(references)]
    return {"bleu": float(sacrebleu.corpus_bleu(list(hypotheses), refs).score),
            "chrf": float(sacrebleu.corpus_chrf(list(hypotheses), refs).score)}


def signature() -> str:
    """sacreBLEU's signature of the BLEU settings, for reports."""
    return str(sacrebleu.BLEU().get_signature())

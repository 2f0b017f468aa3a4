"""Translation: a recurrent encoder-decoder with attention, beam search and BLEU (Multi30k, Tatoeba)."""

from .task import TranslationTask

__all__ = ["TranslationTask"]

"""Sequence tagging: parts of speech (CoNLL-U) and named entities (CoNLL/BIO, Hugging Face datasets)."""

from .task import TaggingTask

__all__ = ["TaggingTask"]

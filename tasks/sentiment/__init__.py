"""Sentiment (text) classification: binary or multi-class, from tables, class files or the Hub."""

from .task import SentimentTask

__all__ = ["SentimentTask"]

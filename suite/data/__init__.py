"""Shared data helpers: table sources, series windows (and, for text tasks, vocabularies)."""

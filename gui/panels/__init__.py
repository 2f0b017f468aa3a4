"""Prediction panels, one per output kind a task declares.

A panel turns a task's JSON-able ``predict`` output into a view. Each panel states the keys it
reads (``expects``); an output without them is shown as JSON instead, so a plugin whose output
follows no panel's shape still works. The shapes are documented for plugin authors in
docs/PLUGINS.md ("Prediction panels").
"""

from __future__ import annotations

from .base import JsonPanel, Panel
from .label import LabelPanel
from .music import MusicPanel
from .series import SeriesPanel
from .tags import TagsPanel
from .translation import TranslationPanel

PANELS: dict[str, type[Panel]] = {
    "series": SeriesPanel,
    "label": LabelPanel,
    "tags": TagsPanel,
    "text": TranslationPanel,
    "music": MusicPanel,
}


def panel_class(output_kind: str) -> type[Panel]:
    return PANELS.get(output_kind, JsonPanel)


__all__ = ["PANELS", "JsonPanel", "LabelPanel", "MusicPanel", "Panel", "SeriesPanel", "TagsPanel",
           "TranslationPanel", "panel_class"]

"""Inputs shaded by their attribution (``--explain``'s Integrated Gradients): words as coloured spans, time
steps and variables as a heat strip. Warm means the input raised the explained output, blue that it lowered
it; the strength is the share of the largest attribution's size, so the most decisive input is the darkest."""

from __future__ import annotations

import html
from typing import Any, Sequence

import numpy as np

# Okabe-Ito vermillion and blue: colour-blind safe, and told apart on light and dark backgrounds.
RAISED = (213, 94, 0)
LOWERED = (0, 114, 178)
#: below this share of the largest, no shade at all (a pale box around every word reads as noise)
FAINTEST = 0.03
COLOURMAP = "CET-D1"  # pyqtgraph's diverging blue-white-red, for heat maps of signed attributions


def scale_of(values: Sequence[float]) -> float:
    return max((abs(float(v)) for v in values), default=0.0)


def shade(value: float, scale: float) -> str | None:
    """The background of an input with attribution ``value`` (``#rrggbb``, blended over white), or None."""
    if scale <= 0:
        return None
    strength = min(1.0, abs(float(value)) / scale)
    if strength < FAINTEST:
        return None
    base = RAISED if value >= 0 else LOWERED
    r, g, b = (round(255 + (c - 255) * strength) for c in base)
    return f"#{r:02x}{g:02x}{b:02x}"


def text_on(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (the WCAG contrast ratio): black on the
    darkest blue shade was hard to read."""
    from .tag_colours import contrast

    return "black" if contrast("#000000", background) >= contrast("#ffffff", background) else "white"


def shaded_span(text: str, value: float, scale: float) -> str:
    colour = shade(value, scale)
    style = f"background-color:{colour}; color:{text_on(colour)}; " if colour else ""
    return f"<span style='{style}padding:2px' title='{value:+.4g}'>{html.escape(text)}</span>"


def shaded_html(tokens: Sequence[str], values: Sequence[float], notes: Sequence[str] | None = None) -> str:
    """The tokens as one paragraph, each on its shade; ``notes`` (a tag per token) as subscripts."""
    scale = scale_of(values)
    parts = []
    for i, (token, value) in enumerate(zip(tokens, values)):
        part = shaded_span(token, value, scale)
        if notes is not None:
            part += f"<sub style='color:gray'>{html.escape(str(notes[i]))}</sub>"
        parts.append(part)
    return "<p style='font-size:13pt; line-height:170%'>" + " ".join(parts) + "</p>"


def legend(explanation: dict[str, Any]) -> str:
    """One line under the shaded inputs: what was explained and whether completeness held."""
    check = explanation.get("completeness") or {}
    held = "completeness holds" if check.get("holds") else "completeness does NOT hold"
    error = check.get("relative_error")
    within = f" within {100 * error:.2g}%" if error is not None and check.get("holds") else \
        (f" (off by {100 * error:.2g}%)" if error is not None else "")
    return (f"warm: raised {explanation.get('target', 'the output')}; blue: lowered it. Integrated Gradients, "
            f"{explanation.get('steps')} steps; {held}{within}.")


def matrix(rows: Sequence[Sequence[float]]) -> np.ndarray:
    return np.asarray(rows, dtype=float).reshape(len(rows), -1) if len(rows) else np.zeros((0, 0))

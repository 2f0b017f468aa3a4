"""How a run's verdicts (suite/insight/verdicts.py) read in the window: a short label for a line on the curves,
the message split into what happened and what to try, and the banner's colours. Pure Python, no Qt."""

from __future__ import annotations

from typing import Any

#: the run itself went wrong (it diverges): red; the rest say what limits the model: amber. Both are given as
#: background and text together, so a banner reads the same in a light and a dark palette.
SEVERE = ("exploding_gradients", "lr_too_high")
SEVERE_COLOURS = ("#f8d7da", "#58151c", "#d9534f")  # background, text, edge
WARNING_COLOURS = ("#fff3cd", "#4d3a00", "#e0a800")


def title(code: str) -> str:
    return code.replace("_", " ").replace("lr ", "learning rate ")


def short_label(verdict: dict[str, Any]) -> str:
    """The verdict as a line on the validation plot says it: "overfitting since epoch 7: the best checkpoint
    is epoch 4"."""
    code, epoch = str(verdict.get("code", "")), verdict.get("epoch")
    if code == "overfitting" and isinstance(verdict.get("best_epoch"), int):
        return f"overfitting since epoch {epoch}: the best checkpoint is epoch {verdict['best_epoch']}"
    return f"{title(code)} (epoch {epoch})" if epoch is not None else title(code)


def split_advice(message: str) -> tuple[str, str]:
    """(what happened, what to try): the verdicts end their message with " Try: ..."."""
    what, sep, advice = message.partition(" Try: ")
    return (what.strip(), advice.strip()) if sep else (message.strip(), "")


def colours(code: str) -> tuple[str, str, str]:
    return SEVERE_COLOURS if code in SEVERE else WARNING_COLOURS


def line_label(verdicts: list[dict[str, Any]]) -> str:
    """One label for the verdicts of one epoch (a tanh RNN often gets three at its last)."""
    if len(verdicts) == 1:
        return short_label(verdicts[0])
    epoch = verdicts[0].get("epoch")
    parts = [short_label({**v, "epoch": None}) if v.get("code") != "overfitting" else short_label(v)
             for v in verdicts]
    return "; ".join(parts) + (f" (epoch {epoch})" if epoch is not None else "")

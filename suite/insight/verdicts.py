"""Verdicts over a run's recorded history: a pure function of the diagnostics' epoch and record lines
(:mod:`.store`), the validation metric's direction and the baseline's validation score.

Every threshold is a named constant below, with the reason for its value; docs/INSIGHT.md lists them with
what each verdict suggests. Epochs are numbered as in metrics.csv and events.jsonl (from 0).
"""

from __future__ import annotations

import math
import statistics
from typing import Any

#: overfitting: the validation metric has been worse than at its best epoch for this many epochs in a row
#: (one or two worse epochs are common noise, and early stopping's patience is usually 3 or more) ...
OVERFIT_EPOCHS = 3
#: ... each worse by more than this share of the best value (smaller differences are noise) ...
OVERFIT_MARGIN = 0.02
#: ... while the training loss of the last of them is below the best epoch's by more than this share
TRAIN_STILL_FALLING = 0.01
#: underfitting and lr_too_low: the best validation score is within this share of the baseline's, or worse
#: (a model that beats the naive baseline by less than 5% has learnt little the baseline does not know)
BASELINE_MARGIN = 0.05
#: underfitting: over the last this many epochs ...
PLATEAU_EPOCHS = 3
#: ... the training loss fell by less than this share: it has plateaued
PLATEAU_DROP = 0.02
#: lr_too_low: from the first epoch to the last the training loss changed by less than this share (the
#: means of an epoch's shuffled batches differ by a few percent between epochs on their own) ...
FLAT_CHANGE = 0.05
#: ... and a step moved the weights by less than this share of their norm (median over the records). A
#: healthy step moves them by about 1e-3 (Karpathy's rule of thumb, and what Adam at 1e-3 gives here); a
#: hundred times less learns nothing in a run of ordinary length
LOW_UPDATE_RATIO = 1e-5
#: lr_too_high: an epoch's mean training loss above this multiple of the lowest before it (epochs, and the
#: loss before the first step) ...
DIVERGE_FACTOR = 1.5
#: ... that has also given back more than this share of what training had gained from the start (a converged
#: loss bouncing between 0.002 and 0.003 is noise at the bottom, not divergence) ...
DIVERGE_GIVEBACK = 0.5
#: ... or a step that moves the weights by their own norm (the median over the records): every step then
#: replaces what the last one learnt
HIGH_UPDATE_RATIO = 1.0
#: vanishing_gradients: at the last record, ||dL/dh_1|| is below this share of ||dL/dh_T|| on some layer
#: (the first step's inputs get a thousandth of the gradient the last step's get: they hardly teach) ...
VANISH_RATIO = 1e-3
#: ... over at least this many steps (a short sequence's ratio says little about memory) ...
VANISH_MIN_STEPS = 10
#: ... unless the best validation score already beats the baseline by this share of it: a series the last
#: few steps predict (the seed's cosine: an LSTM's ratio 6e-31 at a tenth of the naive error) needs no
#: gradient from the first step, and telling its user to change the model would be wrong
VANISH_LEARNT_GAIN = 0.5
#: exploding_gradients, without clipping: a step's gradient norm above this multiple of the median norm of
#: the steps before it (a cliff in the loss surface: Pascanu et al. 2013), or a norm that is not finite
EXPLODE_SPIKE = 100.0
#: ... or ||dL/dh_1|| above this multiple of ||dL/dh_T|| times T: more than T steps' worth of undiminished
#: gradient, so it grows going back in time (with a loss at every step up to T equal parts are normal)
EXPLODE_RATIO = 10.0
#: saturated_gates: at the last record, more than this share of a layer's sigmoid gate values (a tanh RNN's
#: unit values) is saturated (unroll.SIGMOID_SATURATION, unroll.TANH_SATURATION): gradient through them stalls
SATURATED_SHARE = 0.5
#: dead_units: at the last record, more than this share of a layer's units is stuck (unroll.DEAD_SPREAD): a
#: quarter of the layer's width wasted is worth a change; a few stuck units are not
DEAD_SHARE = 0.25

CODES = ("overfitting", "underfitting", "vanishing_gradients", "exploding_gradients", "saturated_gates",
         "dead_units", "lr_too_high", "lr_too_low")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def _worse(a: float, b: float, mode: str, margin: float = 0.0) -> bool:
    """``a`` worse than ``b`` by more than ``margin`` of |b|."""
    gap = margin * abs(b)
    return a > b + gap if mode == "min" else a < b - gap


def _gain_over(best: float, baseline: float, mode: str) -> float:
    """How much better ``best`` is than ``baseline``, as a share of |baseline| (negative: worse)."""
    if baseline == 0:
        return math.inf if _worse(baseline, best, mode) else 0.0
    return (baseline - best) / abs(baseline) if mode == "min" else (best - baseline) / abs(baseline)


def judge(epochs: list[dict[str, Any]], records: list[dict[str, Any]], *, mode: str = "min",
          monitor: str | None = None, baseline: float | None = None, baseline_name: str | None = None,
          grad_clip: float = 0.0, scaled: bool = False) -> list[dict[str, Any]]:
    """The verdicts of one run: a list of ``{code, epoch, message}`` (some with more fields), by epoch.

    ``epochs`` and ``records`` are the diagnostics file's lines of those kinds; ``mode`` is the monitored
    validation metric's direction (min or max); ``baseline`` that metric's value for the task's baseline on
    validation; ``grad_clip`` the run's clipping norm (0: none); ``scaled`` float16 mixed precision, whose
    gradient scaler skips overflowing steps by design."""
    found: list[dict[str, Any]] = []
    for rule in (_overfitting, _lr_too_low, _underfitting, _lr_too_high, _exploding, _vanishing, _gates):
        found.extend(rule(epochs, records, mode=mode, monitor=monitor or "the validation metric",
                          baseline=baseline, baseline_name=baseline_name or "the baseline", grad_clip=grad_clip,
                          scaled=scaled, found=found))
    return sorted(found, key=lambda v: (v["epoch"] if v["epoch"] is not None else -1, CODES.index(v["code"])))


def _verdict(code: str, epoch: int | None, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "epoch": epoch, "message": message, **extra}


def _validated(epochs: list[dict[str, Any]]) -> list[tuple[int, float]]:
    return [(e["epoch"], e["val"]) for e in epochs if _finite(e.get("val")) and isinstance(e.get("epoch"), int)]


def _best(validated: list[tuple[int, float]], mode: str) -> tuple[int, float] | None:
    """The first epoch with the best score (as the best checkpoint is chosen: a tie does not replace it)."""
    best = None
    for epoch, value in validated:
        if best is None or _worse(best[1], value, mode):
            best = (epoch, value)
    return best


def _train_losses(epochs: list[dict[str, Any]]) -> dict[int, float | None]:
    return {e["epoch"]: e.get("train_loss") for e in epochs if isinstance(e.get("epoch"), int)}


def _overfitting(epochs, records, *, mode, monitor, **_):
    validated = _validated(epochs)
    best = _best(validated, mode)
    if best is None:
        return []
    best_epoch, best_value = best
    train = _train_losses(epochs)
    after = [(e, v) for e, v in validated if e > best_epoch]
    run = 0
    for epoch, value in after:
        run = run + 1 if _worse(value, best_value, mode, OVERFIT_MARGIN) else 0
        loss, best_loss = train.get(epoch), train.get(best_epoch)
        falling = _finite(loss) and _finite(best_loss) and loss < best_loss - TRAIN_STILL_FALLING * abs(best_loss)
        if run >= OVERFIT_EPOCHS and falling:
            return [_verdict(
                "overfitting", epoch,
                f"validation {monitor} has been worse than its best ({_fmt(best_value)} at epoch {best_epoch}) for "
                f"{run} epochs while the training loss kept falling ({_fmt(best_loss)} -> {_fmt(loss)}); the "
                f"best checkpoint (epoch {best_epoch}) is the one kept. Try: early stopping (--patience 3), "
                "--dropout or --weight-decay, a smaller --hidden, or more training data",
                best_epoch=best_epoch)]
    return []


def _flat(epochs) -> tuple[int, float, float] | None:
    """(last epoch, first loss, last loss) when the training loss moved by less than FLAT_CHANGE overall."""
    losses = [(e["epoch"], e["train_loss"]) for e in epochs if _finite(e.get("train_loss"))]
    if len(losses) < 2:
        return None
    (_, first), (last_epoch, last) = losses[0], losses[-1]
    if abs(last - first) <= FLAT_CHANGE * abs(first):
        return last_epoch, first, last
    return None


def _near_baseline(epochs, mode, baseline) -> tuple[float, float] | None:
    """(best validation value, its gain over the baseline) when the model is within BASELINE_MARGIN of it."""
    best = _best(_validated(epochs), mode)
    if best is None or not _finite(baseline):
        return None
    gain = _gain_over(best[1], baseline, mode)
    return (best[1], gain) if gain < BASELINE_MARGIN else None


def _update_ratio(records) -> float | None:
    ratios = [r["update_ratio"] for r in records if _finite(r.get("update_ratio"))]
    return statistics.median(ratios) if ratios else None


def _lr_too_low(epochs, records, *, mode, monitor, baseline, baseline_name, **_):
    flat = _flat(epochs)
    ratio = _update_ratio(records)
    if flat is None or ratio is None or ratio >= LOW_UPDATE_RATIO:
        return []
    if _finite(baseline) and _near_baseline(epochs, mode, baseline) is None:
        return []  # flat because it has learnt what there is to learn
    epoch, first, last = flat
    return [_verdict(
        "lr_too_low", epoch,
        f"the training loss hardly moved ({_fmt(first)} -> {_fmt(last)}) and a step changed the weights by "
        f"{_fmt(ratio)} of their norm (median; about 1e-3 is typical): the learning rate is too low to learn. "
        "Try: --lr 10 to 1000 times higher (Adam usually works at 1e-3)")]


def _underfitting(epochs, records, *, mode, monitor, baseline, baseline_name, found, **_):
    if any(v["code"] == "lr_too_low" for v in found):
        return []  # already explained
    near = _near_baseline(epochs, mode, baseline)
    losses = [(e["epoch"], e["train_loss"]) for e in epochs if _finite(e.get("train_loss"))]
    if near is None or len(losses) < PLATEAU_EPOCHS + 1:
        return []
    (_, before), (epoch, last) = losses[-PLATEAU_EPOCHS - 1], losses[-1]
    if before - last >= PLATEAU_DROP * abs(before):
        return []  # still learning: more epochs may do
    best, gain = near
    how = "worse than" if gain < 0 else "within 5% of"
    return [_verdict(
        "underfitting", epoch,
        f"the training loss has plateaued ({_fmt(before)} -> {_fmt(last)} over the last {PLATEAU_EPOCHS} "
        f"epochs) and the best validation {monitor} ({_fmt(best)}) is {how} {baseline_name}'s "
        f"({_fmt(baseline)}): the model has learnt little beyond it. Try: a larger --hidden or more --layers, "
        "a higher --lr, lstm or gru instead of rnn, longer training, or a --lookback that holds what predicts")]


def _lr_too_high(epochs, records, *, grad_clip, **_):
    advice = "Try: a --lr 3 to 10 times lower, a schedule (--schedule cosine)" + ("" if grad_clip else ", or --grad-clip 1")
    first = next((r for r in records if r.get("step") == 0 and _finite(r.get("loss"))), None)
    lowest, where = (first["loss"], None) if first else (None, None)  # where: the epoch of the lowest
    start = lowest if lowest is not None else next((e["train_loss"] for e in epochs if _finite(e.get("train_loss"))), None)
    for e in epochs:
        loss = e.get("train_loss")
        if (e.get("nonfinite_losses") or 0) > 0 or (loss is None and (e.get("steps") or 0) > 0):
            return [_verdict("lr_too_high", e["epoch"], f"the training loss became NaN or infinite: training "
                                                        f"diverged. {advice}")]
        if not _finite(loss):
            continue
        if (lowest is not None and lowest > 0 and loss > DIVERGE_FACTOR * lowest
                and loss - lowest > DIVERGE_GIVEBACK * max(start - lowest, 0.0)):
            since = (f"the loss before the first step ({_fmt(lowest)})" if where is None else
                     f"its lowest ({_fmt(lowest)} at epoch {where}), back more than halfway to where it started "
                     f"({_fmt(start)})")
            return [_verdict("lr_too_high", e["epoch"],
                             f"the mean training loss of this epoch, {_fmt(loss)}, is more than {DIVERGE_FACTOR:g} "
                             f"times {since}: training is diverging. {advice}")]
        if lowest is None or loss < lowest:
            lowest, where = loss, e["epoch"]
    ratio = _update_ratio(records)
    if ratio is not None and ratio > HIGH_UPDATE_RATIO:
        return [_verdict("lr_too_high", records[-1].get("epoch"),
                         f"a step changed the weights by {_fmt(ratio)} times their norm (median; about 1e-3 is "
                         f"typical): each step undoes the last. {advice}")]
    return []


def _exploding(epochs, records, *, grad_clip, scaled, **_):
    advice = ("Try: --grad-clip 1 (clipping the gradient norm), or a --lr 3 to 10 times lower" if not grad_clip
              else "Try: a --lr 3 to 10 times lower, or a smaller --grad-clip")
    if not scaled:
        for e in epochs:
            if (e.get("nonfinite_grads") or 0) > 0:
                return [_verdict("exploding_gradients", e["epoch"],
                                 f"the gradient norm was NaN or infinite on {e['nonfinite_grads']} step(s) of this "
                                 f"epoch. {advice}")]
    if grad_clip:
        return []  # spikes are what clipping is for; the clipping rate in the summary says how often it acted
    history: list[float] = []
    for e in epochs:
        stats = e.get("grad_norm") or {}
        peak, typical = stats.get("max"), stats.get("median")
        if history and _finite(peak) and peak > EXPLODE_SPIKE * statistics.median(history):
            return [_verdict("exploding_gradients", e["epoch"],
                             f"a step's gradient norm reached {_fmt(peak)}, {peak / statistics.median(history):.3g} "
                             f"times the median of the epochs before ({_fmt(statistics.median(history))}). {advice}")]
        if _finite(typical):
            history.append(typical)
    for r in records:
        for name, layer in (r.get("layers") or {}).items():
            ratio, steps = layer.get("gradient_ratio"), layer.get("steps") or 0
            if _finite(ratio) and steps >= 2 and ratio > EXPLODE_RATIO * steps:
                return [_verdict("exploding_gradients", r.get("epoch"),
                                 f"{name}: the gradient at the first of {steps} steps is {_fmt(ratio)} times that "
                                 f"at the last (||dL/dh_1|| / ||dL/dh_T||, step {r.get('step')}): it grows going "
                                 f"back through time. {advice}")]
    return []


def _last_layers(records) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    for r in reversed(records):
        if r.get("layers"):
            return r, r["layers"]
    return None, {}


def _vanishing(epochs, records, *, mode, baseline, **_):
    best = _best(_validated(epochs), mode)
    if best is not None and _finite(baseline) and _gain_over(best[1], baseline, mode) >= VANISH_LEARNT_GAIN:
        return []
    record, layers = _last_layers(records)
    weak = [(name, info["gradient_ratio"], info.get("steps")) for name, info in layers.items()
            if _finite(info.get("gradient_ratio")) and (info.get("steps") or 0) >= VANISH_MIN_STEPS
            and info["gradient_ratio"] < VANISH_RATIO]
    if not weak:
        return []
    name, ratio, steps = min(weak, key=lambda w: w[1])
    gated = layers[name].get("cell") in ("lstm", "gru")
    fixes = ("fewer steps between an input and the loss: the segment model (--model segment) or a shorter "
             "--lookback; for an LSTM, --init keras (forget-gate bias 1); a --lr that does not saturate the gates"
             if gated else "--cell lstm or gru, the segment model (--model segment), or a shorter --lookback")
    also = f" (and {len(weak) - 1} more layer(s))" if len(weak) > 1 else ""
    reaching = (f"no gradient reaches the first of {steps} steps (it underflows to 0; " if ratio == 0 else
                f"the gradient reaching the first of {steps} steps is {_fmt(ratio)} of that at the last (")
    return [_verdict(
        "vanishing_gradients", record.get("epoch"),
        f"{name}{also}: {reaching}||dL/dh_1|| / ||dL/dh_T||, step {record.get('step')}): what came early in a "
        "sequence hardly teaches "
        f"the network. Try: {fixes}")]


def _gates(epochs, records, **_):
    record, layers = _last_layers(records)
    found = []
    saturated = [(name, info["gates"]["saturated"]) for name, info in layers.items()
                 if _finite((info.get("gates") or {}).get("saturated")) and info["gates"]["saturated"] > SATURATED_SHARE]
    if saturated:
        name, share = max(saturated, key=lambda s: s[1])
        what = ("of its gate values are saturated (below 0.05 or above 0.95)" if layers[name].get("cell") in ("lstm", "gru")
                else "of its unit values are saturated (|h| above 0.95)")
        found.append(_verdict(
            "saturated_gates", record.get("epoch"),
            f"{name}: {share:.0%} {what}: little gradient passes through them. Try: scaled inputs "
            "(--scaler standard), a lower --lr, --init keras, or --grad-clip 1"))
    dead = [(name, info["gates"]["dead"]) for name, info in layers.items()
            if _finite((info.get("gates") or {}).get("dead")) and info["gates"]["dead"] > DEAD_SHARE]
    if dead:
        name, share = max(dead, key=lambda s: s[1])
        found.append(_verdict(
            "dead_units", record.get("epoch"),
            f"{name}: {share:.0%} of its units are stuck (each output spans less than 0.001 over the whole "
            "sampled batch: a ReLU at 0, a tanh at +-1, a shut output gate), so they pass nothing on. Try: a lower "
            "--lr, --grad-clip 1, scaled inputs (--scaler standard), or --init keras"))
    return found


def summary_lines(diagnostics: dict[str, Any] | None) -> list[str]:
    """The run summary's lines for results.json's ``diagnostics``: the gradient ratios, the clipping rate,
    then each verdict with what to try (or that there is none)."""
    if not isinstance(diagnostics, dict):
        return []
    ratios = [f"{name} {_fmt(info['gradient_ratio'])}" for name, info in (diagnostics.get("layers") or {}).items()
              if isinstance(info, dict) and _finite(info.get("gradient_ratio"))]
    said = []
    if ratios:
        said.append("gradient ratio ||dL/dh_1||/||dL/dh_T|| " + ", ".join(ratios[:4])
                    + (f" (+{len(ratios) - 4} more)" if len(ratios) > 4 else ""))
    if _finite(diagnostics.get("clipping_rate")):
        said.append(f"clipping acted on {diagnostics['clipping_rate']:.0%} of steps")
    lines = [f"diagnostics: {'; '.join(said) or 'recorded'} ({diagnostics.get('file') or 'not stored'})"]
    verdicts = [v for v in diagnostics.get("verdicts") or [] if isinstance(v, dict)]
    for v in verdicts:
        lines.append(f"verdict: {v.get('code')} (epoch {v.get('epoch')}): {v.get('message')}")
    if not verdicts:
        lines.append("verdicts: none (no rule of docs/INSIGHT.md fired)")
    return lines

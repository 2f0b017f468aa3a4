"""One diagnostic pass: a task's own loss on one batch with every RecurrentBackbone unrolled, and from it
``||dL/dh_t||`` for every layer, direction and step, and the gates' activity.

The pass runs the module in evaluation mode (no dropout: the curve measures the network, not one dropout
draw, and the unrolled recurrence then equals the fused kernel's to rounding), with cuDNN off for that one
batch (its recurrent backward refuses evaluation mode), and with the random number generators saved and
restored, so the training step that follows sees exactly what it would have without diagnostics. Only
``torch.autograd.grad`` with respect to the hidden states is taken: no parameter's ``.grad`` is touched.

Each backbone call is unrolled and checked against the fused kernel on the same input; a call whose
outputs differ by more than :data:`TOLERANCE` (times the outputs' scale) is recorded as a problem and runs
fused, so a wrong curve is never written. Calls that continue one another (a decoder stepped one token at a
time, each call given the state the previous one returned) are joined into one sequence.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import torch
from torch import nn

from ..backbones import UNROLL_HOOK, PaddedRecurrence, RecurrentBackbone
from .unroll import Trace, gate_activity

#: the largest difference between unrolled and fused outputs (and final states) accepted, per dtype, as a
#: multiple of max(1, the outputs' largest magnitude): rounding grows with the steps, a wrong equation does
#: not stay within these
TOLERANCE = {torch.float64: 1e-9, torch.float32: 1e-4, torch.float16: 1e-2, torch.bfloat16: 5e-2}
#: a curve longer than this is stored at this many evenly spaced steps (always the first and the last)
MAX_CURVE_POINTS = 100


@dataclass
class _Call:
    name: str
    traces: list[Trace]
    state: Any  # what the call returned, to recognise the call that continues it
    chainable: bool
    check: float


@dataclass
class PassResult:
    loss: float
    #: per layer and direction, JSON-ready: steps, t, grad (the curve), gradient_ratio, grad_first,
    #: grad_last, gates, check
    layers: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: the whole curves at full precision (float64, one value per step), before the record's rounding
    curves: dict[str, torch.Tensor] = field(default_factory=dict)


def backbone_names(module: nn.Module) -> dict[int, tuple[str, bool]]:
    """id(backbone) -> (its name, whether the traces' own layer names follow it). A PaddedRecurrence runs
    one single-layer backbone per layer and direction; those are named as the layer they are."""
    names: dict[int, tuple[str, bool]] = {}
    for path, sub in module.named_modules():
        if isinstance(sub, RecurrentBackbone) and id(sub) not in names:
            names[id(sub)] = (path or "backbone", True)
        elif isinstance(sub, PaddedRecurrence):
            for depth, directions in enumerate(sub.layers):
                for direction, backbone in enumerate(directions):
                    names[id(backbone)] = (f"{path}.l{depth}" + (".reverse" if direction else ""), False)
    return names


class Recorder:
    """Set as the backbones' hook for one forward pass: unrolls, checks and keeps every call."""

    def __init__(self, names: dict[int, tuple[str, bool]]):
        self.names = names
        self.calls: list[_Call] = []
        self.problems: list[str] = []
        self._count: dict[int, int] = {}

    def __call__(self, backbone: RecurrentBackbone, x, lengths, state):
        base, own_layers = self.names.get(id(backbone), (type(backbone).__name__, True))
        try:
            unrolled = backbone.unrolled(x, lengths, state)
        except NotImplementedError as exc:
            self._problem(f"{base}: {exc}")
            return backbone.fused(x, lengths, state)
        with torch.no_grad():
            fused_out, fused_state = backbone.fused(x, lengths, state)
        check = max_difference((unrolled.outputs, unrolled.state), (fused_out, fused_state))
        scale = max(1.0, float(fused_out.detach().abs().max()) if fused_out.numel() else 1.0)
        limit = TOLERANCE.get(x.dtype, 1e-4) * scale
        if not check <= limit:  # also NaN
            self._problem(f"{base}: the step-by-step recomputation differs from the fused kernel by {check:.3g} "
                          f"(more than {limit:.3g}); this layer's curve is not recorded")
            return backbone.fused(x, lengths, state)
        chainable = lengths is None and backbone.directions == 1
        previous = next((c for c in reversed(self.calls) if c.chainable and chainable and state is not None
                         and c.state is state), None)
        if previous is not None:  # the same recurrence, one more stretch of steps
            for kept, new in zip(previous.traces, unrolled.traces):
                kept.states.extend(new.states)
                kept.gates = {k: torch.cat([v, new.gates[k]]) for k, v in kept.gates.items()}
                kept.values = torch.cat([kept.values, new.values])
            previous.state, previous.check = unrolled.state, max(previous.check, check)
            return unrolled.outputs, unrolled.state
        n = self._count[id(backbone)] = self._count.get(id(backbone), 0) + 1
        name = base if n == 1 else f"{base}#{n}"
        for trace in unrolled.traces:
            trace.label = f"{name}.{trace.name}" if own_layers else name
        self.calls.append(_Call(name, unrolled.traces, unrolled.state, chainable, check))
        return unrolled.outputs, unrolled.state

    def _problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)


def max_difference(a, b) -> float:
    if isinstance(a, (tuple, list)):
        return max((max_difference(x, y) for x, y in zip(a, b)), default=0.0)
    if a is None or b is None or a.numel() == 0:
        return 0.0
    return float((a.detach() - b.detach()).abs().max())


@contextmanager
def unrolling(module: nn.Module) -> Iterator[Recorder]:
    """While active, every RecurrentBackbone of ``module`` runs unrolled and is recorded."""
    recorder = Recorder(backbone_names(module))
    token = UNROLL_HOOK.set(recorder)
    try:
        yield recorder
    finally:
        UNROLL_HOOK.reset(token)


@contextmanager
def evaluation_only(module: nn.Module) -> Iterator[None]:
    """``module`` in evaluation mode, its random streams untouched; every submodule's mode and every
    generator's state restored afterwards, whatever happens."""
    modes = [(m, m.training) for m in module.modules()]
    cpu = torch.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    module.eval()
    try:
        with torch.backends.cudnn.flags(enabled=False):
            yield
    finally:
        for m, training in modes:
            m.training = training
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)


def loss_of(module: nn.Module, batch: Any) -> torch.Tensor:
    """The module's training loss on ``batch``, without logging (TaskModule.loss_on)."""
    loss_on = getattr(module, "loss_on", None)
    if loss_on is None:
        raise NotImplementedError(f"{type(module).__name__} has no loss_on(batch)")
    loss = loss_on(batch)
    if isinstance(loss, dict):
        loss = loss.get("loss")
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise NotImplementedError(f"{type(module).__name__}.step returned no scalar loss")
    return loss


def gradient_pass(module: nn.Module, batch: Any) -> PassResult:
    """``||dL/dh_t||`` per layer, direction and step, and the gates, on one batch (see the module docstring).

    Raises NotImplementedError when the module's loss cannot be recomputed."""
    with evaluation_only(module):
        with torch.enable_grad(), unrolling(module) as recorder:
            loss = loss_of(module, batch)
        result = PassResult(float(loss.detach()), problems=list(recorder.problems))
        traces = [t for call in recorder.calls for t in call.traces]
        checks = {t.label: call.check for call in recorder.calls for t in call.traces}
        if not traces:
            if not recorder.problems:
                result.problems.append("no RecurrentBackbone ran in the loss: no per-step gradient curve")
            return result
        states = [h for t in traces for h in t.states]
        usable = [h.requires_grad for h in states]
        if not loss.requires_grad or not any(usable):
            result.problems.append("the loss does not depend on any recurrent state with a gradient")
            return result
        grads = torch.autograd.grad(loss, [h for h, ok in zip(states, usable) if ok], allow_unused=True)
        grads = iter(grads)
        per_state = [next(grads) if ok else None for ok in usable]
    start = 0
    for trace in traces:
        count = len(trace.states)
        got = per_state[start:start + count]
        start += count
        record, curve = layer_record(trace, [g if g is not None else torch.zeros_like(h)
                                             for g, h in zip(got, trace.states)])
        record["check"] = float(f"{checks[trace.label]:.3g}")
        result.layers[trace.label], result.curves[trace.label] = record, curve
    return result


def layer_record(trace: Trace, grads: list[torch.Tensor]) -> tuple[dict[str, Any], torch.Tensor]:
    """The record (JSON-ready, rounded) and the whole curve of one traced layer: the curve ``||dL/dh_t||`` (over the batch's sequences that have a step t), the gradient ratio and the
    gates of one traced layer.

    ``gradient_ratio`` is ``||dL/dh_1|| / ||dL/dh_T||`` with T each sequence's last step that the loss
    depends on (its last real step when the loss reads it; the batch's last step when all are equal):
    the share of the gradient at the end of the sequence that is left at its start."""
    g = torch.stack(grads).detach().double()  # (T, B, H); double: a vanished ratio should not round to 0
    if trace.valid is not None:
        g = g * trace.valid.unsqueeze(-1)
    per_sequence = g.norm(dim=2)  # (T, B)
    curve = per_sequence.norm(dim=1).cpu()
    steps = per_sequence.shape[0]
    nonzero = per_sequence > 0
    reached = nonzero.any(dim=0)
    ratio = first = last = None
    if bool(reached.any()):
        last_step = steps - 1 - nonzero.flip(0).float().argmax(dim=0)  # each sequence's last step with a gradient
        columns = torch.arange(per_sequence.shape[1], device=g.device)[reached]
        first = float(per_sequence[0, reached].norm())
        last = float(per_sequence[last_step[reached], columns].norm())
        ratio = first / last if last > 0 else None
    points = torch.linspace(0, steps - 1, min(steps, MAX_CURVE_POINTS)).round().long().unique()
    return {
        "cell": trace.cell,
        "steps": steps,
        "t": (points + 1).tolist(),
        "grad": [float(f"{v:.4g}") for v in curve[points].tolist()],
        "gradient_ratio": None if ratio is None else float(f"{ratio:.4g}"),
        "grad_first": None if first is None else float(f"{first:.4g}"),
        "grad_last": None if last is None else float(f"{last:.4g}"),
        "gates": {k: round(v, 4) for k, v in gate_activity(trace).items()},
    }, curve

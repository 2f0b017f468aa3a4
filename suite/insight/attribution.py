"""Integrated Gradients for one prediction (Captum), with the completeness check that says whether to trust it.

Integrated Gradients (Sundararajan et al., 2017) attributes ``f(x) - f(baseline)`` to the input's
features: the gradient of ``f`` averaged along the straight path from the baseline to ``x``, times
``x - baseline``. Its completeness axiom makes the attributions sum to ``f(x) - f(baseline)`` exactly;
the integral is approximated with ``n`` points (Gauss-Legendre, Captum's default), so the gap between
the two is how far the approximation can be trusted. Every answer reports it, and the step count is
raised (doubled, up to :data:`MAX_STEPS`) until the gap is within :data:`TOLERANCE` of ``f(x) - f(baseline)``.

The tasks attribute at the layer the model reads: token embeddings for text (the output of the embedding
layer, or the encoder's input vector, replaced through a forward hook, see :func:`output_replaced`), the
scaled input window for series. ``forward`` below maps such tensors, a batch of ``k`` rows, to ``(k, M)``
outputs: all the numbers to explain at once (one per predicted tag, per generated token, per forecast
value). Each output is attributed on its own copy of the input, so one batched backward pass serves all M.

Captum is the ``insight`` extra; :func:`require_captum` says so in one line when it is missing.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import torch

from ..errors import UserError

#: the starting step count: enough for the small recurrent models here in most cases (measured in tests)
DEFAULT_STEPS = 50
#: the most steps the adaptive search tries (each doubling doubles the cost)
MAX_STEPS = 1600
#: completeness holds when |sum - (f(x) - f(baseline))| is within this share of f(x) - f(baseline)
TOLERANCE = 0.01
#: interpolation rows per forward/backward pass (bounds memory: rows x the input's size)
ROWS_PER_PASS = 1024
#: below this share of |f|, a difference f(x) - f(baseline) is float32 rounding, not signal: the gap is
#: measured against it instead (otherwise a near-zero difference would never "hold")
RELATIVE_FLOOR = 1e-4

INSTALL = "pip install rnn-suite[insight]"


MISSING = f"--explain needs Captum (Integrated Gradients), which is not installed: {INSTALL}"


def require_captum() -> type:
    """Captum's IntegratedGradients, or a one-line error naming the extra that installs it."""
    try:
        from captum.attr import IntegratedGradients
    except ImportError:
        raise UserError(MISSING) from None
    return IntegratedGradients


def check_captum() -> None:
    """The same one-line error, without importing Captum (seconds: it brings matplotlib): for the checks
    made before a model is loaded."""
    import importlib.util

    try:
        found = importlib.util.find_spec("captum") is not None
    except (ImportError, ValueError):  # ValueError: a module in sys.modules without a spec (a stand-in)
        found = False
    if not found:
        raise UserError(MISSING)


def check_steps(steps: int | None) -> None:
    if steps is not None and not (isinstance(steps, int) and 2 <= steps <= 100_000):
        raise UserError(f"--explain-steps: expected a whole number of integration steps from 2 to 100000 "
                        f"(e.g. {DEFAULT_STEPS}), got {steps!r}")


def refuse_horizon(task: str, horizon: Any) -> None:
    """For tasks without a forecast horizon: ``--explain-horizon`` is refused, not ignored."""
    if horizon is not None:
        raise UserError(f"--explain-horizon: only forecast models have a horizon to choose from; task '{task}' has "
                        f"none")


def single_text(raw_input: str, what: str = "text") -> str:
    """The one text to explain: given directly, or a file holding exactly one (as --predict reads files)."""
    from ..data.inputs import text_or_lines

    path, lines = text_or_lines(raw_input, what)
    if path is None:
        return raw_input
    if len(lines) != 1:
        raise UserError(f"{path}: --explain explains one prediction, and this file holds {len(lines)} {what}s; "
                        f"give one {what} (or a file of one line)")
    return lines[0][1]


@contextmanager
def output_replaced(module: torch.nn.Module, value: torch.Tensor) -> Iterator[None]:
    """Inside: ``module`` returns ``value`` instead of its own output (the path IG integrates along)."""
    def hook(_module, _args, output):
        if output.shape != value.shape:
            raise RuntimeError(f"{type(module).__name__} produced {tuple(output.shape)}, the attribution "
                               f"input is {tuple(value.shape)}")
        return value

    handle = module.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


@contextmanager
def input_replaced(module: torch.nn.Module, value: torch.Tensor) -> Iterator[None]:
    """Inside: ``module`` receives ``value`` as its first argument (its other arguments are kept)."""
    def hook(_module, args):
        if args[0].shape != value.shape:
            raise RuntimeError(f"{type(module).__name__} received {tuple(args[0].shape)}, the attribution "
                               f"input is {tuple(value.shape)}")
        return (value, *args[1:])

    handle = module.register_forward_pre_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def module_output(module: torch.nn.Module, run: Callable[[], Any]) -> torch.Tensor:
    """What ``module`` produces while ``run()`` runs the model once (the input x at the attributed layer)."""
    return _seen_once(module.register_forward_hook, lambda _m, _a, out: out, run)


def module_input(module: torch.nn.Module, run: Callable[[], Any]) -> torch.Tensor:
    """What ``module`` receives first while ``run()`` runs the model once."""
    return _seen_once(module.register_forward_pre_hook, lambda _m, args: args[0], run)


def _seen_once(register: Callable, pick: Callable, run: Callable[[], Any]) -> torch.Tensor:
    seen: list[torch.Tensor] = []
    handle = register(lambda *hook_args: seen.append(pick(*hook_args).detach()))
    try:
        with torch.no_grad():
            run()
    finally:
        handle.remove()
    return seen[0]


@dataclass
class Attribution:
    """Integrated Gradients of ``M`` outputs: ``values[i]`` is ``(M, *inputs[i].shape)``."""

    values: tuple[torch.Tensor, ...]
    f_x: list[float]
    f_baseline: list[float]
    sums: list[float]
    relative_errors: list[float]
    steps: int
    tried: list[int]

    def completeness(self, outputs: Sequence[str] | None = None, scale: float | Sequence[float] = 1.0,
                     noun: str = "output", offset: float | Sequence[float] = 0.0) -> dict[str, Any]:
        """The check, for the worst output (all of them under ``per_output`` when there are several).
        ``scale`` and ``offset`` (one, or one per output) give f in the reported units, ``f * scale + offset``
        (a forecast's data units: the offset cancels in the differences); the errors are shares, free of units."""
        names = list(outputs) if outputs is not None else [str(i) for i in range(len(self.sums))]
        scales, offsets = _per_output(scale, len(names)), _per_output(offset, len(names))
        rows = []
        for name, k, o, s, fx, fb, err in zip(names, scales, offsets, self.sums, self.f_x, self.f_baseline,
                                              self.relative_errors):
            rows.append({"output": name, "sum": s * k, "f_x": fx * k + o, "f_baseline": fb * k + o,
                         "relative_error": err, "holds": err <= TOLERANCE})
        worst = max(range(len(rows)), key=lambda i: rows[i]["relative_error"])
        result = {key: rows[worst][key] for key in ("sum", "f_x", "f_baseline", "relative_error")}
        result.update(holds=all(r["holds"] for r in rows), tolerance=TOLERANCE, steps=self.steps,
                      steps_tried=self.tried, outputs=len(rows), noun=noun)
        if len(rows) > 1:
            result["worst_output"] = rows[worst]["output"]
            result["per_output"] = rows
        return result


def _per_output(value: float | Sequence[float], n: int) -> list[float]:
    return [float(value)] * n if isinstance(value, (int, float)) else [float(v) for v in value]


def gap(delta: float, f_x: float, f_baseline: float) -> float:
    """|delta| as a share of |f(x) - f(baseline)| (or of the rounding floor, when that is larger)."""
    floor = RELATIVE_FLOOR * max(abs(f_x), abs(f_baseline)) + 1e-12
    return abs(delta) / max(abs(f_x - f_baseline), floor)


def integrated_gradients(forward: Callable[..., torch.Tensor], inputs: Sequence[torch.Tensor],
                         baselines: Sequence[torch.Tensor], outputs: int, *, steps: int | None = None,
                         max_steps: int = MAX_STEPS) -> Attribution:
    """Attribute each of ``forward``'s ``outputs`` columns to ``inputs`` (one example, no batch dimension)
    against ``baselines`` of the same shapes. ``forward(*batch)`` takes ``(k, *shape)`` tensors and
    returns ``(k, outputs)``, best computed in float64 from the network's last layer on (a log-probability or
    probability near its bound keeps only about 1e-6 in float32, too coarse for a small f(x) - f(baseline)).
    With ``steps`` given, exactly that many; otherwise from DEFAULT_STEPS,
    doubled until completeness holds for every output or ``max_steps`` is reached."""
    IntegratedGradients = require_captum()
    inputs, baselines = tuple(inputs), tuple(baselines)
    many = tuple(x.detach().unsqueeze(0).expand(outputs, *x.shape).contiguous() for x in inputs)
    starts = tuple(b.detach().unsqueeze(0).expand(outputs, *b.shape).contiguous() for b in baselines)
    ig = IntegratedGradients(forward)
    with _gradients_possible(inputs):
        with torch.no_grad():
            f_x = forward(*(x.unsqueeze(0) for x in inputs))[0].double()
            f_b = forward(*(b.unsqueeze(0) for b in baselines))[0].double()
        n, tried = steps or DEFAULT_STEPS, []
        while True:
            tried.append(n)
            values, delta = ig.attribute(many, baselines=starts, target=list(range(outputs)), n_steps=n,
                                         method="gausslegendre", return_convergence_delta=True,
                                         internal_batch_size=max(outputs, ROWS_PER_PASS))
            # Captum's convergence delta: sum of the attributions - (f(x) - f(baseline)), per output
            deltas = delta.detach().double().cpu().tolist()
            errors = [gap(d, float(a), float(b)) for d, a, b in zip(deltas, f_x, f_b)]
            if steps is not None or max(errors) <= TOLERANCE or n >= max_steps:
                break
            n = min(2 * n, max_steps)
    sums = [float(sum(v[i].sum() for v in values)) for i in range(outputs)]
    return Attribution(tuple(v.detach().cpu() for v in values), f_x.cpu().tolist(), f_b.cpu().tolist(), sums,
                       errors, n, tried)


def _gradients_possible(tensors: Sequence[torch.Tensor]):
    """cuDNN's RNN kernels refuse backward in eval mode; the native kernels do not, and eval mode keeps
    dropout off (the prediction being explained is the deterministic one)."""
    if any(t.is_cuda for t in tensors):
        return torch.backends.cudnn.flags(enabled=False)
    return nullcontext()


def rounded(value: float) -> float:
    """Six significant digits for the JSON (a tiny attribution keeps its size; fixed decimals would zero it)."""
    return float(f"{float(value):.6g}")


# --- what the command line prints ---------------------------------------------------------------------------
def number(value: float) -> str:
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4f}"
    return f"{value:.4g}"


def signed(value: float) -> str:
    return ("+" if value >= 0 else "") + number(value)


def percent(share: float) -> str:
    return f"{100 * share:.2g}%" if share >= 1e-5 else "0.001%"


def completeness_line(check: dict[str, Any]) -> str:
    """``attributions sum to 0.8312, f(x) - f(baseline) = 0.8320: completeness holds within 0.1%``"""
    output = check.get("noun", "output")
    figures = (f"attributions sum to {number(check['sum'])}, "
               f"f(x) - f(baseline) = {number(check['f_x'] - check['f_baseline'])}")
    many = check.get("outputs", 1) > 1
    if check["holds"]:
        if many:
            return (f"completeness holds for all {check['outputs']} {output}s within "
                    f"{percent(check['relative_error'])} (the worst, {check['worst_output']}: {figures})")
        return f"{figures}: completeness holds within {percent(check['relative_error'])}"
    where = f"the worst of {check['outputs']} {output}s, {check['worst_output']}: " if many else ""
    capped = " (the cap)" if check["steps"] >= MAX_STEPS else ""
    return (f"{where}{figures}: completeness does NOT hold: off by {percent(check['relative_error'])}, more than "
            f"{percent(check['tolerance'])}, at {check['steps']} steps{capped}; read these attributions with care "
            f"(--explain-steps N tries more)")


def method_line(explanation: dict[str, Any]) -> str:
    return (f"Integrated Gradients of {explanation['target']}, {explanation['steps']} steps; baseline: "
            f"{explanation['baseline']}")


def signed_bar(value: float, scale: float, width: int = 12) -> str:
    """``+++++`` or ``-----`` in proportion to ``value / scale``: the sign and size at a glance."""
    if scale <= 0:
        return ""
    return ("+" if value >= 0 else "-") * round(width * min(1.0, abs(value) / scale))

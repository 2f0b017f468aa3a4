"""The sweep's PNG plots (matplotlib's Agg renderer, no window): the objective against each varied setting
with the spread over seeds, every trial's learning curve, and for a search Optuna's optimisation history
and parameter importances. Each function returns the file it wrote, or a note saying why it did not."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

from ..atomic import write_bytes_atomic
from .records import ConfigRow, TrialRow


def _figure(width: float = 6.4, height: float = 4.2):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: Path) -> str:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    write_bytes_atomic(path, buffer.getvalue())
    return path.name


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def metric_by_setting(folder: Path, configs: list[ConfigRow], name: str, monitor: str, grouped: bool,
                      order: list[Any] | None = None) -> str:
    """The mean validation objective of each configuration against ``name``, with error bars of one standard
    deviation over its seeds; one line per combination of the other settings when ``grouped``."""
    done = [c for c in configs if c.val_mean is not None and name in c.settings]
    if not done:
        return f"plot_{name}.png skipped: no complete trial yet"
    fig = _figure()
    ax = fig.add_subplot()
    present = {str(c.settings[name]): c.settings[name] for c in done}
    values = [v for v in (order or []) if str(v) in present] or sorted(present.values(), key=lambda v: (str(type(v)), v))
    numeric = _numeric(values)
    index = {str(v): i for i, v in enumerate(values)}
    position = (lambda v: v) if numeric else (lambda v: index[str(v)])
    series: dict[str, list[ConfigRow]] = {}
    for c in done:
        label = " ".join(f"{k}={v}" for k, v in c.settings.items() if k != name) if grouped else ""
        series.setdefault(label, []).append(c)
    for label, members in sorted(series.items()):
        members.sort(key=lambda c: position(c.settings[name]))
        xs = [position(c.settings[name]) for c in members]
        ys = [c.val_mean for c in members]
        errs = [c.val_std or 0.0 for c in members]
        ax.errorbar(xs, ys, yerr=errs, marker="o", capsize=4, linestyle="-" if grouped and numeric else "none",
                    label=label or None)
    if numeric and min(values) > 0 and max(values) / min(values) >= 100:
        ax.set_xscale("log")
    if not numeric:
        ax.set_xticks(range(len(values)), [str(v) for v in values])
    means = [c.val_mean for c in done]
    if min(means) > 0 and max(means) / min(means) >= 30:
        ax.set_yscale("log")
    if len(series) > 1 and len(series) <= 12:
        ax.legend(fontsize="small")
    ax.set_xlabel(name)
    ax.set_ylabel(f"val {monitor} (mean ± std over seeds)")
    ax.set_title(f"val {monitor} by {name}")
    ax.grid(alpha=0.3)
    return _save(fig, folder / f"plot_{name}.png")


def learning_curves(folder: Path, rows: list[TrialRow], monitor: str) -> str:
    curves = [r for r in rows if any(v is not None for v in r.curve)]
    if not curves:
        return "learning_curves.png skipped: no epoch finished yet"
    fig = _figure(7.2, 4.6)
    ax = fig.add_subplot()
    colours: dict[str, Any] = {}
    cycle = [f"C{i}" for i in range(10)]
    for r in curves:
        label = " ".join(f"{k}={v}" for k, v in r.settings.items()) or "trial"
        first = label not in colours
        colour = colours.setdefault(label, cycle[len(colours) % len(cycle)])
        xs = [i + 1 for i, v in enumerate(r.curve) if v is not None]
        ys = [v for v in r.curve if v is not None]
        ax.plot(xs, ys, color=colour, linestyle="--" if r.status == "PRUNED" else "-", marker=".",
                alpha=0.8, label=label if first else None)
    values = [v for r in curves for v in r.curve if v is not None]
    if values and min(values) > 0 and max(values) / min(values) >= 30:
        ax.set_yscale("log")
    if len(colours) <= 12:
        ax.legend(fontsize="small")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"val {monitor}")
    ax.set_title(f"learning curves ({len(curves)} trials; dashed: pruned)")
    ax.grid(alpha=0.3)
    return _save(fig, folder / "learning_curves.png")


def _pyplot():
    import sys

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")  # no window: before pyplot is first imported
    import matplotlib.pyplot as plt

    return plt


def _optuna_plot(draw: Any, path: Path) -> str:
    import matplotlib

    plt = _pyplot()
    # Optuna sets its own style (ggplot) for the whole process: keep it inside its own plots
    with matplotlib.rc_context(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
        ax = draw()
        fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
        try:
            buffer = io.BytesIO()
            fig.set_size_inches(7.2, 4.6)
            fig.tight_layout()
            fig.savefig(buffer, format="png", dpi=100)
            write_bytes_atomic(path, buffer.getvalue())
        finally:
            plt.close(fig)
    return path.name


def importance_evaluator() -> tuple[Any, str]:
    """fANOVA (Optuna's default) needs scikit-learn; without it, PED-ANOVA (no extra library)."""
    from optuna.importance import FanovaImportanceEvaluator, PedAnovaImportanceEvaluator

    try:
        import sklearn  # noqa: F401
    except ImportError:
        return PedAnovaImportanceEvaluator(), "PED-ANOVA (scikit-learn is not installed for fANOVA)"
    return FanovaImportanceEvaluator(seed=0), "fANOVA"


def search_plots(folder: Path, study: Any) -> list[str]:
    """Optuna's optimisation history and parameter importances (file names, or notes)."""
    from optuna.trial import TrialState
    from optuna.visualization import matplotlib as ovm

    said = []
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if not complete:
        return ["optimization_history.png skipped: no complete trial yet"]
    try:
        said.append(_optuna_plot(lambda: ovm.plot_optimization_history(study), folder / "optimization_history.png"))
    except Exception as exc:  # a plot never ends a sweep
        said.append(f"optimization_history.png skipped: {type(exc).__name__}: {exc}")
    varied = {name for t in complete for name in t.params if len({str(u.params.get(name)) for u in complete}) > 1}
    if len(complete) < 2 or not varied:
        said.append("param_importances.png skipped: needs at least 2 complete trials with different settings")
        return said
    evaluator, how = importance_evaluator()
    try:
        said.append(_optuna_plot(lambda: ovm.plot_param_importances(study, evaluator=evaluator),
                                 folder / "param_importances.png"))
        if not how.startswith("fANOVA"):
            said.append(f"param_importances.png: {how}")
    except Exception as exc:
        said.append(f"param_importances.png skipped: {type(exc).__name__}: {str(exc)[:200]}")
    return said


def write_plots(folder: Path, rows: list[TrialRow], configs: list[ConfigRow], names: list[str], monitor: str,
                study: Any = None, orders: dict[str, list[Any]] | None = None) -> list[str]:
    said = [metric_by_setting(folder, configs, name, monitor, grouped=study is None, order=(orders or {}).get(name))
            for name in names]
    said.append(learning_curves(folder, rows, monitor))
    if study is not None:
        said.extend(search_plots(folder, study))
    return said


"""What a run's results panel shows, read from its results.json and metrics.csv: the scores beside the naive
and strong baselines with the best of each marked, the task's report (a confusion matrix, a per-tag table),
the best epoch, timings and throughput, and the verdicts. Pure Python, no Qt: the panel only lays it out.

Nothing in the files is trusted to have the right types (a run of an older version, a plugin's own report):
what does not fit is left out or shown as it is, never an exception.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

#: which way a score improves, by the names the built-in tasks log; a plugin's own metric is left unmarked
HIGHER = ("acc", "accuracy", "f1", "macro_f1", "micro_f1", "auroc", "auc", "precision", "recall", "score",
          "bleu", "chrf", "r2")
LOWER = ("loss", "mse", "mae", "rmse", "mape", "smape", "mase", "nll", "ppl", "perplexity", "wer", "cer", "ter")

MODEL, NAIVE, STRONG = "model", "naive", "strong"


def direction(metric: str, monitor: str | None = None, monitor_mode: str | None = None) -> str | None:
    """"max", "min" or None (unknown) for a metric name such as ``orig_rmse`` or ``bleu_greedy``."""
    if monitor and metric == monitor and monitor_mode in ("min", "max"):
        return monitor_mode
    name = metric.lower().split("/", 1)[0]  # "f1/person": an F1 per entity type
    for prefix in ("orig_", "val_", "test_"):
        name = name.removeprefix(prefix)
    for suffix in ("_greedy", "_beam", "_micro", "_macro", "_weighted"):
        name = name.removesuffix(suffix)
    if name in HIGHER:
        return "max"
    if name in LOWER or name.endswith("loss"):
        return "min"
    return None


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def fmt(value: Any) -> str:
    """As the command line's table writes scores: four significant figures."""
    x = number(value)
    if x is None:
        return "-" if value is None else str(value)
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
        return f"{x:.3e}"
    return f"{x:.4g}"


def seconds(value: Any) -> str:
    x = number(value)
    if x is None:
        return "not recorded"
    if x < 60:
        return f"{x:.1f} s"
    minutes, rest = divmod(round(x), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


@dataclass
class Group:
    """One side of the comparison: the model, the naive baseline or the strong one."""
    kind: str                      # MODEL, NAIVE or STRONG
    name: str                      # "model", "repeat_last", "dlinear"
    scores: dict[str, dict[str, Any]]   # split -> metric -> value


@dataclass
class Cell:
    text: str
    best: bool = False
    why: str = ""  # the tooltip: what it was compared with


@dataclass
class ConfusionReport:
    labels: list[str]
    matrix: list[list[int]]
    rows_title: str
    columns_title: str
    #: (label, precision, recall, f1, support) per class, computed from the matrix
    per_class: list[tuple[str, float | None, float | None, float | None, int]]


@dataclass
class PerNameReport:
    per: str                                   # "entity_type", "tag", "class"
    splits: dict[str, list[tuple[str, dict[str, Any]]]]   # split -> (name, {precision, recall, f1, support, ...})
    columns: list[str]
    notes: list[str] = field(default_factory=list)


@dataclass
class RawReport:
    text: str  # the report as JSON, for a plugin's own shape


@dataclass
class Summary:
    title: str
    ok: bool                     # has scores to show (a results.json with metrics)
    splits: list[str]            # the score columns' splits: ["val", "test"] or ["test"]
    groups: list[Group]
    metrics: list[str]           # the rows, in the order the run logged them
    cells: dict[tuple[str, str, str], Cell]   # (metric, group kind, split) -> cell
    verdict: str                 # the monitor beside the baselines, in words
    facts: list[tuple[str, str]]             # (label, text)
    notes: list[str]             # strong baseline, other baselines, diagnostics and verdicts
    report: ConfusionReport | PerNameReport | RawReport | None
    report_note: str             # what the report is, or why there is none


def _scores(entry: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(entry, dict):
        return {}
    return {split: dict(entry[split]) for split in ("val", "test") if isinstance(entry.get(split), dict)}


def groups_of(results: dict[str, Any]) -> list[Group]:
    groups = [Group(MODEL, "model", _scores(results.get("metrics")))]
    baseline = results.get("baseline")
    if isinstance(baseline, dict):
        groups.append(Group(NAIVE, str(baseline.get("name") or "naive"), _scores(baseline)))
        strong = baseline.get("strong")
        entry = (baseline.get("others") or {}).get(strong) if strong and isinstance(baseline.get("others"), dict) \
            else None
        if isinstance(entry, dict):
            groups.append(Group(STRONG, str(strong), _scores(entry)))
    return groups


def compare(groups: list[Group], metrics: list[str], splits: list[str], monitor: str | None,
            mode: str | None) -> dict[tuple[str, str, str], Cell]:
    """Each score as text, the best of the model and the baselines per metric and split marked; a tie marks
    each of them, and a metric whose direction is unknown marks none."""
    cells: dict[tuple[str, str, str], Cell] = {}
    for metric in metrics:
        way = direction(metric, monitor, mode)
        for split in splits:
            values = {g.kind: number(g.scores.get(split, {}).get(metric)) for g in groups}
            present = {k: v for k, v in values.items() if v is not None}
            best = None
            if way and len(present) > 1:
                best = (max if way == "max" else min)(present.values())
            better = "higher" if way == "max" else "lower"
            for g in groups:
                raw = g.scores.get(split, {}).get(metric)
                marked = best is not None and values[g.kind] == best
                why = (f"the best of {', '.join(present)} on {split} {metric} ({better} is better)" if marked else
                       f"{better} is better" if way else "")
                cells[(metric, g.kind, split)] = Cell(fmt(raw) if metric in g.scores.get(split, {}) else "",
                                                      marked, why)
    return cells


def monitor_verdict(groups: list[Group], monitor: str | None, mode: str | None, splits: list[str]) -> str:
    """"test mse 8.06e-04: worse than the naive repeat_last (5.515e-04), worse than the strong dlinear (...)"."""
    if not monitor:
        return ""
    split = "test" if "test" in splits else (splits[0] if splits else "val")
    model = next((number(g.scores.get(split, {}).get(monitor)) for g in groups if g.kind == MODEL), None)
    if model is None:
        return ""
    way = direction(monitor, monitor, mode)
    parts = []
    for g in groups[1:]:
        other = number(g.scores.get(split, {}).get(monitor))
        if other is None or way is None:
            continue
        if model == other:
            word = "level with"
        else:
            word = "better than" if (model > other) == (way == "max") else "worse than"
        parts.append(f"{word} the {g.kind} {g.name} ({fmt(other)})")
    head = f"{split} {monitor} {fmt(model)}"
    return f"{head}: " + ", ".join(parts) if parts else head


def best_epoch(rows: list[dict[str, str]], monitor: str | None, mode: str | None) -> tuple[int, float] | None:
    """(epoch counted from 1, value) of the best validation ``monitor`` in metrics.csv: the epoch whose
    checkpoint is the run's best (the checkpoint callback watches the same metric the same way)."""
    if not monitor or mode not in ("min", "max"):
        return None
    seen: list[tuple[int, float]] = []
    for row in rows:
        if row.get("name") != f"val/{monitor}":
            continue
        try:
            epoch, value = int(float(row.get("epoch") or 0)), float(row.get("value") or "nan")
        except ValueError:
            continue
        if math.isfinite(value):
            seen.append((epoch, value))
    if not seen:
        return None
    # the first of equal scores: the checkpoint callback keeps a new best only when it is strictly better
    pick = max(seen, key=lambda ev: (ev[1], -ev[0])) if mode == "max" else min(seen, key=lambda ev: (ev[1], ev[0]))
    return pick[0] + 1, pick[1]


def _throughput(results: dict[str, Any]) -> str:
    samples = number(results.get("train_samples_per_second"))
    train = number(results.get("train_seconds"))
    steps = number(results.get("global_steps"))
    parts = []
    if samples is not None:
        parts.append(f"{fmt(samples)} samples/s")
    if steps is not None and train:
        # not recorded as such: the optimiser steps over the time spent in training steps
        parts.append(f"{fmt(steps / train)} steps/s")
    return ", ".join(parts) or "not recorded"


def facts_of(results: dict[str, Any], best: tuple[int, float] | None, monitor: str | None,
             max_epochs: Any) -> list[tuple[str, str]]:
    facts: list[tuple[str, str]] = []
    if best is not None:
        facts.append(("best epoch", f"{best[0]} (val {monitor} {fmt(best[1])}, from metrics.csv)"))
    else:
        facts.append(("best epoch", "not recorded (no validation scores in metrics.csv)"))
    epochs = results.get("epochs_completed")
    if epochs is not None:
        of = f" of {max_epochs}" if isinstance(max_epochs, int) and max_epochs > 0 else ""
        facts.append(("epochs run", f"{epochs}{of}"))
    steps = results.get("global_steps")
    if steps is not None:
        facts.append(("steps", str(steps)))
    facts.append(("fit time", seconds(results.get("fit_seconds"))
                  + (f" ({seconds(results.get('train_seconds'))} in training steps)"
                     if number(results.get("train_seconds")) is not None else "")))
    facts.append(("throughput", _throughput(results)))  # steps/s: global_steps over train_seconds, said in the tip
    if isinstance(results.get("parameters"), int):
        facts.append(("parameters", f"{results['parameters']:,}"))
    data = results.get("data")
    if isinstance(data, dict) and data:
        facts.append(("data", ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in data.items())))
    if results.get("test_split") not in (None, "test"):
        facts.append(("test split", str(results["test_split"])))
    if "preset" in results:
        facts.append(("preset", str(results.get("preset") or "none (the plain defaults)")))
    if results.get("device"):
        world = results.get("world_size")
        facts.append(("device", str(results["device"]) + (f" x {world}" if isinstance(world, int) and world > 1
                                                           else "")))
    return facts


def notes_of(results: dict[str, Any]) -> list[str]:
    from suite.cli import strong_baseline_line
    from suite.insight.verdicts import summary_lines

    notes = []
    if results.get("fast_dev_run"):
        notes.append("--fast-dev-run: one batch each; these scores prove the run works and measure nothing")
    if results.get("interrupted_by"):
        notes.append(f"interrupted by {results['interrupted_by']}: the validation so far, no test")
    baseline = results.get("baseline")
    if isinstance(baseline, dict):
        try:
            line = strong_baseline_line(baseline)
        except (TypeError, ValueError, AttributeError):
            line = None
        if line:
            notes.append(line)
        strong, others = baseline.get("strong"), baseline.get("others")
        monitor = results.get("monitor")
        if isinstance(others, dict):
            for name, entry in others.items():
                if name == strong or not isinstance(entry, dict):
                    continue
                scores = [f"{split} {monitor} {fmt(s.get(monitor))}" for split, s in _scores(entry).items()
                          if monitor in s]
                notes.append(f"also fitted: {name}" + (f" ({', '.join(scores)})" if scores else "")
                             + (f": {entry['description']}" if entry.get("description") else ""))
    try:
        notes += summary_lines(results.get("diagnostics"))
    except (TypeError, ValueError, KeyError, AttributeError):
        pass
    return notes


def _prf(tp: int, predicted: int, gold: int) -> tuple[float | None, float | None, float | None]:
    p = tp / predicted if predicted else None
    r = tp / gold if gold else None
    f = 2 * p * r / (p + r) if p is not None and r is not None and p + r > 0 else (0.0 if p == 0 or r == 0 else None)
    return p, r, f


def confusion_of(cm: Any) -> ConfusionReport | None:
    if not isinstance(cm, dict):
        return None
    labels, matrix = cm.get("labels"), cm.get("matrix")
    if not (isinstance(labels, list) and isinstance(matrix, list) and len(matrix) == len(labels)
            and all(isinstance(row, list) and len(row) == len(labels)
                    and all(isinstance(v, int) and not isinstance(v, bool) for v in row) for row in matrix)):
        return None
    per_class = []
    for i, label in enumerate(labels):
        tp, gold, predicted = matrix[i][i], sum(matrix[i]), sum(row[i] for row in matrix)
        per_class.append((str(label), *_prf(tp, predicted, gold), gold))
    return ConfusionReport([str(x) for x in labels], matrix, str(cm.get("rows") or "true"),
                           str(cm.get("columns") or "predicted"), per_class)


def _per_name(entries: Any) -> list[tuple[str, dict[str, Any]]] | None:
    if not isinstance(entries, dict) or not entries:
        return None
    if not all(isinstance(v, dict) and any(k in v for k in ("precision", "recall", "f1")) for v in entries.values()):
        return None
    return [(str(name), scores) for name, scores in entries.items()]


def report_of(report: Any) -> tuple[ConfusionReport | PerNameReport | RawReport | None, str, list[tuple[str, str]]]:
    """The report, what it is, and its scalar facts (a vocabulary size), from results.json ``report``."""
    if report is None:
        return None, "this task records no per-class report: the scores above are all it measures", []
    if not isinstance(report, dict):
        return RawReport(json.dumps(report, indent=2, default=str)), "the task's report, as recorded", []
    facts = [(key.replace("_", " "), _fact(value)) for key, value in report.items()
             if key not in ("confusion_matrix", "classes", "val", "test", "per", "scheme", "crf", "test_split")
             and _fact(value) is not None]
    confusion = confusion_of(report.get("confusion_matrix"))
    if confusion is not None:
        return confusion, (f"confusion matrix on the test split: rows are the {confusion.rows_title}, columns the "
                           f"{confusion.columns_title}; precision, recall and F1 per class computed from it"), facts
    splits = {split: rows for split in ("test", "val") if (rows := _per_name(report.get(split))) is not None}
    if splits:
        per = str(report.get("per") or "class")
        keys = [k for k in ("precision", "recall", "f1", "support", "predicted")
                if any(k in scores for rows in splits.values() for _, scores in rows)]
        notes = []
        if report.get("scheme") not in (None, "none"):
            notes.append(f"scheme {report['scheme']}" + (", CRF" if report.get("crf") else ""))
        if report.get("test_split") not in (None, "test"):
            notes.append(f"test split: {report['test_split']}")
        what = "entity type" if per == "entity_type" else per
        return (PerNameReport(per, splits, keys, notes),
                f"precision, recall and F1 per {what} (support: the gold count)", facts)
    return RawReport(json.dumps(report, indent=2, default=str)), "the task's report, as recorded", []


def _fact(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (float, str)):
        return fmt(value) if isinstance(value, float) else value
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
    return None


def summarise_results(results: dict[str, Any], rows: list[dict[str, str]], *, run_path: str, task: str,
                      status: str, monitor_mode: str | None, max_epochs: Any = None) -> Summary:
    monitor = str(results.get("monitor") or "").removeprefix("val/") or None
    groups = groups_of(results)
    model = groups[0].scores
    splits = [s for s in ("val", "test") if model.get(s)] or ["val"]
    metrics: list[str] = []
    for split in splits:  # the test scores' order is the run's own; a val-only metric follows
        for name in model.get(split, {}):
            if name not in metrics:
                metrics.append(name)
    best = best_epoch(rows, monitor, monitor_mode)
    report, report_note, report_facts = report_of(results.get("report"))
    title = f"{task} {status}: {run_path}"
    return Summary(title, bool(metrics), splits, groups, metrics,
                   compare(groups, metrics, splits, monitor, monitor_mode),
                   monitor_verdict(groups, monitor, monitor_mode, splits),
                   facts_of(results, best, monitor, max_epochs) + report_facts, notes_of(results), report,
                   report_note)

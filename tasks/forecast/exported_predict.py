#!/usr/bin/env python3
"""Forecasts from an exported forecast run, as ``main.py --checkpoint RUN --predict INPUT`` makes them.

    python predict.py INPUT [--output FILE] [--predict-steps N]

INPUT is inline values ("0.1 0.2 0.3", a one-column model), 'cosine' (the seed tutorial's wave), a table
file (CSV, TSV, .gz too, JSON lines or a JSON list; Parquet where pyarrow is installed) with the columns
the model was trained on, ``FILE@N`` to forecast from row N instead of the end (negative N counts from the
end; the rows after it are returned as ``actual``), or for a synthetic problem an inline sequence
("0.2 *0.5 0.1 *0.3") or ``synthetic:NAME@N``. Prints CSV (step[, time], one column per target); --output
FILE writes CSV for a .csv name and the whole answer as JSON otherwise.

Needs only numpy and onnxruntime (torch for a TorchScript export); reads its settings from the folder it
lies in, so the folder can be moved anywhere. Written by rnn-suite's --export; see its docs/EXPORT.md.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
NETWORK = "forecaster"
#: the largest magnitude a series value may have (as the suite's reader checks)
MAX_MAGNITUDE = 1e100
MAX_PREDICT_STEPS = 10_000
#: pandas' default missing-value markers in text tables
NA_VALUES = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
             "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
TABLE_ENDINGS = {".csv": "csv", ".csv.gz": "csv", ".tsv": "tsv", ".tsv.gz": "tsv", ".json": "json",
                 ".jsonl": "json", ".json.gz": "json", ".jsonl.gz": "json", ".parquet": "parquet"}


sys.path.insert(0, str(HERE))  # the shared runtime beside this file, wherever the folder was moved

from _runtime import (InputError, answer, csv_text, load_session, output_path, parser, read_settings,  # noqa: E402
                      run, write_csv, write_json)


# --- reading input --------------------------------------------------------------------------------------
def split_origin(raw: str) -> tuple[str, int | None]:
    source, sep, tail = raw.rpartition("@")
    if sep and source and tail.strip().lstrip("-").isdigit():
        return source, int(tail)
    return raw, None


def parse_inline_series(text: str) -> np.ndarray | None:
    parts = text.replace(",", " ").split()
    try:
        values = np.array([float(p) for p in parts], dtype=np.float64)
    except ValueError:
        return None
    return values if len(values) and all(math.isfinite(v) for v in values) else None


def table_format(path: Path) -> str | None:
    name = path.name.lower()
    for ending in sorted(TABLE_ENDINGS, key=len, reverse=True):
        if name.endswith(ending):
            return TABLE_ENDINGS[ending]
    return None


def read_table(source: str) -> tuple[list[str], list[dict], dict[int, int]]:
    """(columns, rows as dicts of raw cells, data row -> file line where known)."""
    path = Path(source).expanduser()
    if path.is_dir():
        raise InputError(f"{source}: is a folder; expected a table file (CSV, TSV, JSON lines, Parquet)")
    if not path.is_file():
        raise InputError(f"{source}: file not found")
    fmt = table_format(path)
    if fmt is None:
        raise InputError(f"{source}: unsupported file type; expected .csv, .tsv, .json, .jsonl (.gz too) "
                         f"or .parquet")
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError(f"{source}: reading Parquet needs pyarrow (pip install pyarrow), or give CSV") from None
        table = pq.read_table(path).to_pylist()
        columns = list(table[0]) if table else []
        return columns, table, {}
    raw = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        raw = gzip.decompress(raw)
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{source}, line {line}: not UTF-8 text; save the table as UTF-8") from None
    if not text.strip():
        raise InputError(f"{source}: file is empty")
    if fmt == "json":
        return read_json(source, text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if fmt == "tsv" else ",")
    header, rows, lines = None, [], {}
    for record in reader:
        if not record or all(not cell.strip() for cell in record) and len(record) == 1:
            continue  # pandas skips blank lines
        if header is None:
            header = [cell.strip() if cell.strip() != cell else cell for cell in record]
            continue
        lines[len(rows)] = reader.line_num
        rows.append(dict(zip(header, record)))
    if not rows:
        raise InputError(f"{source}: cannot read as {fmt.upper()}: no data rows (only a header?)")
    return header, rows, lines


def read_json(source: str, text: str) -> tuple[list[str], list[dict], dict[int, int]]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{source}, line {exc.lineno}: not valid JSON ({exc.msg})") from None
        lines = {}
    else:
        items, lines = [], {}
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"{source}, line {number}: not valid JSON ({exc.msg}); expected one JSON "
                                 f"object per line") from None
            lines[len(items) - 1] = number
    columns: dict[str, None] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(f"{source}: expected a JSON object (one row) at row {i + 1}")
        columns.update(dict.fromkeys(map(str, item)))
    return list(columns), [{str(k): v for k, v in item.items()} for item in items], lines


def cell_number(cell) -> float:
    """A cell as a float: NaN for a missing one; raises ValueError for text that is no number."""
    if cell is None:
        return math.nan
    if isinstance(cell, bool):
        return float(cell)
    if isinstance(cell, (int, float)):
        return float(cell)
    text = str(cell)
    if text.strip() in NA_VALUES:
        return math.nan
    if "_" in text:
        raise ValueError(text)
    return float(text)


def numeric_values(columns: list[str], rows: list[dict], source: str, lines: dict[int, int]) -> np.ndarray:
    def where(i: int) -> str:
        return f"{source}, line {lines[i]}" if i in lines else source

    values = np.empty((len(rows), len(columns)))
    for j, col in enumerate(columns):
        for i, row in enumerate(rows):
            cell = row.get(col)
            try:
                values[i, j] = cell_number(cell)
            except ValueError:
                raise InputError(f"{where(i)}: column '{col}': expected a number, got {cell!r} (row {i + 1})") from None
    for i, j in np.argwhere(~np.isfinite(values) | (np.abs(values) > MAX_MAGNITUDE)):
        value = values[i, j]
        if np.isnan(value):
            problem = "missing value; fill it, or pass --missing ffill|interpolate|zero to the suite"
        elif np.isinf(value):
            problem = f"infinite value {value:g}; a series value must be a finite number"
        else:
            problem = f"value {value:.6g} is too large to scale; values must lie within ±{MAX_MAGNITUDE:.0e}"
        raise InputError(f"{where(int(i))}: column '{columns[j]}': {problem} (row {int(i) + 1})")
    return values


def time_texts(rows: list[dict], column: str) -> list[str]:
    """The time column as text, as pandas' ``astype(str)`` gives it: whole numbers and decimals as numbers."""
    cells = [row.get(column) for row in rows]
    if all(isinstance(c, str) for c in cells):
        for kind in (int, float):
            try:
                return [str(kind(c)) for c in cells]
            except ValueError:
                continue
        return cells
    return [str(c) for c in cells]


def history(raw: str, settings: dict) -> tuple[np.ndarray, list[str] | None]:
    columns = settings["columns"]
    values = parse_inline_series(raw)
    if values is not None:
        if len(columns) != 1:
            raise InputError(f"--predict: the model reads {len(columns)} columns ({', '.join(columns)}); "
                             "give a file with those columns")
        return values[:, None], None
    if raw == "cosine":
        wave = settings["cosine"]
        header, rows = [wave["column"]], [{wave["column"]: v}
                                          for v in np.cos(np.linspace(wave["start"], wave["stop"], wave["num"]))]
        lines = {}
    else:
        header, rows, lines = read_table(raw)
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(f"{raw}: missing column(s) {', '.join(missing)} that the model was trained on")
    time_col = settings["time_column"]
    times = time_texts(rows, time_col) if time_col in header else None
    return numeric_values(columns, rows, raw, lines), times


# --- time stamps of the forecast ------------------------------------------------------------------------
def format_stamp(stamp: np.datetime64) -> str:
    """As ``str(pandas.Timestamp)``: date and time, fractions of a second only when there are any."""
    ns = int(stamp.astype("datetime64[ns]").astype(np.int64)) % 10**9
    text = str(np.datetime_as_string(stamp.astype("datetime64[s]"), unit="s")).replace("T", " ")
    if ns % 1000:
        return f"{text}.{ns:09d}"
    return f"{text}.{ns // 1000:06d}" if ns else text


def _month_anchor(year: int, month: int, anchor: str) -> np.datetime64:
    first = np.datetime64(f"{year:04d}-{month:02d}-01", "D")
    if anchor == "start":
        return first
    return (first.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1


def _months(start: np.datetime64, rule: dict, steps: int) -> list[np.datetime64]:
    day = start.astype("datetime64[D]")
    clock = start.astype("datetime64[ns]") - day.astype("datetime64[ns]")
    period = rule["period"]  # months between anchors: 1, 3 (quarters) or 12 (years)
    year, month = (int(x) for x in str(day.astype("datetime64[M]")).split("-"))
    anchored = (month - rule["month"]) % period == 0 and day == _month_anchor(year, month, rule["anchor"])
    if not anchored:  # roll forward to the next anchor date, as date_range does
        y, m = year, month
        while True:
            candidate = _month_anchor(y, m, rule["anchor"])
            if (m - rule["month"]) % period == 0 and candidate > day:
                break
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        year, month = y, m
    out = []
    for k in range(1, steps + 1):
        total = year * 12 + (month - 1) + k * rule["every"]
        out.append(_month_anchor(total // 12, total % 12 + 1, rule["anchor"]).astype("datetime64[ns]") + clock)
    return out


def future_times(last: str | None, settings: dict, steps: int) -> list[str] | None:
    """The stamps of the forecast steps, as pandas' ``date_range(last, periods=steps + 1, freq)[1:]``."""
    rule, freq = settings.get("time_rule"), settings.get("freq")
    if not last or not freq or not rule:
        return None
    if rule["kind"] != "pandas":
        try:
            start = np.datetime64(last.strip().replace(" ", "T", 1), "ns")
        except ValueError:
            start = None
        if start is not None:
            if rule["kind"] == "fixed":
                stamps = [start + np.timedelta64(k * rule["ns"], "ns") for k in range(1, steps + 1)]
            elif rule["kind"] == "months":
                stamps = _months(start, rule, steps)
            elif rule["kind"] == "week":
                day = start.astype("datetime64[D]")
                clock = start - day.astype("datetime64[ns]")
                weekday = (int(day.astype(np.int64)) + 3) % 7  # 1970-01-01 was a Thursday (3)
                first = day + (rule["weekday"] - weekday) % 7
                stamps = [(first + 7 * rule["every"] * k).astype("datetime64[ns]") + clock for k in range(1, steps + 1)]
            else:  # business days
                day = start.astype("datetime64[D]")
                clock = start - day.astype("datetime64[ns]")
                first = np.busday_offset(day, 0, roll="forward")
                stamps = [np.busday_offset(first, rule["every"] * k).astype("datetime64[ns]") + clock
                          for k in range(1, steps + 1)]
            return [format_stamp(s) for s in stamps]
    try:  # a frequency (or a time text) numpy cannot follow: pandas, where it is installed
        import pandas as pd
    except ImportError:
        print(f"warning: the forecast's time stamps need pandas for frequency {freq!r} and time {last!r}; "
              f"they are left out", file=sys.stderr)
        return None
    try:
        return [str(s) for s in pd.date_range(pd.Timestamp(last), periods=steps + 1, freq=freq)[1:]]
    except (ValueError, TypeError):
        return None


# --- the forecast --------------------------------------------------------------------------------------
class Forecaster:
    def __init__(self):
        self.session = load_session(HERE, NETWORK)

    def __call__(self, window: np.ndarray) -> np.ndarray:
        return self.session.run(["forecast"], {"window": window.astype(np.float32)[None]})[0][0]


def scale_checked(values, mean, std, columns, source, max_scaled, first_row=0) -> np.ndarray:
    scaled = (values - mean) / std
    beyond = np.abs(scaled) > max_scaled
    if beyond.any():
        i, j = np.argwhere(beyond)[0]
        raise InputError(f"{source}: column '{columns[j]}': value {values[i, j]:.6g} is too large for the model "
                         f"(row {first_row + int(i) + 1}): scaled by the training rows it is {scaled[i, j]:.3g}, "
                         f"beyond ±{max_scaled:.0e}")
    return scaled


def predict(raw: str, settings: dict, steps_asked: int | None, net: Forecaster) -> dict:
    if "synthetic" in settings:
        return predict_synthetic(raw, settings, steps_asked, net)
    targets, covariates, lookback = settings["targets"], settings["covariates"], settings["lookback"]
    horizon = settings["horizon"]
    source, origin = split_origin(raw)
    values, times = history(source, settings)
    rows = len(values)
    if origin is not None:
        if not -rows <= origin <= rows:
            raise InputError(f"--predict: origin {origin} is outside the {rows} rows of {source}")
        origin = origin % rows if origin < 0 else origin
    else:
        origin = rows
    past, future = values[:origin], values[origin:, : len(targets)]
    times = times[:origin] if times else None
    if len(past) < lookback:
        raise InputError(f"--predict: the model needs the last {lookback} values, got {len(past)}")
    steps = (steps_asked if steps_asked is not None else settings["predict_steps"]) or horizon
    if steps > horizon and covariates:
        raise InputError("--predict-steps beyond the horizon forecasts recursively, which needs future "
                         f"covariates; this model uses covariates, so ask for at most {horizon} steps")
    mean, std = np.asarray(settings["mean"]), np.asarray(settings["std"])
    window = scale_checked(past[-lookback:], mean, std, settings["columns"], source, settings["max_scaled"],
                           first_row=origin - lookback).astype(np.float32)
    pieces, made = [], 0
    while made < steps:
        step = net(window)  # (horizon, targets)
        pieces.append(step)
        made += len(step)
        if made < steps:  # recursive beyond the horizon: the window moves on by the steps just forecast
            window = np.concatenate([window[len(step):], step], axis=0)
    forecast = np.concatenate(pieces)[:steps].astype(np.float64) * std[: len(targets)] + mean[: len(targets)]
    return {
        "targets": targets, "steps": steps, "origin": origin, "rows": rows,
        "time": future_times(times[-1] if times else None, settings, steps),
        "forecast": {col: forecast[:, j].tolist() for j, col in enumerate(targets)},
        "history": {col: past[-lookback:, j].tolist() for j, col in enumerate(targets)},
        "actual": {col: future[:steps, j].tolist() for j, col in enumerate(targets)},
        "history_time": times[-lookback:] if times else None,  # the stamps of the rows read
    }


# --- synthetic sequence problems (tasks/forecast/synthetic.py) -----------------------------------------
def generate(problem: str, n: int, length: int, delay: int, seed: int, split_index: int):
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(split_index,)))
    if problem == "adding":
        inputs = np.zeros((n, length, 2))
        values = rng.random((n, length))
        inputs[..., 0] = values
        half, rows = length // 2, np.arange(n)
        first, second = rng.integers(0, half, n), rng.integers(half, length, n)
        inputs[rows, first, 1] = 1.0
        inputs[rows, second, 1] = 1.0
        return inputs, values[rows, first] + values[rows, second]
    values = rng.uniform(-1.0, 1.0, (n, length))
    return values[..., None], values[:, length - delay].copy()


INLINE = {"adding": "numbers, the two marked ones starred: '0.2 *0.5 0.1 *0.3'", "delay": "numbers: '0.3 -0.8 0.1'"}


def parse_inline(problem: str, text: str) -> np.ndarray:
    steps = []
    for token in text.replace(",", " ").split():
        marked = problem == "adding" and token.startswith("*")
        try:
            value = float(token[1:] if marked else token)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise InputError(f"--predict: {token!r} is not a number; synthetic:{problem} reads an inline "
                             f"sequence of {INLINE[problem]}, or 'synthetic:{problem}@N' (test example N)")
        steps.append([value, 1.0 if marked else 0.0] if problem == "adding" else [value])
    if not steps:
        raise InputError(f"--predict: an empty sequence; give {INLINE[problem]}")
    return np.asarray(steps, dtype=np.float64)


def predict_synthetic(raw: str, settings: dict, steps_asked: int | None, net: Forecaster) -> dict:
    syn = settings["synthetic"]
    problem, lookback, length, delay = syn["problem"], settings["lookback"], syn["sequence_length"], syn["delay"]
    steps = settings["predict_steps"] if steps_asked is None else steps_asked
    if steps > 1:
        raise InputError(f"--predict-steps: {settings['data']} has one target per sequence; leave it at 0 or 1")
    source, index = split_origin(raw)
    example = split = None
    if source.startswith("synthetic:"):
        if source[len("synthetic:"):] != problem:
            raise InputError(f"--predict: this model was trained on {settings['data']}, not {source}")
        split, n = ("test", syn["n_test"]) if syn["n_test"] else ("val", syn["n_val"])
        index = 0 if index is None else index
        if not -n <= index < n:
            raise InputError(f"--predict: example {index} is outside the {n} {split} examples of {source} "
                             f"(0 to {n - 1}, or negative from the end)")
        example = index % n
        inputs, targets = generate(problem, n, length, delay, syn["data_seed"], syn["splits"].index(split))
        inputs, actual = inputs[example, length - lookback:], float(targets[example])
    else:
        inputs = parse_inline(problem, raw)
        if problem == "adding":
            actual = float((inputs[:, 0] * inputs[:, 1]).sum())
        else:
            actual = float(inputs[len(inputs) - delay, 0]) if delay <= len(inputs) else None
        if settings["model"] == "segment" and len(inputs) != lookback:
            raise InputError(f"--predict: the segment model reads sequences of {lookback} steps, got {len(inputs)}")
    mean, std = np.asarray(settings["mean"]), np.asarray(settings["std"])
    rows = np.concatenate([np.full((len(inputs), 1), mean[0]), inputs], axis=1)
    forecast = float(net(((rows - mean) / std).astype(np.float32))[0, 0]) * std[0] + mean[0]
    target = settings["targets"][0]
    return {"problem": problem, "example": example, "split": split, "length": len(inputs),
            "trained_length": lookback, "targets": settings["targets"], "steps": 1, "time": None,
            "forecast": {target: [forecast]}, "actual": {target: [] if actual is None else [actual]},
            "baseline": {"train_mean": syn["target_mean"]}}


# --- writing -------------------------------------------------------------------------------------------
def csv_table(output: dict) -> tuple[list[str], list[list]]:
    """The forecast as CSV's header and rows (step[, time], one column per target)."""
    if "problem" in output:
        col = output["targets"][0]
        actual = output["actual"][col]
        return ["example", col, f"{col}_forecast"], [
            ["inline" if output["example"] is None else output["example"],
             f"{actual[0]:.6g}" if actual else "", f"{output['forecast'][col][0]:.6g}"]]
    times = output.get("time")
    header = ["step"] + (["time"] if times else []) + output["targets"]
    return header, [[i + 1] + ([times[i]] if times else []) + [f"{output['forecast'][c][i]:.6g}" for c in output["targets"]]
                    for i in range(output["steps"])]


def main(argv: list[str] | None = None) -> int:
    cli = parser(__doc__.split("\n\n")[0], "values, 'cosine', a table file, FILE@N, or a synthetic sequence",
                 "write the forecast: .csv as CSV, otherwise JSON")
    cli.add_argument("--predict-steps", metavar="N", type=int,
                     help="steps to forecast (default: the run's setting; 0: the horizon; more: recursive)")
    args = cli.parse_args(argv)

    def work() -> None:
        if args.predict_steps is not None and not 0 <= args.predict_steps <= MAX_PREDICT_STEPS:
            raise InputError(f"--predict-steps: must be between 0 and {MAX_PREDICT_STEPS:,}")
        out = output_path(args.output)
        output = predict(args.input, read_settings(HERE), args.predict_steps, Forecaster())
        if out is None:
            print(csv_text(*csv_table(output)).rstrip("\n"))
        elif out.suffix.lower() == ".csv":
            write_csv(out, *csv_table(output))
            print(f"wrote {out}")
        else:
            write_json(out, output)
            print(f"wrote {out}")

    return answer(work)


if __name__ == "__main__":
    run(main)

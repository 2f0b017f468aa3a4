"""Exported networks against PyTorch: single-input latency, onnxruntime against eager, for each task.

For every task the registry lists (so a task added later joins by itself), a small run is trained (or
``--run TASK=PATH`` names one), exported with ``--export onnx``, and its exported predictor answers the
task's example input once, in this process, with every network call it makes recorded: the network, its
inputs. That list of calls is the forward work of one input (one call for forecast, sentiment and tagging;
an encoder call and a decoder step per output token for translation; a step per frame for music). It is
then replayed ``--repeats`` times (200) through onnxruntime and through the eager PyTorch modules the
export was traced from, after ``--warmup`` replays each, both on one thread (torch.set_num_threads(1),
onnxruntime's intra-op threads 1). Printed per task: the two medians and their ratio (goal: onnxruntime at
most 0.7x eager); a task that does not export, or has no example input, is skipped with the reason.

The last line is one comparable figure set, e.g. ``export_latency forecast=0.31x sentiment=0.42x ... met=5/5``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from suite.errors import UserError, exit_on_user_error  # noqa: E402

GOAL = 0.7


def _head_sentences(src: Path, dst: Path, n: int) -> None:
    """The first ``n`` blank-line-separated sentences of a CoNLL(-U) file."""
    out, count = [], 0
    with open(src, encoding="utf-8") as handle:
        for line in handle:
            out.append(line)
            if not line.strip():
                count += 1
                if count >= n:
                    break
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text("".join(out), encoding="utf-8")


def _tagging_slice(root: Path, where: Path) -> dict:
    ewt = root / "tagging" / "ud_english_ewt"
    for name, n in (("en_ewt-ud-train.conllu", 300), ("en_ewt-ud-dev.conllu", 50), ("en_ewt-ud-test.conllu", 50)):
        _head_sentences(ewt / name, where / "ewt" / name, n)
    return {"preset": "none", "data": str(where / "ewt")}


def _music_slice(root: Path, where: Path) -> dict:
    full = json.loads((root / "music" / "jsb_chorales" / "jsb-chorales-quarter.json").read_text())
    data = where / "jsb-slice.json"
    data.write_text(json.dumps({"train": full["train"][:16], "valid": full["valid"][:4], "test": full["test"][:4]}))
    return {"data": str(data), "batch_size": 4}


#: how each built-in task's small run is trained: one epoch on a slice of the shared data, default network
#: sizes unless they would take minutes on two cores (translation's: its test set is decoded by beam search)
RECIPES = {
    "forecast": lambda root, where: {"preset": "seed", "split": "700,200,0"},
    "sentiment": lambda root, where: {"data": str(root / "sentiment" / "rt_polarity"), "limit": 1000},
    "tagging": _tagging_slice,
    "translation": lambda root, where: {"data": str(root / "translation" / "multi30k"), "max_pairs": 1000,
                                        "source_vocab": 1000, "target_vocab": 1000, "embedding": 64,
                                        "hidden": 64, "decoder_hidden": 128},
    "music": _music_slice,
}


def train_run(task: str, root: Path, where: Path) -> Path:
    from suite import api

    settings = RECIPES[task](root, where)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        results = api.train(task, run_dir=where / f"{task}-run", max_epochs=1, threads=1, **settings)
    return Path(results["run_dir"])


class Recording:
    """A session that notes each call (the predictor's exact feeds) before answering it."""

    def __init__(self, session, name: str, calls: list):
        self.session, self.name, self.calls = session, name, calls
        self.input_names = getattr(session, "input_names", None)
        self.output_names = getattr(session, "output_names", None)

    def run(self, output_names, feeds):
        self.calls.append((self.name, self.session, output_names, dict(feeds)))
        return self.session.run(output_names, feeds)


def record_one_input(export_dir: Path, raw: str, task: str) -> list:
    """Run the exported predictor on ``raw`` in this process; returns its network calls."""
    spec = importlib.util.spec_from_file_location(f"_bench_runtime_{task}", export_dir / "_runtime.py")
    runtime = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runtime)
    calls: list = []
    fake = types.ModuleType("_runtime")
    fake.__dict__.update({k: v for k, v in vars(runtime).items() if not k.startswith("__")})
    fake.load_session = lambda folder, name: Recording(runtime.load_session(folder, name), name, calls)
    saved = sys.modules.get("_runtime")
    sys.modules["_runtime"] = fake
    try:
        spec = importlib.util.spec_from_file_location(f"_bench_predict_{task}", export_dir / "predict.py")
        predictor = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(predictor)
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = predictor.main([raw])
        if code:
            raise UserError(f"{task}: the exported predictor failed on {raw!r}: {out.getvalue().strip()[-300:]}")
    finally:
        if saved is None:
            sys.modules.pop("_runtime", None)
        else:
            sys.modules["_runtime"] = saved
    return calls


def median_seconds(replay, repeats: int, warmup: int) -> float:
    for _ in range(warmup):
        replay()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        replay()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_task(task_name: str, run: Path, where: Path, repeats: int, warmup: int) -> tuple[float, float, int]:
    import torch

    from suite.export import export_run
    from suite.export.graphs import recording
    from suite.registry import get_task
    from suite.runs import Run
    from suite.trained import load_checkpoint_file, run_checkpoint

    task = get_task(task_name)
    path = run if run.is_file() else run_checkpoint(Run.open(run))
    trained = load_checkpoint_file(path)
    raw = task.example_input(trained.cfg)
    if raw is None:
        raise LookupError("it has no example input (Task.example_input)")
    export_dir = where / f"{task_name}-onnx"
    with recording() as exported:
        try:
            export_run(trained, "onnx", export_dir)
        except UserError as exc:
            if "does not support --export" in str(exc):
                raise LookupError(str(exc)) from None
            raise
    modules = {e.path.stem: e for e in exported}
    calls = record_one_input(export_dir, raw, task_name)
    if not calls:
        raise LookupError("its predictor made no network call for the example input")
    eager_calls = []
    for name, _, _, feeds in calls:
        entry = modules[name]
        eager_calls.append((entry.module, [torch.from_numpy(feeds[n]) for n in entry.input_names]))

    def replay_onnx():
        for _, session, outputs, feeds in calls:
            session.run(outputs, feeds)

    def replay_eager():
        with torch.no_grad():
            for module, args in eager_calls:
                module(*args)

    onnx_s = median_seconds(replay_onnx, repeats, warmup)
    eager_s = median_seconds(replay_eager, repeats, warmup)
    return onnx_s, eager_s, len(calls)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", metavar="TASK=PATH", action="append", default=[],
                        help="use this trained run (folder or .ckpt) for TASK instead of training one (repeatable)")
    parser.add_argument("--tasks", metavar="A,B", help="only these tasks (default: every task the registry lists)")
    parser.add_argument("--repeats", type=int, default=200, help="timed replays per runtime (median; default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed replays first (default 20)")
    parser.add_argument("--data-root", metavar="DIR", help="the shared data (default $RNN_SUITE_DATA or ../shared/data)")
    args = parser.parse_args()
    os.environ["RNN_SUITE_THREADS"] = "1"  # the exported predictor's onnxruntime sessions: one intra-op thread
    import torch

    from suite.registry import task_names

    torch.set_num_threads(1)
    given = {}
    for item in args.run:
        name, sep, path = item.partition("=")
        if not sep or not path:
            raise UserError(f"--run {item!r}: expected TASK=PATH")
        given[name] = Path(path)
    names = args.tasks.split(",") if args.tasks else task_names()
    root = Path(args.data_root or os.environ.get("RNN_SUITE_DATA") or REPO.parent / "shared" / "data")
    ratios: dict[str, float] = {}
    print(f"single-input latency, median of {args.repeats} after {args.warmup} warm-up, 1 thread each "
          f"(torch {torch.__version__})")
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        where = Path(tmp)
        for name in names:
            try:
                if name in given:
                    run = given[name]
                elif name in RECIPES:
                    started = time.perf_counter()
                    run = train_run(name, root, where)
                    print(f"{name:<12} (trained a small run in {time.perf_counter() - started:.0f} s)", flush=True)
                else:
                    raise LookupError("no recipe to train it here; give --run TASK=PATH")
                onnx_s, eager_s, n = bench_task(name, run, where, args.repeats, args.warmup)
            except LookupError as exc:
                print(f"{name:<12} skipped: {exc}", flush=True)
                continue
            ratio = onnx_s / eager_s
            ratios[name] = ratio
            print(f"{name:<12} onnxruntime {onnx_s * 1e3:8.3f} ms   eager {eager_s * 1e3:8.3f} ms   "
                  f"ratio {ratio:.2f}x ({'met' if ratio <= GOAL else 'MISSED'}; {n} network call"
                  f"{'s' * (n != 1)} per input)", flush=True)
    met = sum(r <= GOAL for r in ratios.values())
    print("export_latency " + " ".join(f"{k}={v:.2f}x" for k, v in ratios.items()) + f" goal<={GOAL}x met={met}/{len(ratios)}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_user_error(main))

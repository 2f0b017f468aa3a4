"""How fast do the commands that only read settings answer, beside the cost of importing Lightning?

``--help``, ``--list-tasks``, ``--task NAME --help`` and ``--print-config`` import neither torch nor
Lightning, so each should take a small part of what ``python -c "import lightning"`` takes on the same
machine. Every command runs in a fresh interpreter (nothing cached in the process), ``--repeats`` times,
the commands taken in turn so that a busy moment of the machine falls on all of them alike; the figure
is each one's median wall time and its ratio to the import's median. Target: each ratio at most 0.30.

Last line: ``max_ratio=<value>``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET = 0.30
REFERENCE = ("import lightning", [sys.executable, "-c", "import lightning"])


def commands(task: str) -> list[tuple[str, list[str]]]:
    main = [sys.executable, str(REPO / "main.py")]
    return [("--help", [*main, "--help"]),
            ("--list-tasks", [*main, "--list-tasks"]),
            (f"--task {task} --help", [*main, "--task", task, "--help"]),
            (f"--task {task} --print-config", [*main, "--task", task, "--print-config"])]


def wall_time(argv: list[str], cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per command (default 5)")
    parser.add_argument("--task", default="forecast", help="the task of --task NAME --help (default forecast)")
    args = parser.parse_args()
    runs = [REFERENCE, *commands(args.task)]
    times: dict[str, list[float]] = {name: [] for name, _ in runs}
    with tempfile.TemporaryDirectory() as cwd:  # nothing of the checkout's runs/ is read or written
        for argv in (argv for _, argv in runs):  # one untimed start each: the disk cache is warm for all
            wall_time(argv, cwd)
        for _ in range(args.repeats):
            for name, argv in runs:
                times[name].append(wall_time(argv, cwd))
    reference = statistics.median(times[REFERENCE[0]])
    print(f"{REFERENCE[0]:<38} {reference:6.3f} s  (median of {args.repeats}; the reference)")
    ratios = []
    for name, _ in runs[1:]:
        seconds = statistics.median(times[name])
        ratios.append(seconds / reference)
        verdict = "ok" if ratios[-1] <= TARGET else f"over the target {TARGET}"
        print(f"main.py {name:<30} {seconds:6.3f} s  {ratios[-1]:5.2f}x  {verdict}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; target: each at most {TARGET}x")
    print(f"max_ratio={max(ratios):.3f}")
    return 0 if max(ratios) <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())

"""Shared fixtures: the real-data root. Helpers for running the CLI are in helpers.py."""

from __future__ import annotations

import os

import pytest

from helpers import shared_data_root

# Nothing may download at test time; a Hub lookup must fail at once.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Parallel runs (pytest-xdist, `-n auto` in pyproject): torch's default of one thread per core in every
# worker, and in every CLI child a worker starts, oversubscribes the cores, which slows training several
# times over (README, Troubleshooting). Each worker gets its share; set before any test imports torch.
if os.environ.get("PYTEST_XDIST_WORKER"):
    _workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // _workers)))

MAX_WORKERS = 2  # see pytest_xdist_auto_num_workers


@pytest.hookimpl(optionalhook=True)  # a hook of xdist's, absent with -p no:xdist
def pytest_xdist_auto_num_workers(config):
    """What `-n auto` means here: at most MAX_WORKERS, as many as there are cores, and none (one process)
    for a run of one test file, whose tests share module fixtures and would all go to one worker anyway.
    More workers pay off little (a file is one worker's unit, and the longest files set the pace) and each
    holds torch and Lightning in memory; `-n 8` asks for more, `-n 0` for none."""
    from pathlib import Path

    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # the user's own count: xdist's hook reads it
    files = {Path(str(arg).split("::", 1)[0]).resolve() for arg in config.args}
    if len(files) == 1 and next(iter(files)).is_file():
        return 0
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def data_root():
    """../shared/data (or $RNN_SUITE_DATA). Missing: skip, unless RNN_SUITE_REQUIRE_DATA=1 (CI) says fail."""
    root = shared_data_root()
    if not root.is_dir():
        message = f"real data not found at {root} (set RNN_SUITE_DATA)"
        if os.environ.get("RNN_SUITE_REQUIRE_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return root


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Work in a fresh folder, with runs and caches under it (the CLI's relative paths resolve there)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RNN_SUITE_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("RNN_SUITE_CACHE", str(tmp_path / "cache"))
    return tmp_path

"""Shared fixtures: the real-data root. Helpers for running the CLI are in helpers.py."""

from __future__ import annotations

import os

import pytest

from helpers import shared_data_root

# Nothing may download at test time; a Hub lookup must fail at once.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


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

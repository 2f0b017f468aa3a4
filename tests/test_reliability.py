"""Failure modes: nothing a user owns is deleted, a damaged run never takes the product down, and every
fault ends in one clear line. docs/RELIABILITY.md lists these cases; each test here keeps a row true."""

from __future__ import annotations

from pathlib import Path

import pytest

from suite.cli import main

TINY = ["--task", "forecast", "--max-epochs", "1"]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RNN_SUITE_RUNS", str(tmp_path / "runs"))
    return tmp_path


def one_line_error(capsys, *args: str, code: int = 2) -> str:
    exit_code = main(list(args))
    err = capsys.readouterr().err.strip()
    assert exit_code == code, err
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err[len("error: "):]


# --- 1. a failed setup deletes nothing that was there before ------------------------------------------------

@pytest.mark.parametrize("bad", [["--accelerator", "gpu"], ["--strategy", "deepspeed"]])
def test_failed_setup_keeps_an_existing_run_dir_and_its_files(in_tmp, capsys, bad):
    precious = in_tmp / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep")
    one_line_error(capsys, *TINY, "--run-dir", "precious", *bad)
    assert (precious / "notes.txt").read_text() == "keep"
    assert sorted(p.name for p in precious.iterdir()) == ["notes.txt"]


def test_failed_setup_in_the_working_directory_keeps_it(in_tmp, capsys):
    (in_tmp / "series.csv").write_text("v\n" + "\n".join(str(i % 5) for i in range(80)) + "\n")
    one_line_error(capsys, *TINY, "--run-dir", ".", "--accelerator", "gpu")
    assert sorted(p.name for p in in_tmp.iterdir()) == ["series.csv"]


def test_failed_setup_removes_only_the_folders_it_made(in_tmp, capsys):
    one_line_error(capsys, *TINY, "--run-dir", "new/deeper/run", "--accelerator", "gpu")
    assert not (in_tmp / "new").exists()


def test_a_run_dir_holding_run_files_is_refused_before_anything_is_written(in_tmp, capsys):
    (in_tmp / "mine").mkdir()
    (in_tmp / "mine" / "metrics.csv").write_text("my own numbers\n")
    message = one_line_error(capsys, *TINY, "--run-dir", "mine")
    assert "already holds metrics.csv" in message
    assert (in_tmp / "mine" / "metrics.csv").read_text() == "my own numbers\n"


def test_deleting_a_run_keeps_the_users_files(in_tmp, capsys):
    from suite.runs import Run

    (in_tmp / "shared").mkdir()
    (in_tmp / "shared" / "notes.txt").write_text("keep")
    assert main([*TINY, "--run-dir", "shared", "--hidden", "4"]) == 0, capsys.readouterr().err
    kept = Run(in_tmp / "shared").delete()
    assert [p.name for p in kept] == ["notes.txt"]
    assert sorted(p.name for p in (in_tmp / "shared").iterdir()) == ["notes.txt"]
    assert main([*TINY, "--run-dir", "alone", "--hidden", "4"]) == 0
    assert Run(in_tmp / "alone").delete() == [] and not (in_tmp / "alone").exists()

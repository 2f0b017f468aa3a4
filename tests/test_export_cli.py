"""--export's command line and the engine's side of it (suite/export): the one-line errors, the folder rules
(never a user's files deleted, nothing half-written), the manifest, and the runtime helper."""

from __future__ import annotations

import json
import sys

import pytest

from helpers import one_line_error
from export_helpers import check_blocker, export_in_process, predict_exported


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from suite import api

    folder = tmp_path_factory.mktemp("export-cli")
    api.train("forecast", run_dir=folder / "run", lookback=24, horizon=6, segment=6, hidden=4,
              max_epochs=1, split="400,100,100", threads=1, plot=False)
    return folder / "run"


def test_the_flags_are_checked_before_a_model_loads(run, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    assert "unknown format 'tflite'; choose onnx or torchscript" in \
        one_line_error(capsys, "--checkpoint", str(run), "--export", "tflite", "--output", str(out))
    assert one_line_error(capsys, "--checkpoint", str(run), "--export", "onnx") == \
        "--export needs --output DIR, the folder to write the export into"
    assert "--export cannot be combined with --predict" in \
        one_line_error(capsys, "--checkpoint", str(run), "--export", "onnx", "--output", str(out), "--predict", "1")
    assert "--export cannot be combined with --serve" in \
        one_line_error(capsys, "--checkpoint", str(run), "--export", "onnx", "--output", str(out), "--serve")
    assert "need --checkpoint RUN_DIR" in one_line_error(capsys, "--task", "forecast", "--export", "onnx",
                                                         "--output", str(out))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if the extra were not installed
    assert one_line_error(capsys, "--checkpoint", str(run), "--export", "onnx", "--output", str(out)) == \
        "--export onnx needs onnxruntime: pip install 'rnn-suite[export]'"
    assert not out.exists()


def test_a_folder_of_the_users_is_never_written_into(run, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    message = one_line_error(capsys, "--checkpoint", str(run), "--export", "onnx", "--output", str(mine))
    assert message.startswith(f"{mine}: --output is a folder that is not empty and holds no export")
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert "is a file; --export writes a folder" in \
        one_line_error(capsys, "--checkpoint", str(run), "--export", "onnx", "--output", str(a_file))


def test_an_export_replaces_a_previous_one_but_not_files_added_to_it(run, tmp_path, capsys):
    out = tmp_path / "nested" / "export"  # a missing parent is made, as a folder output should be
    printed = export_in_process(capsys, run, "onnx", out)
    assert f"exported forecast as onnx to {out}" in printed and "predict.py" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["task"] == "forecast" and manifest["format"] == "onnx" and manifest["opset"] == 17
    assert sorted(manifest["files"]) == sorted(p.name for p in out.iterdir())
    assert manifest["settings"]["options"]["lookback"] == 24 and "mse" in manifest["metrics"]["test"]
    export_in_process(capsys, run, "torchscript", out)  # a previous export is replaced whole
    names = sorted(p.name for p in out.iterdir())
    assert "forecaster.pt" in names and "forecaster.onnx" not in names
    assert json.loads((out / "manifest.json").read_text())["opset"] is None
    (out / "mine.csv").write_text("1,2\n")
    assert "holds a previous export and files it did not write (mine.csv)" in \
        one_line_error(capsys, "--checkpoint", str(run), "--export", "onnx", "--output", str(out))
    assert (out / "mine.csv").exists() and (out / "forecaster.pt").exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no staging folders left behind


def test_a_failed_export_leaves_nothing_behind(run, tmp_path, capsys, monkeypatch):
    from tasks.forecast import ForecastTask

    def broken(self, model, out_dir, fmt):
        (out_dir / "half.onnx").write_text("partial")
        raise OSError("disk full")

    monkeypatch.setattr(ForecastTask, "export", broken)
    out = tmp_path / "out"
    assert one_line_error(capsys, "--checkpoint", str(run), "--export", "onnx", "--output", str(out)) == \
        f"{out}: cannot write the export (disk full)"
    assert list(tmp_path.iterdir()) == []


def test_a_task_without_the_hook_says_so():
    from suite.errors import UserError
    from suite.task import Task

    class Plain(Task):
        name = "plain"

    with pytest.raises(UserError, match="task 'plain' does not support --export"):
        Plain().export(None, None, "onnx")


def test_the_predictor_runs_without_torch_from_anywhere(run, tmp_path, capsys):
    check_blocker()
    out = tmp_path / "export"
    export_in_process(capsys, run, "onnx", out)
    moved = tmp_path / "elsewhere" / "moved"
    moved.parent.mkdir()
    out.rename(moved)  # the folder reads its state from where it lies
    result = predict_exported(moved, "cosine")
    assert result.stdout.splitlines()[0] == "step,cos" and len(result.stdout.splitlines()) == 7

"""A headless install (no ``gui`` extra, no ``music`` extra) trains, predicts and lists its tasks.

Qt is made unimportable the way a missing package is: ``sys.modules[name] = None`` makes every
``import name`` fail, so any Qt import on the command line's path would end the run with a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import REPO, cli_env, one_line_error

# main.py as a script, with the named packages made unimportable first
BLOCKED = f"""
import json, runpy, sys
blocked, args = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for name in blocked:
    sys.modules[name] = None
sys.argv = ["main.py", *args]
runpy.run_path({str(REPO / "main.py")!r}, run_name="__main__")
"""
QT = ["PySide6", "pyqtgraph"]
MUSIC = ["music21", "scipy"]


def run_without(blocked: list[str], *args: str, cwd) -> subprocess.CompletedProcess:
    env = cli_env(RNN_SUITE_RUNS=str(cwd / "runs"), RNN_SUITE_CACHE=str(cwd / "cache"))
    return subprocess.run([sys.executable, "-c", BLOCKED, json.dumps(blocked), json.dumps(list(args))], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=600)


def test_the_command_line_trains_and_predicts_without_qt(tmp_path):
    run = tmp_path / "run"
    trained = run_without(QT, "--task", "forecast", "--hidden", "4", "--max-epochs", "1", "--threads", "1",
                          "--run-dir", str(run), cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert json.loads((run / "results.json").read_text())["status"] == "finished"
    predicted = run_without(QT, "--checkpoint", str(run), "--predict", "cosine", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stdout.splitlines()[0].startswith("step,")  # the forecast as CSV
    listed = run_without(QT + MUSIC, "--list-tasks", cwd=tmp_path)
    assert listed.returncode == 0 and "music" in listed.stdout, listed.stderr


def test_the_window_without_the_gui_extra_names_it(tmp_path):
    done = run_without(QT, cwd=tmp_path)
    assert done.returncode == 2
    first = done.stderr.splitlines()[0]
    assert first.startswith("error: ") and "pip install rnn-suite[gui]" in first and "--task" in first, first
    assert "Traceback" not in done.stderr and "usage:" in done.stderr


def test_the_music_task_without_its_extra_is_one_line_naming_it(capsys, in_tmp, monkeypatch):
    import suite.training  # noqa: F401  (torch looks for scipy as it loads; without scipy it loads all the same)

    for name in MUSIC:
        monkeypatch.setitem(sys.modules, name, None)
    message = one_line_error(capsys, "--task", "music", "--max-epochs", "1")
    assert "pip install rnn-suite[music]" in message and "music21" in message and "scipy" in message
    assert not (in_tmp / "runs").exists()  # refused before a run folder was made


@pytest.mark.parametrize("missing", [["music21"], ["scipy"]])
def test_the_music_task_names_just_what_is_missing(missing, monkeypatch):
    from suite.errors import UserError
    from tasks.music.extra import require_music_libraries

    for name in missing:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(UserError, match=r"pip install rnn-suite\[music\]") as caught:
        require_music_libraries()
    for present in set(MUSIC) - set(missing):
        assert present not in str(caught.value)

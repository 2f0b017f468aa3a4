"""``python main.py`` where the window cannot start says why in one line, with the help, and exits 2
(Qt itself would abort with exit code 134). No X server is needed: the environment is controlled, and
missing system libraries are simulated."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import gui.display as display
from helpers import REPO, cli_env

DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
# main.py as a script, after adding a library that no machine has to the ones the xcb plugin needs
WITH_ABSENT_LIBRARY = f"""
import runpy, sys
import gui.display
gui.display.XCB_LIBRARIES["libxcb-rnn-suite-absent.so.0"] = "libxcb-rnn-suite-absent0"
sys.argv = ["main.py"]
runpy.run_path({str(REPO / "main.py")!r}, run_name="__main__")
"""


def environment(**set_: str) -> dict[str, str]:
    env = {k: v for k, v in cli_env().items() if k not in DISPLAY_VARIABLES}
    env.update(set_)
    return env


def check_refusal(done: subprocess.CompletedProcess, *expected: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    lines = done.stderr.splitlines()
    assert lines[0].startswith("error: ") and sum(line.startswith("error: ") for line in lines) == 1, lines[:3]
    for text in expected:
        assert text in lines[0], (text, lines[0])
    assert "Traceback" not in done.stderr
    assert "usage: main.py" in done.stderr and "installed tasks: " in done.stderr  # the help follows
    return lines[0]


def test_no_display_is_one_line_and_the_help(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "main.py")], cwd=tmp_path, env=environment(),
                          capture_output=True, text=True, timeout=120)
    check_refusal(done, "needs a display", "QT_QPA_PLATFORM=offscreen", "--task")


def test_missing_xcb_libraries_are_named_with_their_packages(tmp_path):
    done = subprocess.run([sys.executable, "-c", WITH_ABSENT_LIBRARY], cwd=tmp_path,
                          env=environment(DISPLAY=":99", PYTHONPATH=str(REPO)), capture_output=True, text=True,
                          timeout=120)
    line = check_refusal(done, "libxcb-rnn-suite-absent.so.0", "apt-get install libxcb-rnn-suite-absent0",
                         "QT_QPA_PLATFORM=offscreen")
    assert "libxcb-cursor" not in line  # this machine has the real ones: only what is missing is named


def test_main_checks_the_libraries_before_starting_qt(monkeypatch, capsys):
    import main

    for name in DISPLAY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(display, "missing_xcb_libraries",
                        lambda: ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    monkeypatch.setattr(sys, "argv", ["main.py"])
    assert main.main() == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in first, first


@pytest.mark.parametrize("env, problem", [
    ({}, "needs a display"),
    ({"QT_QPA_PLATFORM": "xcb"}, "needs a display"),
    ({"QT_QPA_PLATFORM": "wayland"}, "needs a display"),
    ({"QT_QPA_PLATFORM": "offscreen"}, None),
    ({"QT_QPA_PLATFORM": "xcb;offscreen"}, None),  # Qt falls back to offscreen by itself
    ({"QT_QPA_PLATFORM": "vnc:size=800x600"}, None),
    ({"DISPLAY": ":0"}, None),
    ({"WAYLAND_DISPLAY": "wayland-0"}, None),
])
def test_which_environments_have_a_display(env, problem, monkeypatch):
    monkeypatch.setattr(display, "missing_xcb_libraries", lambda: [])
    found = display.window_problem(env, "linux")
    assert (found is None) if problem is None else (problem in found), found


def test_xcb_libraries_are_checked_only_where_qt_would_use_xcb(monkeypatch):
    monkeypatch.setattr(display, "missing_xcb_libraries", lambda: ["libxcb-cursor.so.0"])
    assert "libxcb-cursor0" in display.window_problem({"DISPLAY": ":0"}, "linux")
    assert "libxcb-cursor0" in display.window_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "linux")
    assert display.window_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None  # Qt's wayland plugin
    assert display.window_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert display.window_problem({}, "win32") is None and display.window_problem({}, "darwin") is None


def test_the_library_check_loads_each_library_as_qt_would(monkeypatch):
    monkeypatch.setitem(display.XCB_LIBRARIES, "libxcb-rnn-suite-absent.so.0", "libxcb-rnn-suite-absent0")
    missing = display.missing_xcb_libraries()
    assert "libxcb-rnn-suite-absent.so.0" in missing
    if sys.platform.startswith("linux") and os.path.exists("/lib/x86_64-linux-gnu/libxcb.so.1"):
        assert "libxcb.so.1" not in missing


def test_without_the_gui_extra_the_window_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyqtgraph", None)
    found = display.window_problem({"DISPLAY": ":0"}, "linux")
    assert "pyqtgraph" in found and "pip install rnn-suite[gui]" in found and "PySide6" not in found
    assert json.dumps(found).count("\\n") == 0  # one line

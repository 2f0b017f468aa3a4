"""GUI tests run offscreen; each window gets its own working folder and settings file."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402


@pytest.fixture(autouse=True)
def garbage_collected_on_the_gui_thread(qapp):
    """As the application does (gui/app.py): no Qt object is collected in a background job's thread. After
    the test, the garbage is collected here, on the GUI thread, and automatic collection is back on for
    the tests that follow."""
    import gc

    from gui.app import main_thread_garbage_collection

    collector = main_thread_garbage_collection()
    yield collector
    collector.timer.stop()
    gc.collect()
    gc.enable()


@pytest.fixture
def make_window(qtbot, tmp_path):
    from gui.main_window import MainWindow

    def make(settings_name: str = "settings.ini", before_close=None):
        settings = QSettings(str(tmp_path / settings_name), QSettings.Format.IniFormat)
        window = MainWindow(workdir=str(tmp_path), settings=settings)
        qtbot.addWidget(window, before_close_func=before_close)
        window.show()  # as a user has it: hidden curves only buffer their points
        return window
    return make


@pytest.fixture
def fake_window(make_window, monkeypatch):
    """A window whose runs are FakeProcess objects (fake_process.py): the test plays the child's part."""
    import gui.main_window
    from fake_process import FakeProcess

    monkeypatch.setattr(gui.main_window, "RunProcess", FakeProcess)
    FakeProcess.made.clear()
    # closing a window asks before it ends a running run: a failed test leaves none running
    return make_window(before_close=lambda _: FakeProcess.end_all())

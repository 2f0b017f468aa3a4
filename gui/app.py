"""Starts the desktop application."""

from __future__ import annotations

import sys


def run_app(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("RNN Suite")
    app.setOrganizationName("rnn-suite")
    from .main_window import MainWindow
    from .theme import set_default_plot_colours

    set_default_plot_colours(app)
    collector = main_thread_garbage_collection()  # noqa: F841 (its timer runs while the window does)

    window = MainWindow()
    window.show()
    return app.exec()


def main_thread_garbage_collection():
    """Python's cycle collector run by a timer on the GUI thread only, instead of wherever an allocation
    triggers it: collected in a background job's thread (loading a checkpoint, predicting), a dead
    widget's Qt destructor deadlocks against the GUI thread or crashes (seen with the music task's
    first prediction, which imports music21 in a job). pyqtgraph ships this collector for the purpose."""
    from pyqtgraph.util.garbage_collector import GarbageCollector

    return GarbageCollector(interval=1.0)


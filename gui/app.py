"""Starts the desktop application."""

from __future__ import annotations

import sys


def run_app(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    import pyqtgraph as pg

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("RNN Suite")
    app.setOrganizationName("rnn-suite")
    # follow the system palette: pyqtgraph's default black canvas clashes with light themes
    window_color = app.palette().window().color()
    pg.setConfigOptions(antialias=True, background=window_color, foreground=app.palette().windowText().color())
    from .main_window import MainWindow

    window = MainWindow()
    window.show()
    return app.exec()

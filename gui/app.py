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

    window = MainWindow()
    window.show()
    return app.exec()

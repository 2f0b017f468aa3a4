"""Plots follow the system's light or dark palette, at start-up and whenever it changes."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QWidget


def plot_colours(palette: QPalette):
    return palette.window().color(), palette.windowText().color()


def set_default_plot_colours(app: QApplication) -> None:
    """New plots take the palette's colours (pyqtgraph's default black canvas clashes with light themes)."""
    background, foreground = plot_colours(app.palette())
    pg.setConfigOptions(antialias=True, background=background, foreground=foreground)


def recolour_plots(root: QWidget) -> None:
    """Existing plots under ``root`` take the current palette: canvas, axes and their labels."""
    app = QApplication.instance()
    set_default_plot_colours(app)
    background, foreground = plot_colours(app.palette())
    for view in root.findChildren(pg.GraphicsView):
        view.setBackground(background)
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem):
                item.setPen(foreground)
                item.setTextPen(foreground)
            elif isinstance(item, pg.LabelItem):
                item.setText(item.text, color=foreground)

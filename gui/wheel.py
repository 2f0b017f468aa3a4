"""The mouse wheel scrolls the page, not the setting under the pointer.

A spin box or a combo box changes its value on a wheel turn, and Qt gives it the keyboard focus on that
turn too (the ``WheelFocus`` policy), so scrolling a long form changed whatever setting passed under the
pointer. :func:`guard_wheel` makes the spin and combo boxes under a widget take the wheel only once they
have the focus (a click or Tab); before that, the turn goes on to the scroll area around them.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QWidget

GUARDED = (QAbstractSpinBox, QComboBox)


class _WheelGuard(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            parent = watched.parentWidget()
            if parent is not None:  # on to the form and its scroll area, as if the box were not there
                QApplication.sendEvent(parent, event)
            return True
        return False


_guard: _WheelGuard | None = None


def guard_wheel(root: QWidget) -> None:
    """Every spin and combo box under ``root`` (and ``root`` itself, if one): wheel only when focused.
    Call it again after adding widgets; a box already guarded is left as it is."""
    global _guard
    if _guard is None:
        _guard = _WheelGuard(QApplication.instance())
    boxes = [w for kind in GUARDED for w in root.findChildren(kind)]
    if isinstance(root, GUARDED):
        boxes.append(root)
    for box in boxes:
        if box.property("wheel_guarded"):
            continue
        box.setProperty("wheel_guarded", True)
        box.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a click or Tab focuses it; a wheel turn does not
        box.installEventFilter(_guard)

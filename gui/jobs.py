"""Short background jobs (loading a checkpoint, predicting) so the event loop never waits on them."""

from __future__ import annotations

import traceback
from typing import Any, Callable

from PySide6.QtCore import QThread, Signal

from suite.errors import UserError


class Job(QThread):
    """Runs ``fn()`` off the GUI thread; emits ``done(result)`` or ``failed(message)``."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], Any], parent=None):
        super().__init__(parent)
        self.fn = fn

    def run(self) -> None:
        try:
            result = self.fn()
        except UserError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # shown in the panel; the GUI stays usable
            traceback.print_exc()
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.done.emit(result)

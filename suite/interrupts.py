"""SIGTERM and Ctrl-C end a run the way ``stop`` does, not with Lightning's silent exits.

Lightning turns SIGTERM into a ``SystemExit`` at the next batch and Ctrl-C inside ``fit`` into exit
code 1, so a run killed by a scheduler looked finished and a Ctrl-C looked like a crash. Here the first
signal during training asks for a graceful stop (at the next batch: the last checkpoint is saved and
results so far are written with status "interrupted"); a second one, or one outside training, raises
:class:`Interrupted`, which the CLI turns into one line and exit code 130 (SIGINT) or 143 (SIGTERM).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable


class Interrupted(BaseException):
    """The process was asked to end by a signal. Not a KeyboardInterrupt: Lightning swallows those."""

    def __init__(self, signum: int):
        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        self.exit_code = 128 + signum
        super().__init__(f"interrupted by {self.signal_name}")


HANDLED = (signal.SIGINT, signal.SIGTERM)


def _raise(signum, _frame) -> None:
    raise Interrupted(signum)


def install_raising_handlers() -> None:
    """Outside training, a signal ends the process at once, as one line with the right exit code."""
    if threading.current_thread() is threading.main_thread():
        for signum in HANDLED:
            signal.signal(signum, _raise)


def install_graceful_handlers(request_stop: Callable[[str], None]) -> None:
    """During training, the first signal asks for a graceful stop; a second ends the process at once.

    Called from inside ``fit`` (after Lightning registered its own SIGTERM handler, which this replaces;
    Lightning restores the handlers it found when ``fit`` ends)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum, _frame) -> None:
        for other in HANDLED:
            signal.signal(other, _raise)  # a second signal of either kind: end now
        hint = "Ctrl-C again" if signum == signal.SIGINT else "a second signal"
        print(f"\n{signal.Signals(signum).name}: stopping after this batch and saving the last checkpoint "
              f"({hint} ends at once)", file=sys.stderr, flush=True)
        request_stop(signal.Signals(signum).name)

    for signum in HANDLED:
        signal.signal(signum, handler)

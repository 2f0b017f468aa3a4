"""Text-only prediction: while a request is answered, no file is opened for reading.

Some tasks' ``predict`` read a file when the input names one (sentiment and tagging a file of lines,
forecast a table). A server takes text only: ``Task.predict_many(..., files=False)`` says so to the task,
and a task that knows it (sentiment, tagging) never looks at the disk. For a task that does not, the
default ``predict_many`` runs its ``predict`` inside :func:`refusing_files`: a process-wide audit hook
(PEP 578) refuses, on that thread only, every ``open`` for reading of anything but Python's own code (a
module imported on first use), so a path-like input fails as :class:`FileRefused` instead of being read.

Standard library only: the Task contract imports this without torch or the server's libraries.
"""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import UserError

_CODE_SUFFIXES = (".py", ".pyc", ".so", ".pyd", ".pth")
_state = threading.local()
_installed = False
_install_lock = threading.Lock()


class FileRefused(UserError):
    """A request's input named a file: the server reads none."""


def _code_roots() -> list[str]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path}
    return [os.path.realpath(r) for r in roots if r]


def _is_code(path: str) -> bool:
    if not path.endswith(_CODE_SUFFIXES):
        return False
    real = os.path.realpath(path)
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in _state.roots)


def _reads(mode, flags) -> bool:
    if isinstance(mode, str):  # builtins.open / io.open
        return "r" in mode or "+" in mode
    if isinstance(flags, int):  # os.open
        return flags & os.O_ACCMODE in (os.O_RDONLY, os.O_RDWR)
    return True


def _hook(event: str, args: tuple) -> None:
    if event != "open" or not getattr(_state, "depth", 0):
        return
    path, mode, flags = (tuple(args) + (None, None, None))[:3]
    if isinstance(path, int):  # a descriptor already open (a socket, a pipe): nothing named is read
        return
    path = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
    if not _reads(mode, flags) or _is_code(path):
        return
    _state.refused = path
    raise FileRefused(f"inputs are text only here: the server reads no files (the input named "
                      f"'{Path(path).name}')")


def _install() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True


@contextmanager
def refusing_files() -> Iterator[None]:
    """Within the block, this thread opens no file for reading (Python code excepted). Nests."""
    _install()
    depth = getattr(_state, "depth", 0)
    if not depth:
        _state.roots = _code_roots()
        _state.refused = None
    _state.depth = depth + 1
    try:
        yield
    finally:
        _state.depth = depth


def refused() -> str | None:
    """The path the last :func:`refusing_files` block on this thread refused, if any (a task that caught
    the refusal and answered anyway is still refused by the caller)."""
    return getattr(_state, "refused", None)

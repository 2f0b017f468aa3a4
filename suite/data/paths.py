"""What a data path is, and why it cannot be read, in words a user can act on.

``Path.is_file()`` and ``Path.exists()`` answer False alike for a missing file, a symbolic link loop, a
broken link and a name too long to be a file, and let a permission error through as a traceback;
``Path.rglob`` skips a folder it may not list without a word. Readers built on them said "file not
found" for a loop and "holds no files" for a folder they could not read. The helpers here tell those
cases apart and raise one :class:`DataError` naming the path.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Callable

from ..errors import DataError

FILE, FOLDER, OTHER, MISSING = "file", "folder", "other", "missing"


def path_kind(path: str | os.PathLike) -> str:
    """``file``, ``folder``, ``other`` (a pipe, a socket, a device) or ``missing``.

    Missing includes names that cannot be files (too long, or under a file), so a caller may go on to
    read the text as something else (a Hub name, a note list). A symbolic link loop, a link to nothing
    and a path the user may not look up are errors: nothing else could be meant by them.
    """
    p = Path(path)
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        if _is_link(p):
            raise DataError(str(p), f"is a broken symbolic link (to {_target(p)}, which does not exist)") from None
        return MISSING
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DataError(str(p), "is a symbolic link loop (following its links never reaches a file or "
                                    "folder)") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise DataError(str(p), "cannot be read (permission denied on a folder of its path)") from None
        return MISSING  # ENAMETOOLONG, ENOTDIR, EINVAL: no file can have this name
    except ValueError:  # an embedded NUL byte: not a file name either
        return MISSING
    if stat.S_ISREG(mode):
        return FILE
    if stat.S_ISDIR(mode):
        return FOLDER
    return OTHER


def _is_link(p: Path) -> bool:
    try:
        return p.is_symlink()
    except OSError:
        return False


def _target(p: Path) -> str:
    try:
        return os.readlink(p)
    except OSError:
        return "?"


def why_unreadable(exc: OSError) -> str:
    """The reason an open or a read failed, for a message after the path."""
    if isinstance(exc, PermissionError):
        return "cannot be read (permission denied)"
    if exc.errno == errno.ELOOP:
        return "is a symbolic link loop"
    return f"cannot be read ({exc.strerror or exc})"


def require_file(path: str | os.PathLike, expected: str = "a file", missing: str = "file not found") -> Path:
    """``path`` if it is a regular file, else a DataError saying what it is instead. ``expected``
    completes "is a folder; expected ..." (say "a CoNLL-U or CoNLL file")."""
    p = Path(path)
    kind = path_kind(p)
    if kind == MISSING:
        raise DataError(str(p), missing)
    if kind == FOLDER:
        raise DataError(str(p), f"is a folder; expected {expected}")
    if kind == OTHER:  # a pipe would block, a device never end
        raise DataError(str(p), f"is not a regular file (a pipe, socket or device); expected {expected}")
    return p


def read_file_bytes(path: str | os.PathLike, expected: str = "a file") -> bytes:
    """The bytes of a regular file; a DataError naming it if it is missing, a folder or unreadable."""
    p = require_file(path, expected)
    try:
        with open(p, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise DataError(str(p), why_unreadable(exc)) from None


def list_folder(path: str | os.PathLike) -> list[Path]:
    """A folder's entries, sorted by name; a DataError if it cannot be listed (``Path.iterdir`` would
    raise a bare PermissionError)."""
    p = Path(path)
    try:
        with os.scandir(p) as entries:
            names = sorted(entry.name for entry in entries)
    except OSError as exc:
        raise DataError(str(p), f"the folder {why_unreadable(exc)}") from None
    return [p / name for name in names]


def files_under(folder: str | os.PathLike, keep: Callable[[Path], bool] = lambda p: True) -> list[Path]:
    """Every file under ``folder`` (recursively, sorted, links to files included, linked folders not
    followed, as ``rglob`` does) for which ``keep`` holds. A folder or subfolder that cannot be listed is
    a DataError, where ``rglob`` would silently leave its files out."""
    root = Path(folder)
    failures: list[OSError] = []
    found = []
    for top, _, names in os.walk(root, onerror=failures.append):
        if failures:
            break
        for name in names:
            p = Path(top) / name
            try:
                regular = p.is_file()
            except OSError:  # a name under a folder that vanished or may not be searched: not a file here
                regular = False
            if regular and keep(p):
                found.append(p)
    if failures:
        exc = failures[0]
        where = exc.filename or str(root)
        if os.path.normpath(str(where)) == os.path.normpath(str(root)):
            raise DataError(str(root), f"the folder {why_unreadable(exc)}")
        raise DataError(str(where), f"a folder under {root} {why_unreadable(exc)}")
    return sorted(found)

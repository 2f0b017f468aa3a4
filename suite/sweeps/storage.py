"""Where a sweep's study lives: any storage Optuna supports, opened with a one-line error if it cannot be.

* ``sqlite:///PATH`` (the default, ``<sweep-dir>/study.db``): processes on one machine share it.
* ``postgresql://...``, ``mysql://...``: several machines share one study (the driver must be installed).
* ``journal:PATH``: Optuna's JournalStorage over a log file, for a shared file system without a database.

Taking a waiting trial must happen once across processes. PostgreSQL and MySQL lock the row, the journal
orders its log; SQLite reads without a lock, so for it the taking is serialised by a file lock beside the
database (processes on one machine, which is what SQLite supports anyway).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from ..errors import UserError

JOURNAL = "journal:"


def default_url(sweep_dir: Path) -> str:
    return f"sqlite:///{(sweep_dir / 'study.db').resolve()}"


def shown(url: str) -> str:
    """The URL with any password hidden (for sweep.yaml and the header)."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///"):].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


class Storage:
    """An opened Optuna storage, with the lock that makes taking a trial happen once."""

    def __init__(self, url: str):
        self.url = url
        self._threads = threading.Lock()
        self._lock_file: Path | None = None
        self.backend = self._open(url)

    def _open(self, url: str) -> Any:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            if url.startswith(JOURNAL):
                path = Path(url[len(JOURNAL):]).expanduser()
                if not str(path) or not path.parent.is_dir():
                    raise UserError(f"--storage {url}: the folder {path.parent} does not exist")
                from optuna.storages import JournalStorage
                from optuna.storages.journal import JournalFileBackend

                return JournalStorage(JournalFileBackend(str(path)))
            if "://" not in url:
                raise UserError(f"--storage {url}: expected a database URL (sqlite:///PATH, postgresql://..., "
                                f"mysql://...) or journal:PATH")
            kwargs: dict[str, Any] = {}
            sqlite = _sqlite_path(url)
            if url.startswith("sqlite"):
                # several processes write one file: wait for the lock rather than fail at once
                kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
                if sqlite is not None:
                    if not sqlite.parent.is_dir():
                        raise UserError(f"--storage {url}: the folder {sqlite.parent} does not exist")
                    self._lock_file = sqlite.with_name(sqlite.name + ".lock")
            from optuna.storages import RDBStorage

            if self._lock_file is None:
                return RDBStorage(url, **kwargs)
            with self.exclusive():  # two processes creating one database's tables at once would clash
                return RDBStorage(url, **kwargs)
        except UserError:
            raise
        except Exception as exc:  # a driver that is missing, a server that does not answer, a bad URL
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise UserError(f"--storage {shown(url)}: cannot open it ({type(exc).__name__}: {first[:200]})") from None

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Held while taking a waiting trial (and while enqueueing or recovering), across threads and,
        for SQLite, across this machine's processes."""
        with self._threads:
            if self._lock_file is None:
                yield
                return
            fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                _lock(fd)
                yield
            finally:
                os.close(fd)  # closing releases the lock


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                time.sleep(0.05)
    fcntl.flock(fd, fcntl.LOCK_EX)

"""Where derived data (parsed scores, trained word vectors) is cached, and the keys that name it."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def cache_dir(part: str) -> Path:
    """``$RNN_SUITE_CACHE/part``, else ``$XDG_CACHE_HOME/rnn-suite/part`` (``~/.cache`` by default)."""
    base = os.environ.get("RNN_SUITE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rnn-suite")
    return Path(base) / part


def files_key(files: list[Path], **settings: Any) -> str:
    """Changes whenever a result built from ``files`` with ``settings`` could: the list of files, any
    file's size or modification time, or any setting."""
    listing = []
    for p in files:
        st = p.stat()
        listing.append([str(p.resolve()), st.st_size, st.st_mtime_ns])
    text = json.dumps({"files": listing, **settings}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]

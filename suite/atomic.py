"""Files written whole or not at all: a temporary file in the same folder, fsync, then rename.

The temporary file lives beside the target because a rename is atomic only within one file system; a
full disk then leaves the previous version intact. JSON is written strictly (NaN and infinity become
null, at every depth), since a bare NaN is not JSON and breaks other readers.
"""

from __future__ import annotations

import errno
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import UserError

#: out of space, over quota, or over the file-size limit: the disk cannot take the file
NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in NO_SPACE:
            previous = "; the previous version is intact" if target.exists() else ""
            raise UserError(f"no space left on device while writing {target}{previous}") from None
        raise
    _sync_folder(target.parent)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    write_text_atomic(path, dumps_strict(data, indent=2) + "\n")


def dumps_strict(data: Any, **kwargs: Any) -> str:
    return json.dumps(json_safe(data), allow_nan=False, default=str, **kwargs)


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (also inside tensors' items, lists and dicts) as None."""
    if hasattr(value, "item") and getattr(value, "numel", lambda: getattr(value, "size", 1))() == 1:
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable; not every platform can open a folder."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

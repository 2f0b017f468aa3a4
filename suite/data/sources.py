"""Reading tables: local files with pandas and pyarrow (``tables.py``), Hub names through ``datasets``.

Every task reads CSV, TSV, JSON lines and Parquet the same way, with errors that name the file. Only a
name that is not a local file reaches ``datasets`` and the network.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from urllib.parse import urlparse
from pathlib import Path

import pandas as pd

from ..errors import DataError
from .tables import FORMATS, kind_of, read_local_table, table_format

#: the table file endings every reader accepts
READERS = tuple(FORMATS)


#: files in a data folder that are not data
IGNORED_NAMES = re.compile(r"^(readme|license|licence|provenance|changelog)\b|^\.", re.IGNORECASE)
#: suffixes of documentation and archives, never read as text
DOC_SUFFIXES = {".md", ".rst", ".html", ".pdf", ".py", ".zip"}
#: common names of a table's text column, tried in this order when none is given
TEXT_NAMES = ("text", "sentence", "review", "content", "document", "body", "comment", "tweet", "utterance",
              "phrase", "excerpt", "sentence1")


def table_extension(path: Path) -> str | None:
    name = path.name.lower()
    for ext in sorted(READERS, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    return None


def row_lines(frame: pd.DataFrame, source: str) -> "list[int] | range":
    """The file line of each row, for messages: JSON records know theirs; a table with a header has row i
    on line i + 2 (quoted line breaks aside)."""
    lines = frame.attrs.get("lines")
    if lines is not None and len(lines) == len(frame):
        return list(lines)
    start = 1 if table_format(Path(source)) == "json" else 2
    return range(start, start + len(frame))


def check_scalar(value: object, source: str, line: int | None, column: str, expected: str) -> None:
    """A JSON object or list where one value belongs (a text, a label) is refused, never stringified."""
    if isinstance(value, (dict, list, tuple)) or type(value).__name__ == "ndarray":
        shown = repr(value.tolist() if hasattr(value, "tolist") else value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise DataError(source, f"column {column!r}: expected {expected}, got {kind_of(value)} {shown}", line=line)


_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def looks_like_path(source: str) -> bool:
    """A missing local file rather than a Hub name (``name`` or ``owner/name``)."""
    return table_extension(Path(source)) is not None or not _HUB_NAME.match(source)


def _quiet_datasets():
    import datasets

    datasets.disable_progress_bars()
    # read errors are reported by the suite, once, naming the file and line
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)
    logging.getLogger("datasets").setLevel(logging.CRITICAL)
    return datasets


def read_table(source: str, hub_split: str = "train") -> pd.DataFrame:
    """Read a local table file, or a Hub dataset's split, into a DataFrame.

    Raises DataError naming the file (and line, where the parser reports one) on any failure.
    """
    path = Path(source).expanduser()
    try:
        is_dir, exists = path.is_dir(), path.exists()
    except OSError:  # e.g. a name too long to be a file: it is not one
        is_dir = exists = False
    if is_dir:
        raise DataError(source, "is a folder; expected a table file (" + ", ".join(READERS) + ")")
    if exists:
        return _read_local(path)
    if looks_like_path(source):
        raise DataError(source, "file not found")
    return _read_hub(source, hub_split)


def _read_local(path: Path) -> pd.DataFrame:
    if table_extension(path) is None:
        raise DataError(str(path), f"unsupported file type; expected one of {', '.join(READERS)}")
    if path.stat().st_size == 0:
        raise DataError(str(path), "file is empty")
    return read_local_table(path)


def hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP probe, so that an offline machine fails at once instead of retrying for minutes."""
    if hub_offline_mode():
        return True  # the libraries are in offline mode and will answer from the local cache, or fail fast
    host = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co").hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


#: said wherever a data name was not found: the working directory comes first, then the data root
LOOKED_UP = "relative paths are looked up in the working directory, then under --data-root or $RNN_SUITE_DATA"


def hub_offline_mode() -> bool:
    return os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1"


def not_found(name: str, hub_reason: str | None = None) -> DataError:
    """A name that is neither a local path nor a dataset the Hub gave us.

    Usually it is a relative path given without the data root, so that remedy comes first.
    HF_HUB_OFFLINE=1 helps only with a Hub dataset cached earlier: it is mentioned only where it is not
    already set and the Hub was simply unreachable."""
    offline_mode = hub_offline_mode()
    if hub_reason is None:
        hub_reason = ("nor a Hugging Face dataset cached on this machine (HF_HUB_OFFLINE=1)" if offline_mode
                      else "and the Hugging Face Hub is not reachable")
    cached = "" if offline_mode or not hub_reason.endswith("not reachable") else \
        " (HF_HUB_OFFLINE=1 loads a Hub dataset cached earlier)"
    return DataError(name, f"not a local file or folder ({LOOKED_UP}), {hub_reason}; give its path, or the "
                           f"folder that holds it with --data-root{cached}")


def _read_hub(name: str, split: str) -> pd.DataFrame:
    if not hub_reachable():
        raise not_found(name)
    datasets = _quiet_datasets()
    try:
        table = datasets.load_dataset(name, split=split)
    except Exception as exc:
        if hub_offline_mode() or "offline" in str(exc).lower():
            raise not_found(name) from None
        raise not_found(name, f"and could not load it from the Hugging Face Hub ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    return table.to_pandas()


def pick_column(frame: pd.DataFrame, given: str, names: tuple[str, ...], what: str, flag: str,
                source: str, exclude: str | None = None) -> str:
    columns = [str(c) for c in frame.columns]
    if given != "auto":
        if given not in columns:
            raise DataError(source, f"no {what} column {given!r} ({flag}); columns: {', '.join(columns)}")
        return given
    lower = {c.lower(): c for c in columns if c != exclude}
    for name in names:
        if name in lower:
            return lower[name]
    if what == "text":  # the one column of strings, when it is unambiguous
        strings = [c for c in columns if c != exclude
                   and (frame[c].dtype == object or str(frame[c].dtype).startswith("str"))]
        if len(strings) == 1:
            return strings[0]
    raise DataError(source, f"no {what} column found; expected one named {', '.join(names[:6])}, ... or "
                            f"{flag} NAME; columns: {', '.join(columns)}")

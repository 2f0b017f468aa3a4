"""The form's data paths checked before a run starts, as the run would look them up.

A missing file used to be said by the child, after ten seconds of imports. A run looks a relative path up
in the folder it starts in, then under the data root ($RNN_SUITE_DATA; ``suite.config.resolve_data_path``);
this does the same from the window's working folder. Only values that can only be files are checked: one
with a file name's suffix (``ETTh1.csv``) or a path's start (``/``, ``./``, ``../``, ``~``). A built-in source
(``cosine``, ``synthetic:adding``) and a Hugging Face name (``owner/name``) are no files here, and are left to
the run.
"""

from __future__ import annotations

import os
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

from suite.config import data_root_default, field_flag
from suite.data.paths import MISSING, path_kind
from suite.errors import ConfigError, DataError

_SUFFIX = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,7}$")
_PATH_START = ("/", "./", "../", "~", ".\\", "..\\")


def names_a_file(value: str) -> bool:
    if ":" in value.split("/", 1)[0] and not Path(value).is_absolute():  # synthetic:adding, hf:name
        return False
    return value.startswith(_PATH_START) or bool(_SUFFIX.search(value.rstrip("/")))


def check_data_paths(options: Any, workdir: str | os.PathLike) -> None:
    """Raise a ConfigError naming the first path option that names a file the run would not find or read."""
    root = data_root_default()
    for f in fields(options):
        value = getattr(options, f.name)
        if not (f.metadata.get("path") and isinstance(value, str) and value and names_a_file(value)):
            continue
        problem = _problem(value, Path(workdir), root)
        if problem:
            raise ConfigError(f"options.{f.name} ({field_flag(f)})", f"{value}: {problem}")


def _problem(value: str, workdir: Path, root: str | None) -> str | None:
    given = Path(value).expanduser()
    places = [given] if given.is_absolute() else [workdir / given]
    if root and not given.is_absolute():
        places.append(Path(root).expanduser() / given)
    for place in places:
        try:
            kind = path_kind(place)
        except DataError as exc:  # a broken link, a loop, a folder that may not be searched
            return str(exc).removeprefix(f"{place}: ")
        if kind == MISSING:
            continue
        if not os.access(place, os.R_OK | (os.X_OK if kind == "folder" else 0)):
            return "cannot be read (permission denied)"
        return None
    if given.is_absolute():
        return "file not found"
    where = f"the working folder {workdir}"
    return (f"file not found (looked for in {where} and the data root {root})" if root else
            f"file not found (looked for in {where}; no data root is set: $RNN_SUITE_DATA)")

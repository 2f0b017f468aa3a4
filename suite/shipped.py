"""The example configurations shipped with the product, found by name: ``--config forecast-etth1``.

In a checkout they are ``resources/configs/*.yaml``, where the README and the guides point. An
installed wheel carries the same files as the package data ``suite/configs`` (pyproject.toml maps
one folder to the other), so a name works from any folder, and so does a guide's
``--config resources/configs/NAME.yaml`` where no such file exists below the working directory.
A file of the user's always wins over a shipped config of the same name.
"""

from __future__ import annotations

import os
from pathlib import Path

#: where the guides point, relative to a checkout (and, when installed, to nothing: hence the fallback)
GUIDE_FOLDER = "resources/configs"
SUFFIX = ".yaml"


def configs_dir() -> Path | None:
    """The folder of shipped configs: the installed package data, else the checkout's resources/configs."""
    here = Path(__file__).resolve().parent
    for folder in (here / "configs", here.parent / GUIDE_FOLDER):
        if folder.is_dir():
            return folder
    return None


def shipped_configs() -> dict[str, Path]:
    """Each shipped config by name (its file name without .yaml)."""
    folder = configs_dir()
    return {p.name[: -len(SUFFIX)]: p for p in sorted(folder.glob(f"*{SUFFIX}"))} if folder else {}


def find_config(value: str | os.PathLike) -> Path:
    """The file ``--config VALUE`` means: VALUE itself if it exists; else the shipped config that a bare
    name (``forecast-etth1``, ``forecast-etth1.yaml``) or a guide's ``resources/configs/NAME.yaml`` names;
    else VALUE unchanged, for the reader to say it is not there."""
    path = Path(value).expanduser()
    try:
        if path.exists():
            return path
    except OSError:  # not a usable file name; the reader says so
        return path
    if len(path.parts) == 1 or path.parent.as_posix().endswith(GUIDE_FOLDER):
        name = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.name
        found = shipped_configs().get(name)
        if found is not None:
            return found
    return path

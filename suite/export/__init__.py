"""``--checkpoint RUN --export onnx|torchscript --output DIR``: a trained run as a standalone predictor.

The engine's side: it checks the format, the extra and the target folder, lets the task write its
network(s), preprocessing state (JSON) and ``predict.py`` (``Task.export``) into a temporary folder beside
DIR, adds ``manifest.json`` and only then renames the folder into place, so a failed export leaves nothing
half-written. An existing DIR is replaced only when it is a previous export holding nothing but the files
its manifest lists: a user's own files are never deleted. See docs/EXPORT.md.

Importing this module imports no torch: the CLI checks the request before it loads a model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UserError

if TYPE_CHECKING:
    from ..trained import Trained

FORMATS = ("onnx", "torchscript")
MANIFEST = "manifest.json"
#: manifest.json's layout; a reader refuses a larger number
MANIFEST_FORMAT = 1


def check_format(fmt: str) -> None:
    """The format is known and what it needs is installed (a one-line error naming the extra)."""
    if fmt not in FORMATS:
        raise UserError(f"--export: unknown format '{fmt}'; choose {' or '.join(FORMATS)}")
    if fmt == "onnx":
        missing = []
        for module in ("onnx", "onnxruntime"):
            try:
                __import__(module)
            except ImportError:
                missing.append(module)
        if missing:
            raise UserError(f"--export onnx needs {' and '.join(missing)}: pip install 'rnn-suite[export]'")


def check_target(out_dir: Path) -> None:
    """DIR is new, empty, or a previous export with nothing of the user's in it."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir}: --output is a file; --export writes a folder")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    manifest = previous_export(out_dir)
    if manifest is None:
        raise UserError(f"{out_dir}: --output is a folder that is not empty and holds no export (no readable "
                        f"{MANIFEST}); give a new or empty folder")
    known = {MANIFEST, *manifest["files"]}
    stray = sorted(p.name for p in out_dir.iterdir() if p.name not in known)
    if stray:
        raise UserError(f"{out_dir}: --output holds a previous export and files it did not write "
                        f"({', '.join(stray[:3])}{', ...' if len(stray) > 3 else ''}); move them, or give "
                        f"another folder")


def previous_export(folder: Path) -> dict[str, Any] | None:
    """The manifest of an export folder, or None when ``folder`` holds none (or a damaged one)."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") not in FORMATS \
            or not isinstance(manifest.get("files"), list) \
            or not all(isinstance(f, str) and "/" not in f and f not in ("", ".", "..") for f in manifest["files"]):
        return None
    return manifest


def export_run(trained: Trained, fmt: str, out_dir: Path) -> list[str]:
    """Export the trained run ``trained`` as ``fmt`` into ``out_dir``; returns the file names written there."""
    from .. import __version__
    from .graphs import DEFAULT_OPSET, ExportMismatch

    check_format(fmt)
    out_dir = Path(out_dir)
    check_target(out_dir)
    parent = out_dir.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.export-", dir=parent))
    staging.chmod(0o755)  # mkdtemp's 0o700 would follow the folder into place
    try:
        try:
            files = list(trained.task.export(trained.model, staging, fmt))
        except ExportMismatch as exc:
            raise UserError(f"--export {fmt}: the exported network does not match the trained one: {exc}") \
                from None
        except OSError as exc:  # a full disk, a folder without write permission: nothing is left behind
            raise UserError(f"{out_dir}: cannot write the export ({exc.strerror or exc})") from None
        files = sorted(set(files) | {p.name for p in staging.iterdir()})
        results = trained.run.results() if trained.run is not None else None
        manifest = {
            "format": fmt,
            "manifest_format": MANIFEST_FORMAT,
            "task": trained.task.name,
            "files": files + [MANIFEST],
            "opset": DEFAULT_OPSET if fmt == "onnx" else None,
            "suite_version": __version__,
            "source": str(trained.run.path.resolve() if trained.run is not None else trained.checkpoint.resolve()),
            "checkpoint": trained.checkpoint.name,
            "settings": trained.cfg.to_dict(),
            "metrics": (results or {}).get("metrics"),
            "baseline": (results or {}).get("baseline"),
            "predict": f"python {out_dir / 'predict.py'} INPUT [--output FILE]",
        }
        from .files import write_json

        write_json(staging, MANIFEST, manifest)
        _swap_in(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest["files"]


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Put the finished folder where DIR is; a previous export (checked by check_target) is removed after."""
    old = None
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.previous-", dir=staging.parent))
        os.replace(out_dir, old / "export")
    try:
        os.replace(staging, out_dir)
    except BaseException:
        if old is not None:
            os.replace(old / "export", out_dir)
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

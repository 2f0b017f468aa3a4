"""What a user says about a run: its name, tags and notes, kept in the run folder's ``notes.json``.

``{"name": "...", "tags": ["..."], "notes": "..."}``, written whole (atomically) by the window, the
command line (``--run-name``, ``--tag``) or code, and read back without trusting it: damage is a one-line
:class:`UserError` naming the file, so a listing can say so beside the run and still list it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .atomic import write_json_atomic
from .errors import UserError
from .saferead import kind_of, read_text

NOTES_FILE = "notes.json"
#: a name and tags are labels, notes a paragraph or a page: far more is not the suite's file
MAX_NOTES_BYTES = 1_000_000
MAX_NAME_CHARS = 200
MAX_TAG_CHARS = 64


@dataclass
class RunNotes:
    name: str = ""
    tags: list[str] = field(default_factory=list)
    notes: str = ""

    def is_empty(self) -> bool:
        return not (self.name or self.tags or self.notes)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "tags": list(self.tags), "notes": self.notes}


def notes_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / NOTES_FILE


def check_name(name: str, where: str = "name") -> str:
    """A run's name on one line, without the spaces around it; "" for none."""
    if not isinstance(name, str):
        raise UserError(f"{where}: expected text, not {kind_of(name)}")
    name = name.strip()
    if "\n" in name or "\r" in name:
        raise UserError(f"{where}: a run's name is one line")
    if len(name) > MAX_NAME_CHARS:
        raise UserError(f"{where}: a run's name is at most {MAX_NAME_CHARS} characters, not {len(name)}")
    return name


def check_tags(tags: Iterable[Any], where: str = "tags") -> list[str]:
    """Tags without surrounding spaces, empty ones and repeats (the first spelling is kept)."""
    kept: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise UserError(f"{where}: each tag must be text, not {kind_of(tag)}")
        tag = tag.strip()
        if not tag:
            continue
        # a comma separates tags where they are typed in one field (the window's tags box)
        if any(c in tag for c in ",\n\r"):
            raise UserError(f"{where}: tag {tag[:40]!r} holds a comma or a line break; give each tag separately")
        if len(tag) > MAX_TAG_CHARS:
            raise UserError(f"{where}: tag {tag[:40]!r}… is longer than {MAX_TAG_CHARS} characters")
        if tag.casefold() not in {t.casefold() for t in kept}:
            kept.append(tag)
    return kept


def split_tags(text: str) -> list[str]:
    """Tags typed in one field, separated by commas."""
    return check_tags(text.split(","))


def read_notes(run_dir: str | os.PathLike) -> RunNotes:
    """The run's notes; none (empty) when it has no notes file."""
    path = notes_path(run_dir)
    if not (path.exists() or path.is_symlink()):
        return RunNotes()
    text = read_text(path, "notes file", MAX_NOTES_BYTES)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise UserError(f"{path}: not valid JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object with name, tags and notes, not {kind_of(data)}")
    unknown = sorted(set(data) - {"name", "tags", "notes"})
    if unknown:
        raise UserError(f"{path}: unknown field {unknown[0]!r}; expected name, tags and notes")
    name, tags, notes = data.get("name") or "", data.get("tags") or [], data.get("notes") or ""
    if not isinstance(tags, list):
        raise UserError(f"{path}: 'tags' must be a list of text, not {kind_of(tags)}")
    if not isinstance(notes, str):
        raise UserError(f"{path}: 'notes' must be text, not {kind_of(notes)}")
    try:
        return RunNotes(check_name(name, f"{path}: 'name'"), check_tags(tags, f"{path}: 'tags'"), notes)
    except UserError as exc:
        raise UserError(str(exc)) from None


def write_notes(run_dir: str | os.PathLike, notes: RunNotes) -> RunNotes:
    """Check and write ``notes`` (atomically); with nothing left to say, the file is removed."""
    folder = Path(run_dir)
    if not folder.is_dir():
        raise UserError(f"{folder}: run directory not found")
    clean = RunNotes(check_name(notes.name), check_tags(notes.tags), notes.notes if isinstance(notes.notes, str)
                     else "")
    path = notes_path(folder)
    if len(json.dumps(clean.to_dict()).encode("utf-8")) > MAX_NOTES_BYTES:
        raise UserError(f"{path}: notes are limited to {MAX_NOTES_BYTES:,} bytes")
    try:
        if clean.is_empty():
            path.unlink(missing_ok=True)
        else:
            write_json_atomic(path, clean.to_dict())
    except OSError as exc:
        raise UserError(f"{path}: cannot write the run's notes ({exc.strerror or exc})") from None
    return clean


def update_notes(run_dir: str | os.PathLike, *, name: str | None = None, tags: Iterable[str] | None = None,
                 notes: str | None = None) -> RunNotes:
    """Change what is given and keep the rest; a damaged file is replaced only by a whole new record."""
    try:
        current = read_notes(run_dir)
    except UserError:
        if name is None or tags is None or notes is None:
            raise
        current = RunNotes()
    return write_notes(run_dir, RunNotes(current.name if name is None else name,
                                         current.tags if tags is None else list(tags),
                                         current.notes if notes is None else notes))

"""What training learnt from the data, as a typed and versioned record that travels in checkpoints.

Each task declares a ``DataState`` dataclass (its vocabulary, scaler, tag set, tokenizers, label names,
...). The datamodule fills it while reading the training data, or receives it saved, to read other data
exactly as the training data was read. In a checkpoint it is a plain dict of plain values (so
``torch.load(weights_only=True)`` reads it) with a ``version``; a state saved by an older version of a
task is brought up to date by that task's ``upgrade``, and a damaged one is refused by field name.

This module imports no torch: a state is lists, dicts, strings and numbers.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, ClassVar, TypeVar

S = TypeVar("S", bound="DataState")


class StateError(ValueError):
    """A saved data state that does not fit its task's ``DataState`` (the message names the field)."""


@dataclasses.dataclass
class DataState:
    """Subclass as a dataclass of plain values; raise ``VERSION`` when a field changes or goes, and say in
    ``upgrade`` how an older saved state becomes the current one."""

    VERSION: ClassVar[int] = 1

    def to_dict(self) -> dict[str, Any]:
        saved = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return {"version": self.VERSION, **saved}

    @classmethod
    def upgrade(cls, saved: dict[str, Any], version: int) -> dict[str, Any]:
        """``saved`` (written at ``version``, 0 for states written before states had versions) brought to
        the current fields; the default knows no older version."""
        raise StateError(f"version {version} of the data state is not readable by this version (it reads "
                         f"version {cls.VERSION})")

    @classmethod
    def from_dict(cls: type[S], saved: Any) -> S:
        if not isinstance(saved, dict):
            raise StateError(f"the data state is a {type(saved).__name__}, not a mapping")
        version = saved.get("version", 0)
        if not isinstance(version, int) or isinstance(version, bool):
            raise StateError(f"field 'version': expected a whole number, got {version!r}")
        if version > cls.VERSION:
            raise StateError(f"written by a newer version of this product (data state version {version}; this "
                             f"one reads {cls.VERSION}); upgrade to load it")
        fields = {k: v for k, v in saved.items() if k != "version"}
        if version < cls.VERSION:
            fields = cls.upgrade(fields, version)
        hints = typing.get_type_hints(cls)
        values = {}
        for f in dataclasses.fields(cls):
            if f.name not in fields:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise StateError(f"field {f.name!r} is missing")
                continue
            value = fields[f.name]
            if not _fits(value, hints[f.name]):
                raise StateError(f"field {f.name!r}: expected {_describe(hints[f.name])}, got "
                                 f"{type(value).__name__}")
            values[f.name] = value
        return cls(**values)


def _plain(value: Any) -> Any:
    """Tuples become lists, so a state saved and read back compares equal to the original."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _fits(value: Any, hint: Any) -> bool:
    """A shallow check of ``value`` against a field's annotation: the container or scalar kind."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arm) for arm in typing.get_args(hint))
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    kind = origin or hint
    if kind in (list, tuple):
        return isinstance(value, (list, tuple))
    return isinstance(value, kind) if isinstance(kind, type) else True


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arm) for arm in typing.get_args(hint))
    if hint is type(None):
        return "None"
    kind = origin or hint
    return getattr(kind, "__name__", str(kind))

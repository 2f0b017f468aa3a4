"""Reading files that a user, a crash or another program may have damaged: size-limited, text only, and
YAML that cannot grow without bound. Every refusal is a one-line :class:`UserError` that names the file.

YAML aliases are the danger in YAML. PyYAML shares an aliased node rather than copying it, so loading a
"billion laughs" document is itself cheap; it is everything that walks the result afterwards (``str``,
``copy.deepcopy``, ``dataclasses.asdict``, the window's settings diff) that visits each shared node once
per reference and grows to gigabytes. Nine levels of nine aliases are only 81 aliases but 9**9 leaves,
so counting aliases alone is not enough: the composed node graph is also measured as it would be
expanded (each shared node counted once per reference, in time proportional to the distinct nodes),
and refused over a limit long before the size matters. Configurations written by the suite use no
aliases at all; a hand-written ``--config`` may use a few.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from .errors import UserError

#: a run's or a user's configuration: a few kilobytes in practice
MAX_CONFIG_BYTES = 1_000_000
#: aliases (``*name``) in one YAML document
MAX_ALIASES = 100
#: YAML nodes once every alias is expanded, a long string counting one per hundred characters (so an
#: alias cannot repeat a large string either): at most about 10 MB of text. A run configuration has ~100.
MAX_EXPANDED_NODES = 100_000

# Not the faster CSafeLoader: its composer recurses in C per nesting level, so a file of 100,000 "["
# crashes the whole process (a segmentation fault), where the Python one raises RecursionError.
_Loader = yaml.SafeLoader


def read_bytes(path: str | os.PathLike, kind: str, max_bytes: int | None, *, head: bool = False) -> bytes:
    """The bytes of a regular file, at most ``max_bytes`` of them, or a UserError naming the file.

    ``head=True`` returns the first ``max_bytes`` of a larger file instead of refusing it."""
    p = Path(path)
    try:
        info = p.stat()
    except FileNotFoundError:
        raise UserError(f"{p}: {kind} not found") from None
    except OSError as exc:
        raise UserError(f"{p}: cannot read {kind} ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise UserError(f"{p}: is a folder, not a {kind}")
    if not stat.S_ISREG(info.st_mode):  # a pipe or a device would block or never end
        raise UserError(f"{p}: not a regular file")
    if max_bytes is not None and info.st_size > max_bytes and not head:
        raise UserError(f"{p}: {kind} too large ({info.st_size:,} bytes; at most {max_bytes:,})")
    try:
        with open(p, "rb") as handle:
            # read one byte past the limit: a file growing after stat() must not get through either
            data = handle.read() if max_bytes is None else handle.read(max_bytes + (not head))
    except OSError as exc:
        raise UserError(f"{p}: cannot read {kind} ({exc.strerror or exc})") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise UserError(f"{p}: {kind} too large (over {max_bytes:,} bytes)")
    return data


def read_text(path: str | os.PathLike, kind: str, max_bytes: int | None) -> str:
    """A UTF-8 text file (a byte-order mark is allowed); a binary one is refused by name."""
    data = read_bytes(path, kind, max_bytes)
    if b"\0" in data:  # valid UTF-8, but no text file holds it
        raise UserError(f"{path}: not a text file (binary data)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not a UTF-8 text file (byte {exc.start:,})") from None


def read_yaml_mapping(path: str | os.PathLike, kind: str = "config file", expected: str = "a mapping",
                      max_bytes: int = MAX_CONFIG_BYTES) -> dict[str, Any]:
    """A YAML file holding one mapping ({} when empty), read with size and alias limits."""
    text = read_text(path, kind, max_bytes)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        _check_expansion(node, path)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark else ""
        raise UserError(f"{path}{line}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    except RecursionError:  # thousands of nested brackets: the composer recurses per level
        raise UserError(f"{path}: not valid YAML (nested too deeply)") from None
    except (ValueError, OverflowError) as exc:  # a scalar the constructor cannot convert (a huge int, a bad date)
        raise UserError(f"{path}: not valid YAML ({exc})") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected {expected}, not {kind_of(data)}")
    return data


def kind_of(value: Any) -> str:
    """What a value read from YAML or JSON is, for an error message: "a list", "null", "an int"..."""
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "null",
             int: "an int"}
    return names.get(type(value), f"a {type(value).__name__}")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: yaml.Node, path: str | os.PathLike) -> None:
    """Refuse too many aliases, a recursive alias, or a document too large once its aliases are expanded.

    Iterative (no recursion limit to hit) and memoised: each distinct node is visited once, so a bomb is
    refused in microseconds. Nodes with an open entry on the stack are exactly the current node's
    ancestors, so meeting one again is a cycle (``&a [*a]``), which no walk of the result would survive.
    """
    size: dict[int, int] = {}   # id(node) -> nodes in its expanded subtree
    open_: set[int] = set()     # ancestors of the node being visited
    seen: set[int] = set()
    aliases = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    seen.add(id(root))
    while stack:
        node, closing = stack.pop()
        key = id(node)
        if closing:
            open_.discard(key)
            own = 1 + len(node.value) // 100 if isinstance(node, yaml.ScalarNode) else 1
            total = own + sum(size[id(child)] for child in _children(node))
            if total > MAX_EXPANDED_NODES:
                raise UserError(f"{path}: YAML aliases expand to over {MAX_EXPANDED_NODES:,} values; refused")
            size[key] = total
            continue
        if key in size:
            continue
        open_.add(key)
        stack.append((node, True))
        for child in _children(node):
            child_key = id(child)
            if child_key in open_:
                raise UserError(f"{path}: a YAML alias refers to itself; refused")
            if child_key in seen:
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise UserError(f"{path}: more than {MAX_ALIASES} YAML aliases; refused")
            else:
                seen.add(child_key)
            if child_key not in size:
                stack.append((child, False))

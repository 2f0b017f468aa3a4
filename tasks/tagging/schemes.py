"""Entity tag schemes: detection, BIO <-> BIOES conversion, and entity spans with seqeval's conventions.

Spans follow conlleval/seqeval's default (non-strict) mode, so scores match the published scorers:
an I- tag that does not continue an entity of its type starts a new one, and a type change ends one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

PREFIXES = ("B", "I", "E", "S")


def split_tag(tag: str) -> tuple[str, str]:
    """``"B-PER"`` -> ``("B", "PER")``; ``"O"`` -> ``("O", "_")`` as seqeval does."""
    if tag == "O" or not tag:
        return "O", "_"
    prefix, _, kind = tag.partition("-")
    return prefix, (kind or "_")


def looks_like_entities(tags: Iterable[str]) -> bool:
    """True when every tag is O or a B-/I-/E-/S- prefix with a type, and some are not O."""
    seen_entity = False
    for tag in tags:
        if tag == "O":
            continue
        prefix, sep, kind = tag.partition("-")
        if not sep or prefix not in PREFIXES or not kind:
            return False
        seen_entity = True
    return seen_entity


def entity_types(tags: Iterable[str]) -> list[str]:
    return sorted({split_tag(t)[1] for t in tags if t != "O"})


def _end_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag not in ("O", ".") and prev_type != type_


def _start_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and prev_type != type_


def entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """(type, first, last) spans of one sentence, inclusive, in order (seqeval's get_entities)."""
    spans = []
    prev_tag, prev_type, begin = "O", "", 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, type_ = split_tag(tag)
        if _end_of_chunk(prev_tag, prefix, prev_type, type_):
            spans.append((prev_type, begin, i - 1))
        if _start_of_chunk(prev_tag, prefix, prev_type, type_):
            begin = i
        prev_tag, prev_type = prefix, type_
    return spans


def bio_to_bioes(tags: Sequence[str]) -> list[str]:
    """BIO (or ill-formed BIO: an I- that starts an entity) to BIOES, span by span."""
    return spans_to_tags(entities(tags), len(tags), "bioes")


def to_bio(tags: Sequence[str]) -> list[str]:
    """Any of BIO/BIOES (well-formed or not) to clean BIO."""
    return spans_to_tags(entities(tags), len(tags), "bio")


def spans_to_tags(spans: Iterable[tuple[str, int, int]], length: int, scheme: str) -> list[str]:
    tags = ["O"] * length
    for kind, first, last in spans:
        if scheme == "bioes" and first == last:
            tags[first] = f"S-{kind}"
            continue
        tags[first] = f"B-{kind}"
        for i in range(first + 1, last + 1):
            tags[i] = f"I-{kind}"
        if scheme == "bioes":
            tags[last] = f"E-{kind}"
    return tags


def convert(tags: Sequence[str], scheme: str) -> list[str]:
    if scheme == "bioes":
        return bio_to_bioes(tags)
    if scheme == "bio":
        return to_bio(tags)
    return list(tags)


def scheme_tags(types: Iterable[str], scheme: str) -> list[str]:
    """Every tag of a scheme over these entity types, O first."""
    prefixes = ("B", "I") if scheme == "bio" else ("B", "I", "E", "S")
    return ["O"] + [f"{p}-{t}" for t in sorted(types) for p in prefixes]


def allowed_transitions(tags: Sequence[str], scheme: str) -> tuple[list[bool], list[list[bool]], list[bool]]:
    """Which (start, previous -> next, end) tag moves make well-formed sequences in ``scheme``."""
    parts = [split_tag(t) for t in tags]

    def can_follow(prev: tuple[str, str], nxt: tuple[str, str]) -> bool:
        (pp, pt), (np_, nt) = prev, nxt
        inside = pp in ("B", "I")  # an entity is open
        if np_ == "I":
            return inside and pt == nt
        if np_ == "E":
            return scheme == "bioes" and inside and pt == nt
        if scheme == "bioes" and inside:  # BIOES entities close with E
            return False
        return True

    def can_start(tag: tuple[str, str]) -> bool:
        return tag[0] in ("O", "B", "S")

    def can_end(tag: tuple[str, str]) -> bool:
        return tag[0] in ("O", "E", "S") if scheme == "bioes" else tag[0] in ("O", "B", "I")

    start = [can_start(p) for p in parts]
    trans = [[can_follow(a, b) for b in parts] for a in parts]
    end = [can_end(p) for p in parts]
    return start, trans, end

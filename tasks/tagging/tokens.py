"""Splitting a raw sentence into tokens the way the tagging corpora do.

Treebanks (UD EWT) and social-media NER data (WNUT-17) keep @mentions, #hashtags, URLs and e-mail
addresses whole and split English clitics off (do n't, it 's); the shared word tokeniser does the rest.
"""

from __future__ import annotations

import re

from suite.data.text import tokenize

_WHOLE = re.compile(r"^(https?://\S+|www\.\S+|[\w.+-]+@[\w-]+\.[\w.-]+|[@#][\w_]+)$", re.I)
_CLITIC = re.compile(r"^(.+?)(n't|'s|'re|'ll|'ve|'m|'d|’s|’re|’ll|’ve|’m|’d)$", re.I)


def split_sentence(text: str) -> list[str]:
    tokens: list[str] = []
    for chunk in text.split():
        if _WHOLE.match(chunk):
            tokens.append(chunk)
            continue
        for token in tokenize(chunk):
            clitic = _CLITIC.match(token)
            if clitic and clitic.group(1).isalpha():
                tokens.extend([clitic.group(1), clitic.group(2)])
            else:
                tokens.append(token)
    return tokens


def char_spans(text: str, tokens: list[str]) -> list[tuple[int, int] | None]:
    """Each token's [start, end) characters in ``text``, found left to right (None where normalisation
    changed it, e.g. an HTML entity)."""
    spans: list[tuple[int, int] | None] = []
    cursor = 0
    for token in tokens:
        at = text.find(token, cursor)
        if at < 0:
            spans.append(None)
            continue
        spans.append((at, at + len(token)))
        cursor = at + len(token)
    return spans

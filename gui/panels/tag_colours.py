"""A colour per tag type that its text can be read on, in a light and in a dark palette.

A tag's colour is a hue; the palette decides the rest. Light palettes get a pale chip with black text, dark
ones a deep chip with white text, and either is moved away from its text's lightness until the pair meets
WCAG's contrast ratio for body text (4.5:1): a fixed chip colour with black text, as before, was black on
dark blue for one type in five. Hues are fixed for the tag sets the suite ships (UD's 17 UPOS tags, one
each, spread round the wheel; CoNLL and WNUT-17 entity types), so a sentence's neighbouring words rarely
share one; any other tag gets a hue from its name, the same in every run and session.
"""

from __future__ import annotations

import colorsys
import zlib

#: WCAG 2's minimum contrast ratio for normal text (level AA)
MIN_CONTRAST = 4.5
#: the pair is pushed a little beyond the minimum: a rendered chip is antialiased at its edges
AIM = 5.0

UPOS = ["NOUN", "PUNCT", "VERB", "PRON", "ADP", "DET", "PROPN", "ADJ", "AUX", "ADV", "CCONJ", "PART", "NUM",
        "SCONJ", "X", "INTJ", "SYM"]
#: frequent tags far apart on the wheel (NOUN next to PUNCT or VERB is the common case)
SLOTS = {tag: i * 7 % 17 for i, tag in enumerate(UPOS)}
HUES = {tag: slot * 360 / 17 for tag, slot in SLOTS.items()}
#: neighbours on the wheel (21 degrees apart) told apart by lightness too: every other slot is lighter
LIGHTER = {tag for tag, slot in SLOTS.items() if slot % 2}
# entity types: the hues of Okabe-Ito's orange, sky blue, bluish green, reddish purple, yellow, vermillion
for names, hue in ((("PER", "person", "PERSON"), 35), (("LOC", "location", "GPE"), 200),
                   (("ORG", "corporation", "organization"), 160), (("MISC", "creative-work"), 320),
                   (("group", "NORP"), 55), (("product", "PRODUCT"), 15)):
    HUES.update(dict.fromkeys(names, hue))

LIGHT = {"saturation": 0.75, "lightness": 0.72, "text": "#000000"}
DARK = {"saturation": 0.55, "lightness": 0.30, "text": "#ffffff"}
TIER = 0.10  # how much lighter the LIGHTER tags start


def hue_of(kind: str) -> float:
    return HUES.get(kind, zlib.crc32(kind.encode()) % 360)


def _channel(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """WCAG's relative luminance of ``#rrggbb``."""
    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG's contrast ratio of two colours, 1 (the same) to 21 (black and white)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _hex(hue: float, lightness: float, saturation: float) -> str:
    r, g, b = colorsys.hls_to_rgb(hue / 360, lightness, saturation)
    return "#%02x%02x%02x" % tuple(round(255 * c) for c in (r, g, b))


def chip(kind: str, dark: bool = False) -> tuple[str, str]:
    """The background and text colours (``#rrggbb``) for a tag type in a light or dark palette."""
    scheme = DARK if dark else LIGHT
    lightness, text = scheme["lightness"] + (TIER if kind in LIGHTER else 0.0), scheme["text"]
    direction = -0.02 if dark else 0.02  # away from the text: darker under white, paler under black
    colour = _hex(hue_of(kind), lightness, scheme["saturation"])
    while contrast(colour, text) < AIM and 0.0 < lightness + direction < 1.0:
        lightness += direction
        colour = _hex(hue_of(kind), lightness, scheme["saturation"])
    return colour, text


def muted(text: str, background: str) -> str:
    """A quieter colour for notes beside the text (the tags under the words), still 4.5:1 on the page:
    the text colour moved toward the background until just before the contrast would fall below."""
    def mix(share: float) -> str:
        a = [int(text[i:i + 2], 16) for i in (1, 3, 5)]
        b = [int(background[i:i + 2], 16) for i in (1, 3, 5)]
        return "#%02x%02x%02x" % tuple(round(x + (y - x) * share) for x, y in zip(a, b))

    share = 0.0
    while share < 0.6 and contrast(mix(share + 0.05), background) >= AIM:
        share += 0.05
    return mix(share)

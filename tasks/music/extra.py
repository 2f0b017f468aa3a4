"""The music task's own libraries, installed by the ``music`` extra (``pip install rnn-suite[music]``).

A headless or cluster install may leave them out. Then the music task still lists and prints its
settings, and a run or a prediction fails at once with one line naming the extra, not with a
traceback from deep inside reading or writing a score.
"""

from __future__ import annotations

import importlib.util

from suite.errors import UserError

INSTALL = "pip install rnn-suite[music]"
#: import name -> what the task needs it for
LIBRARIES = {
    "music21": "the Bach chorales corpus, reading MIDI/MusicXML/ABC, and writing MIDI",
    "scipy": "the benchmark's MATLAB (.mat) piano rolls",
}


def missing_libraries() -> list[str]:
    # find_spec locates without importing (music21 alone takes a second to import)
    return [name for name in LIBRARIES if importlib.util.find_spec(name) is None]


def require_music_libraries() -> None:
    missing = missing_libraries()
    if missing:
        needs = "; ".join(f"{name} ({LIBRARIES[name]})" for name in missing)
        raise UserError(f"the music task needs {needs}, not installed here: {INSTALL}")

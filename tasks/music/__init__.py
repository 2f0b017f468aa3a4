"""Music generation: recurrent language models over piano-roll frames or melody events that write MIDI."""

from .task import MusicTask

__all__ = ["MusicTask"]

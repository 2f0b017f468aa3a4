"""The music task's options."""

from __future__ import annotations

from dataclasses import dataclass

from suite.config import option
from suite.errors import ConfigError

BACH = "bach"
STEPS = {"16th": 0.25, "8th": 0.5, "quarter": 1.0}  # step name -> length in quarter notes
# Generation bounds. Sampling takes about 2 ms a step for the default model on one CPU core, so 10,000
# steps (the window's longest) are half a minute; pieces are sampled side by side, each one a file.
MAX_LENGTH = 10_000
MAX_PIECES = 100
# Logits are divided by the temperature: far below 0.01 they overflow to inf and the event softmax gives
# NaN probabilities; far above 100 every key is a coin toss, which says nothing more.
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.01, 100.0
MAX_UNITS = 8192  # as the backbone's --hidden: beyond it a layer no longer fits in memory


@dataclass
class MusicConfig:
    data: str = option(BACH, "music: 'bach' (the Bach chorales in music21's corpus, offline), a piano-roll "
                             "JSON file (train/valid/test lists of steps of MIDI pitches), a MATLAB .mat "
                             "piano roll (traindata/validdata/testdata, T x 88), a folder of MIDI/MusicXML/"
                             "ABC files, or one such file", path=True)
    step: str = option("quarter", "time step: MIDI/MusicXML/ABC are sampled at it; JSON and .mat rolls keep "
                                  "their own and are taken to be at it when music is written",
                       choices=tuple(STEPS), group="data")
    split: str = option("0.8,0.1,0.1", "train,valid,test fractions for sources without their own split "
                                       "(the corpus, folders); pieces are assigned in a fixed shuffled order",
                                       group="data")
    representation: str = option("frames", "frames: 88-key piano-roll frames (polyphonic, the benchmark's); "
                                            "events: one token per step of the top voice, note-on/hold/rest "
                                            "(melodies)", choices=("frames", "events"))
    distribution: str = option("nade", "frame distribution: nade (notes within a frame modelled one after another, "
                                 "RNN-NADE style) or bernoulli (88 independent keys)",
                         choices=("nade", "bernoulli"))
    nade_hidden: int = option(150, "NADE hidden units (distribution nade)", min=1, max=MAX_UNITS)
    input_dropout: float = option(0.0, "dropout on the previous frame fed to the network", min=0.0, lt=1.0)
    head_dropout: float = option(0.3, "dropout on the recurrent outputs before the output layer",
                                 min=0.0, lt=1.0)
    transpose: str = option("none", "none, or common: transpose every piece to C major / A minor (key "
                                    "estimated from the piece's pitch classes)", choices=("none", "common"))
    augment: int = option(0, "training augmentation: transpose each piece by a random shift of up to this "
                             "many semitones each epoch (0: off)", min=0, max=12)
    max_files: int = option(0, "read at most this many files from a folder or the corpus (0: all)", min=0, group="data")
    # --- generation (--predict) ---------------------------------------------------------------------
    length: int = option(64, f"--predict: steps to generate after the primer (at most {MAX_LENGTH:,}: about "
                             "half a minute of sampling on a CPU)", min=1, max=MAX_LENGTH, group="advanced")
    temperature: float = option(1.0, "--predict: sampling temperature (below 1: safer, above: wilder), "
                                     f"{MIN_TEMPERATURE} to {MAX_TEMPERATURE:g}",
                                min=MIN_TEMPERATURE, max=MAX_TEMPERATURE, group="advanced")
    pieces: int = option(1, f"--predict: pieces to generate (files piece-1.mid, piece-2.mid, ...), at most "
                            f"{MAX_PIECES}", min=1, max=MAX_PIECES, group="advanced")
    gen_seed: int = option(0, "--predict: random seed of the sampler (same seed, same piece)", min=0,
                           max=2**32 - 1, group="advanced")
    bpm: int = option(100, "--predict: tempo written into the MIDI file, quarter notes per minute (4 to "
                           "1000; MIDI cannot hold a slower tempo)", min=4, max=1000, group="advanced")
    musicxml: bool = option(False, "--predict with a .mid output: also write MusicXML beside it", group="advanced")

    def validate(self) -> None:
        parts = [p.strip() for p in self.split.split(",") if p.strip()]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) != 3 or any(v < 0 for v in values) or values[0] <= 0 or abs(sum(values) - 1) > 1e-6:
            raise ConfigError("options.split (--split)",
                              f"expected three fractions train,valid,test summing to 1, got {self.split!r}")

    def fractions(self) -> tuple[float, float, float]:
        a, b, c = (float(p) for p in self.split.split(","))
        return a, b, c

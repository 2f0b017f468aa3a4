"""Built-in synthetic sequence problems for the forecast task: ``--data synthetic:NAME``.

Each problem is a collection of independent sequences, not one long series: an example is an input
sequence of ``--sequence-length`` steps (T) and one target value. They are long-memory tests that make
the differences between recurrent cells visible (a tanh RNN cannot carry a value across hundreds of
steps; an LSTM or GRU can):

- ``adding`` (Hochreiter & Schmidhuber 1997, in the formulation of Le et al. 2015 and Arjovsky et al.
  2016): two channels, ``value`` ~ U(0, 1) and ``marker`` in {0, 1}; exactly two steps are marked, one
  in the first half of the sequence and one in the second; the target is the sum of the two marked
  values (mean 1, variance 1/6).
- ``delay``: one channel, ``value`` ~ U(-1, 1); the target is the value ``--delay`` steps before the
  end of the sequence (1: the last value; the default, the sequence length: the first value), so the
  network must hold one number through everything that follows it (variance 1/3).

The forecast task reads them with its own machinery: the columns are ``target`` (the forecast column,
unknown while the sequence is read) and the problem's channels as covariates, the window is the
sequence (``lookback`` = T) and the horizon is 1. Examples are laid out one after another as rows: T
input rows, then one row holding the target, and the forecast origin of each example is its target row.

Data come from ``--data-seed`` alone, never from the training ``--seed`` (a seed sweep then measures the
model's noise, not the data's); train, validation and test are drawn from separate random streams, so
they are disjoint and each split does not depend on the size of the others.

This module imports numpy only inside its functions: ``--help`` and ``--print-config`` validate these
settings without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from suite.errors import ConfigError, UserError

if TYPE_CHECKING:
    import numpy as np

PREFIX = "synthetic:"
TARGET = "target"
#: the random stream of each split: SeedSequence(--data-seed, spawn_key=(index,))
SPLITS = ("train", "val", "test")
#: the most rows (examples x (sequence length + 1)) one run generates: 20M rows of 3 columns are about
#: 0.5 GB in float64 while they are made, and 0.25 GB as the float32 tensor training reads
MAX_ROWS = 20_000_000


@dataclass(frozen=True)
class Problem:
    name: str
    channels: tuple[str, ...]  # the input channels, read as covariates
    #: how --predict takes an inline sequence
    inline: str

    @property
    def columns(self) -> list[str]:
        return [TARGET, *self.channels]


ADDING = Problem("adding", ("value", "marker"), "numbers, the two marked ones starred: '0.2 *0.5 0.1 *0.3'")
DELAY = Problem("delay", ("value",), "numbers: '0.3 -0.8 0.1'")
PROBLEMS = {p.name: p for p in (ADDING, DELAY)}


def is_synthetic(data: Any) -> bool:
    return isinstance(data, str) and data.startswith(PREFIX)


def known() -> str:
    return ", ".join(PREFIX + name for name in PROBLEMS)


def problem_named(data: str, where: str = "options.data (--data)") -> Problem:
    name = data[len(PREFIX):]
    if name not in PROBLEMS:
        raise ConfigError(where, f"unknown synthetic problem '{name}'; the known ones are: {known()}")
    return PROBLEMS[name]


def delay_of(opts) -> int:
    """The delay problem's lag in steps: ``--delay``, or the whole sequence (the first value) for 0."""
    return opts.delay or opts.sequence_length


def check_settings(opts) -> None:
    """The settings of a synthetic run, each wrong one as one ConfigError; resolves ``lookback`` 0 to the
    sequence length (each window is one whole sequence)."""
    problem = problem_named(opts.data)
    length = opts.sequence_length
    if problem is DELAY and opts.delay > length:
        raise ConfigError("options.delay (--delay)", f"delay {opts.delay} is longer than the sequence length "
                                                     f"{length} (--sequence-length); {length} is the first value")
    if opts.examples * (length + 1) > MAX_ROWS:
        raise ConfigError("options.examples (--examples)", f"{opts.examples:,} sequences of {length} steps are "
                                                           f"{opts.examples * (length + 1):,} rows; at most "
                                                           f"{MAX_ROWS:,}")
    if opts.lookback == 0:
        opts.lookback = length
    elif opts.lookback > length:
        raise ConfigError("options.lookback (--lookback)", f"lookback {opts.lookback} is longer than the "
                                                           f"sequence length {length}: a window is one sequence "
                                                           "(0 reads it whole)")
    if opts.horizon != 1:
        raise ConfigError("options.horizon (--horizon)", f"a synthetic problem has one target per sequence: "
                                                         f"the horizon is 1, got {opts.horizon}")
    if opts.target != "all" or opts.covariates:
        raise ConfigError("options.target (--target)" if opts.target != "all" else "options.covariates (--covariates)",
                          f"{PREFIX}{problem.name} has its own columns ({', '.join(problem.columns)}); "
                          "--target and --covariates are for tables")


def split_sizes(opts) -> tuple[int, int, int]:
    """Examples of each split: ``--split`` as fractions or counts of ``--examples``."""
    from suite.data.series import parse_split

    try:
        return parse_split(opts.split, opts.examples)
    except ConfigError as exc:  # its words are for a series' rows
        message = str(exc).split(": ", 1)[1]
        for series_word, word in (("row counts", "example counts"), ("rows", "examples"),
                                  ("the series has", "--examples is")):
            message = message.replace(series_word, word)
        raise ConfigError("options.split (--split)", f"{message} (synthetic data: a share or count of "
                                                     "--examples)") from None


def generate(problem: Problem, n: int, length: int, delay: int, seed: int, split: str
             ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` examples of ``split``: inputs ``(n, length, channels)`` and targets ``(n,)``, as float64."""
    import numpy as np

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(SPLITS.index(split),)))
    if problem is ADDING:
        inputs = np.zeros((n, length, 2))
        values = rng.random((n, length))
        inputs[..., 0] = values
        half, rows = length // 2, np.arange(n)
        first, second = rng.integers(0, half, n), rng.integers(half, length, n)
        inputs[rows, first, 1] = 1.0
        inputs[rows, second, 1] = 1.0
        return inputs, values[rows, first] + values[rows, second]
    values = rng.uniform(-1.0, 1.0, (n, length))
    return values[..., None], values[:, length - delay].copy()


def truth(problem: Problem, inputs: np.ndarray, delay: int) -> float | None:
    """The target of one input sequence ``(length, channels)``, where it is defined."""
    if problem is ADDING:
        return float((inputs[:, 0] * inputs[:, 1]).sum())
    return float(inputs[len(inputs) - delay, 0]) if delay <= len(inputs) else None


def as_rows(inputs: np.ndarray, targets: np.ndarray, fill: list[float]) -> np.ndarray:
    """Examples as rows of the task's columns (target first): each example's inputs, the target column
    filled with ``fill[0]`` (the training mean: unknown while reading, 0 once scaled), then a row
    holding its target (the other columns ``fill``). Shape ``(n * (length + 1), 1 + channels)``."""
    import numpy as np

    n, length, channels = inputs.shape
    rows = np.empty((n, length + 1, 1 + channels))
    rows[...] = np.asarray(fill, dtype=np.float64)
    rows[:, :length, 1:] = inputs
    rows[:, length, 0] = targets
    return rows.reshape(n * (length + 1), 1 + channels)


def parse_inline(problem: Problem, text: str) -> np.ndarray:
    """An inline sequence for ``--predict`` as inputs ``(length, channels)``, or a UserError."""
    import math

    import numpy as np

    tokens = text.replace(",", " ").split()
    steps = []
    for token in tokens:
        marked = problem is ADDING and token.startswith("*")
        try:
            value = float(token[1:] if marked else token)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise UserError(f"--predict: {token!r} is not a number; {PREFIX}{problem.name} reads an inline "
                            f"sequence of {problem.inline}, or 'synthetic:{problem.name}@N' (test example N)")
        steps.append([value, 1.0] if problem is ADDING else [value])
        if problem is ADDING and not marked:
            steps[-1][1] = 0.0
    if not steps:
        raise UserError(f"--predict: an empty sequence; give {problem.inline}")
    return np.asarray(steps, dtype=np.float64)

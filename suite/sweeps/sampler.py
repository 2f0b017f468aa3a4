"""A search's sampler: Optuna's TPE, with each trial's randomness drawn from the sweep's seed and the trial's
number in the study.

Every process of a shared search has the same ``--seed`` (it is part of the specification), so a TPESampler
seeded with it would give every process the same random stream: during TPE's random start-up, each process
would sample the trials the others sample. Trial numbers are unique in a study, so a stream per
(seed, number) differs between processes and is the same for the same trial of the same command. TPE itself
keeps nothing between trials that it does not read back from the study, so one TPESampler per trial (public
API only) samples as one shared one would, given the same trials before it.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any, Sequence

from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, TPESampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState


def trial_seed(seed: int, number: int) -> int:
    """A 32-bit seed for trial ``number`` of a sweep seeded ``seed`` (stable across Python runs: no hash())."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{number}".encode()).digest()[:4], "little")


class TrialSeededTPE(BaseSampler):
    """TPE whose trial ``n`` samples from ``trial_seed(seed, n)``; ``options`` are TPESampler's own."""

    def __init__(self, seed: int, **options: Any):
        self.seed = seed
        self.options = options
        self._samplers: dict[int, TPESampler] = {}  # by trial number, while the trial runs
        self._guard = threading.Lock()  # --parallel: several trials of this process sample at once

    def _for(self, trial: FrozenTrial) -> TPESampler:
        with self._guard:
            sampler = self._samplers.get(trial.number)
            if sampler is None:
                sampler = self._samplers[trial.number] = TPESampler(seed=trial_seed(self.seed, trial.number),
                                                                    **self.options)
            return sampler

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._for(trial).before_trial(study, trial)

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self._for(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self._for(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self._for(trial).sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        sampler = self._for(trial)
        with self._guard:
            self._samplers.pop(trial.number, None)
        sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:  # Optuna's n_jobs>1 asks for fresh streams; these are fixed by design
        pass


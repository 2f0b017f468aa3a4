"""The seeded carve-out of validation (and test) examples from training data that has no such split.

One rule for every task: the same seed always holds out the same examples, each share is rounded to
the nearest count (at least one), and with ``strata`` (the class labels) each class gives its share,
so a small or unbalanced set keeps its class balance in validation.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import torch


def seeded_holdout(size: int, shares: Sequence[float], seed: int,
                   strata: Sequence[Hashable] | None = None) -> tuple[list[int], list[list[int]]]:
    """The indices kept for training and, per share in ``shares``, the indices held out; all in their
    original order. A share of 0 holds out nothing; a stratum of one example is never held out."""
    groups: dict[Hashable, list[int]] = {}
    for i in range(size):
        groups.setdefault(strata[i] if strata is not None else 0, []).append(i)
    generator = torch.Generator().manual_seed(seed)
    held: list[list[int]] = [[] for _ in shares]
    for members in groups.values():  # in order of first appearance, so the draw depends on the seed alone
        order = torch.randperm(len(members), generator=generator).tolist()
        start = 0
        for part, share in zip(held, shares):
            count = max(1, round(len(members) * share)) if share > 0 and len(members) > 1 else 0
            part += [members[j] for j in order[start:start + count]]
            start += count
    taken = {i for part in held for i in part}
    return [i for i in range(size) if i not in taken], [sorted(part) for part in held]

"""The CRF against brute-force enumeration of every tag sequence on tiny inputs."""

from __future__ import annotations

import itertools

import pytest
import torch

from tasks.tagging.crf import CRF
from tasks.tagging.schemes import allowed_transitions


def path_score(crf: CRF, emissions: torch.Tensor, path: tuple[int, ...]) -> torch.Tensor:
    start, trans, end = crf.potentials()
    score = start[path[0]] + emissions[0, path[0]]
    for prev, nxt, t in zip(path, path[1:], range(1, len(path))):
        score = score + trans[prev, nxt] + emissions[t, nxt]
    return score + end[path[-1]]


def brute_force(crf: CRF, emissions: torch.Tensor, length: int) -> tuple[torch.Tensor, tuple[int, ...]]:
    paths = list(itertools.product(range(crf.num_tags), repeat=length))
    scores = torch.stack([path_score(crf, emissions[:length], p) for p in paths])
    return torch.logsumexp(scores, dim=0), paths[int(scores.argmax())]


def random_crf(num_tags: int, seed: int, allowed=None) -> CRF:
    torch.manual_seed(seed)
    crf = CRF(num_tags, allowed)
    with torch.no_grad():  # larger than the initial values, so the transitions matter
        for p in crf.parameters():
            p.normal_(0, 1.0)
    return crf


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_partition_and_viterbi_match_enumeration_with_padding(seed):
    crf = random_crf(3, seed)
    lengths = torch.tensor([4, 1, 3, 2])
    emissions = torch.randn(4, 4, 3, generator=torch.Generator().manual_seed(seed))
    mask = torch.arange(4)[None] < lengths[:, None]
    log_z = crf.log_partition(emissions, mask)
    best = crf.decode(emissions, mask)
    for b, n in enumerate(lengths.tolist()):
        want_z, want_path = brute_force(crf, emissions[b], n)
        assert torch.allclose(log_z[b], want_z, atol=1e-5)
        assert tuple(best[b, :n].tolist()) == want_path
        assert best[b, n:].eq(0).all()


def test_nll_is_minus_log_probability_of_the_path_and_probabilities_sum_to_one():
    crf = random_crf(3, 5)
    emissions = torch.randn(1, 3, 3, generator=torch.Generator().manual_seed(5))
    mask = torch.ones(1, 3, dtype=torch.bool)
    total = 0.0
    for path in itertools.product(range(3), repeat=3):
        nll = crf.nll(emissions, torch.tensor([path]), mask)
        want = brute_force(crf, emissions[0], 3)[0] - path_score(crf, emissions[0], path)
        assert torch.allclose(nll[0], want, atol=1e-5)
        total += float(torch.exp(-nll[0]).detach())
    assert total == pytest.approx(1.0, abs=1e-5)


def test_padding_does_not_change_a_sentences_result():
    crf = random_crf(4, 7)
    emissions = torch.randn(1, 3, 4, generator=torch.Generator().manual_seed(7))
    padded = torch.cat([emissions, torch.randn(1, 5, 4) * 100], dim=1)  # huge scores on padding
    short, long = torch.ones(1, 3, dtype=torch.bool), torch.tensor([[True] * 3 + [False] * 5])
    tags = torch.tensor([[1, 2, 3]])
    assert torch.allclose(crf.nll(emissions, tags, short),
                          crf.nll(padded, torch.cat([tags, torch.zeros(1, 5, dtype=torch.long)], 1), long))
    assert crf.decode(emissions, short)[0].tolist() == crf.decode(padded, long)[0, :3].tolist()


def test_bio_constraints_forbid_ill_formed_paths_in_decoding_and_enumeration():
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    crf = random_crf(len(tags), 3, allowed_transitions(tags, "bio"))
    emissions = torch.zeros(1, 4, len(tags))
    emissions[0, :, 2] = 5.0  # I-PER everywhere is the best unconstrained path, but cannot start a sentence
    mask = torch.ones(1, 4, dtype=torch.bool)
    best = [tags[i] for i in crf.decode(emissions, mask)[0].tolist()]
    assert best[0] != "I-PER"
    assert best[1:] == ["I-PER"] * 3 and best[0] == "B-PER"
    log_z, path = brute_force(crf, emissions[0], 4)
    assert torch.allclose(crf.log_partition(emissions, mask)[0], log_z, atol=1e-4)
    assert [tags[i] for i in path] == best


def test_bioes_constraints():
    tags = ["O", "B-X", "I-X", "E-X", "S-X"]
    start, trans, end = allowed_transitions(tags, "bioes")
    ok = lambda a, b: trans[tags.index(a)][tags.index(b)]  # noqa: E731
    assert ok("B-X", "I-X") and ok("B-X", "E-X") and ok("I-X", "E-X") and ok("E-X", "O") and ok("S-X", "B-X")
    assert not ok("B-X", "O") and not ok("O", "I-X") and not ok("O", "E-X") and not ok("I-X", "S-X")
    assert start == [True, True, False, False, True] and end == [True, False, False, True, True]


def test_gradients_flow_to_emissions_and_transitions():
    crf = random_crf(3, 1)
    emissions = torch.randn(2, 5, 3, requires_grad=True)
    mask = torch.tensor([[True] * 5, [True] * 2 + [False] * 3])
    crf.nll(emissions, torch.randint(0, 3, (2, 5)), mask).mean().backward()
    assert emissions.grad[1, 2:].abs().sum() == 0  # padding gets no gradient
    assert crf.transitions.grad.abs().sum() > 0 and torch.isfinite(emissions.grad).all()

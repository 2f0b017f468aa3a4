"""The typed, versioned data state every task saves in its checkpoints, and the shared carve-out."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from suite.data.splits import seeded_holdout
from suite.data.state import DataState, StateError


@dataclass
class Example(DataState):
    VERSION = 2
    words: list[str]
    scale: float
    season: int = 1
    last_time: str | None = None
    extra: dict[str, int] = field(default_factory=dict)

    @classmethod
    def upgrade(cls, saved, version):
        if version == 1:  # version 1 called the words "vocab"
            saved = {**saved, "words": saved.pop("vocab")}
            return saved
        return super().upgrade(saved, version)


def test_a_state_round_trips_through_plain_values():
    state = Example(("a", "b"), 0.5, 7, "2020-01-01", {"x": 1})
    saved = state.to_dict()
    assert saved == {"version": 2, "words": ["a", "b"], "scale": 0.5, "season": 7, "last_time": "2020-01-01",
                     "extra": {"x": 1}}
    assert Example.from_dict(saved) == Example(["a", "b"], 0.5, 7, "2020-01-01", {"x": 1})


def test_an_older_state_is_upgraded_and_a_newer_one_refused():
    assert Example.from_dict({"version": 1, "vocab": ["a"], "scale": 1}).words == ["a"]
    with pytest.raises(StateError, match="version 0 of the data state is not readable"):
        Example.from_dict({"words": ["a"], "scale": 1.0})
    with pytest.raises(StateError, match="newer version"):
        Example.from_dict({"version": 3, "words": ["a"], "scale": 1.0})


@pytest.mark.parametrize("saved, message", [
    ({"version": 2, "scale": 1.0}, "field 'words' is missing"),
    ({"version": 2, "words": "abc", "scale": 1.0}, "field 'words': expected list, got str"),
    ({"version": 2, "words": [], "scale": "1"}, "field 'scale': expected float, got str"),
    ({"version": 2, "words": [], "scale": 1.0, "season": True}, "field 'season': expected int, got bool"),
    ({"version": 2, "words": [], "scale": 1.0, "last_time": 3}, "field 'last_time': expected str or None"),
    ({"version": "2", "words": [], "scale": 1.0}, "field 'version'"),
    (["not", "a", "mapping"], "not a mapping"),
])
def test_a_damaged_state_is_refused_by_field_name(saved, message):
    with pytest.raises(StateError, match=message):
        Example.from_dict(saved)


def test_the_holdout_is_seeded_disjoint_and_keeps_order():
    kept, (val,) = seeded_holdout(100, [0.1], seed=3)
    assert len(val) == 10 and kept == sorted(kept) and val == sorted(val)
    assert sorted(kept + val) == list(range(100))
    assert seeded_holdout(100, [0.1], seed=3) == (kept, [val])
    assert seeded_holdout(100, [0.1], seed=4)[1][0] != val


def test_two_shares_are_disjoint_and_a_zero_share_holds_nothing():
    kept, (val, test) = seeded_holdout(50, [0.1, 0.2], seed=0)
    assert (len(val), len(test)) == (5, 10) and not set(val) & set(test)
    assert len(kept) == 35 and not set(kept) & (set(val) | set(test))
    assert seeded_holdout(50, [0.1, 0.0], seed=0)[1][1] == []


def test_a_stratified_holdout_keeps_the_class_balance():
    labels = ["pos"] * 90 + ["neg"] * 10
    kept, (val,) = seeded_holdout(100, [0.2], seed=1, strata=labels)
    assert sum(labels[i] == "neg" for i in val) == 2 and sum(labels[i] == "pos" for i in val) == 18
    # a tiny share still takes one of each class that has more than one member
    _, (small,) = seeded_holdout(12, [0.01], seed=1, strata=["a"] * 10 + ["b", "c"])
    assert [i for i in small] and all(i < 10 for i in small)

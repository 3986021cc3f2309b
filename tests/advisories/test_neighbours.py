"""The grid pre-filter never misses a pair within reach."""

from __future__ import annotations

import numpy as np

from roadlink.advisories.neighbours import best_per_group, pairs_within


def test_every_pair_within_reach_is_a_candidate() -> None:
    rng = np.random.default_rng(3)
    a = rng.uniform(-500, 500, (300, 2))
    b = rng.uniform(-500, 500, (200, 2))
    distance = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))
    truth = set(zip(*np.nonzero(distance <= 40.0), strict=True))

    i, j = pairs_within(a, b, 40.0)

    assert truth <= set(zip(i.tolist(), j.tolist(), strict=True))
    assert len(i) < len(a) * len(b) / 5  # a pre-filter, not all pairs


def test_distinct_pairs_are_unordered_and_exclude_self() -> None:
    points = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])

    i, j = pairs_within(points, points, 5.0, distinct=True)

    assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 1), (0, 2), (1, 2)]


def test_empty_inputs_give_no_pairs() -> None:
    i, j = pairs_within(np.zeros((0, 2)), np.ones((3, 2)), 10.0)

    assert len(i) == len(j) == 0


def test_best_per_group_takes_the_smallest_key_of_each_group() -> None:
    groups = np.array([2, 1, 2, 1, 3], dtype=np.int64)
    keys = np.array([5.0, 3.0, 1.0, 4.0, 0.0])

    assert best_per_group(groups, keys).tolist() == [1, 2, 4]

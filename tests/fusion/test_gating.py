"""Mahalanobis gating: the spatial grid returns exactly the brute-force pairs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roadlink.fusion import Detections, KalmanPredictor, MahalanobisGate, SourceKind, TrackTable, default_motion
from roadlink.fusion.gating import all_pairs, chi2_threshold, grid_pairs

PREDICTOR = KalmanPredictor(default_motion())


def _random_tracks(rng: np.random.Generator, n: int, extent_m: float, t0: int) -> TrackTable:
    table = TrackTable()
    std = rng.uniform(0.2, 3.0, size=n)
    covs = np.zeros((n, 4, 4))
    covs[:, 0, 0] = covs[:, 1, 1] = std**2
    covs[:, 2, 2] = covs[:, 3, 3] = rng.uniform(0.1, 4.0, size=n)
    covs[:, 0, 2] = covs[:, 2, 0] = 0.3 * std
    covs[: max(1, n // 20), :2, :2] *= 400.0  # a few very uncertain tracks take the outlier path
    table.append(
        n,
        ids=np.arange(1, n + 1, dtype=np.uint64),
        states=np.concatenate([rng.uniform(0, extent_m, (n, 2)), rng.normal(0, 8, (n, 2))], axis=1),
        covs=covs,
        times_ms=t0 - rng.integers(0, 300, n),
        object_class=rng.integers(0, 13, n).astype(np.int16),
    )
    return table


def _random_detections(rng: np.random.Generator, m: int, extent_m: float, t0: int) -> Detections:
    std = rng.uniform(0.1, 2.0, size=m)
    return Detections.create(
        positions_m=rng.uniform(0, extent_m, (m, 2)),
        covariances=np.eye(2)[None] * (std**2)[:, None, None],
        times_ms=t0 + rng.integers(-40, 60, m),
        source_ids="rsu",
        kinds=SourceKind.RSU_OBJECT_LIST,
    )


def _pairs(
    gate: MahalanobisGate, table: TrackTable, detections: Detections, grid: bool
) -> dict[tuple[int, int], float]:
    h = gate.hypothesise(table, detections, PREDICTOR, spatial_index=grid)
    return {(int(t), int(d)): float(c) for t, d, c in zip(h.track_rows, h.detection_rows, h.distance2, strict=True)}


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 120),
    m=st.integers(0, 120),
    extent_m=st.sampled_from([20.0, 100.0, 400.0]),
    probability=st.sampled_from([0.9, 0.99, 0.9999]),
)
def test_grid_gating_equals_brute_force(seed: int, n: int, m: int, extent_m: float, probability: float) -> None:
    rng = np.random.default_rng(seed)
    t0 = 1_000_000
    table, detections = _random_tracks(rng, n, extent_m, t0), _random_detections(rng, m, extent_m, t0)
    gate = MahalanobisGate(probability=probability, max_distance_m=12.0)
    grid, brute = _pairs(gate, table, detections, True), _pairs(gate, table, detections, False)
    assert grid.keys() == brute.keys()
    for key, value in grid.items():
        assert value == pytest.approx(brute[key])
        assert value <= gate.threshold


def test_subset_of_tracks_only() -> None:
    rng = np.random.default_rng(5)
    table, detections = _random_tracks(rng, 50, 50.0, 10_000), _random_detections(rng, 50, 50.0, 10_000)
    rows = np.arange(0, 50, 3)
    h = MahalanobisGate().hypothesise(table, detections, PREDICTOR, track_rows=rows)
    assert set(h.track_rows.tolist()) <= set(rows.tolist())


def test_grid_pairs_contains_every_close_pair() -> None:
    rng = np.random.default_rng(6)
    centres, points = rng.uniform(-50, 50, (300, 2)), rng.uniform(-50, 50, (400, 2))
    i, j = grid_pairs(centres, points, 4.0)
    found = set(zip(i.tolist(), j.tolist(), strict=True))
    assert len(found) == len(i)
    bi, bj = all_pairs(300, 400)
    close = np.hypot(*(centres[bi] - points[bj]).T) <= 4.0
    assert set(zip(bi[close].tolist(), bj[close].tolist(), strict=True)) <= found
    assert len(found) < 300 * 400 / 10


def test_chi2_threshold_known_values() -> None:
    assert chi2_threshold(0.99) == pytest.approx(9.2103, abs=1e-4)
    assert chi2_threshold(0.95, dof=4) == pytest.approx(9.4877, abs=1e-4)
    with pytest.raises(ValueError, match="probability"):
        chi2_threshold(1.0)


def test_near_pairs_small_sets_are_exact_and_large_sets_use_the_grid() -> None:
    from roadlink.fusion.gating import _DENSE_PAIRS, grid_pairs, near_pairs

    rng = np.random.default_rng(5)
    centres, points = rng.uniform(0, 60, (30, 2)), rng.uniform(0, 60, (40, 2))
    assert len(centres) * len(points) <= _DENSE_PAIRS
    i, j = near_pairs(centres, points, 8.0)
    d2 = ((centres[:, None] - points[None]) ** 2).sum(axis=2)
    expected = set(zip(*np.nonzero(d2 <= 64.0), strict=True))
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == expected
    gi, gj = grid_pairs(centres, points, 8.0)
    assert expected <= set(zip(gi.tolist(), gj.tolist(), strict=True))
    many = rng.uniform(0, 600, (100, 2))
    big_i, big_j = near_pairs(many, many, 8.0)
    grid_i, grid_j = grid_pairs(many, many, 8.0)
    np.testing.assert_array_equal(big_i, grid_i)
    np.testing.assert_array_equal(big_j, grid_j)
    assert near_pairs(centres[:0], points, 8.0)[0].shape == (0,)

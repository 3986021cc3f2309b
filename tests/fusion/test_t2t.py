"""Covariance intersection: consistency, trace optimality, and the partial-observation form."""

from __future__ import annotations

import numpy as np
import pytest

from roadlink.fusion import CovarianceIntersectionFuser, covariance_intersection
from roadlink.fusion.t2t import (
    TrackLinks,
    _small_covariance_intersection,
    partial_covariance_intersection,
    trace_polynomials,
)


def _pairs(rng: np.random.Generator, count: int) -> tuple[np.ndarray, ...]:
    def spd() -> np.ndarray:
        a = rng.normal(size=(count, 4, 4)) * rng.uniform(0.2, 2.0, (count, 1, 1))
        return np.asarray(a @ np.swapaxes(a, 1, 2) + 0.2 * np.eye(4))

    return rng.normal(size=(count, 4)), spd(), rng.normal(size=(count, 4)), spd()


def _psd(matrices: np.ndarray, scale: np.ndarray) -> None:
    eigenvalues = np.linalg.eigvalsh(0.5 * (matrices + np.swapaxes(matrices, 1, 2)))
    assert (eigenvalues >= -1e-8 * scale[:, None]).all()


def test_ci_is_consistent_and_never_worse_than_either_input() -> None:
    x_a, p_a, x_b, p_b = _pairs(np.random.default_rng(11), 400)
    result = covariance_intersection(x_a, p_a, x_b, p_b)
    omega = result.omega[:, None, None]
    assert ((result.omega >= 0) & (result.omega <= 1)).all()
    info = np.linalg.inv(result.covs)
    info_a, info_b = np.linalg.inv(p_a), np.linalg.inv(p_b)
    scale = np.abs(info).max(axis=(1, 2))
    _psd(info - omega * info_a, scale)  # P_ci^-1 >= w Pa^-1
    _psd(info - (1 - omega) * info_b, scale)
    np.testing.assert_allclose(info, omega * info_a + (1 - omega) * info_b, rtol=1e-6, atol=1e-8)
    mean = np.einsum("nij,nj->ni", result.covs, np.einsum("nij,nj->ni", omega * info_a, x_a))
    mean += np.einsum("nij,nj->ni", result.covs, np.einsum("nij,nj->ni", (1 - omega) * info_b, x_b))
    np.testing.assert_allclose(result.states, mean, atol=1e-8)
    trace = np.trace(result.covs, axis1=1, axis2=2)
    assert (trace <= np.minimum(np.trace(p_a, axis1=1, axis2=2), np.trace(p_b, axis1=1, axis2=2)) + 1e-9).all()


def test_ci_minimizes_the_trace() -> None:
    x_a, p_a, x_b, p_b = _pairs(np.random.default_rng(12), 300)
    result = covariance_intersection(x_a, p_a, x_b, p_b)
    grid = np.linspace(0.0, 1.0, 1001)
    info_a, info_b = np.linalg.inv(p_a), np.linalg.inv(p_b)
    traces = np.stack([np.trace(np.linalg.inv(w * info_a + (1 - w) * info_b), axis1=1, axis2=2) for w in grid])
    got = np.trace(result.covs, axis1=1, axis2=2)
    assert (got <= traces.min(axis=0) * (1 + 1e-6)).all()


def test_trace_polynomials_reproduce_the_trace() -> None:
    _, p_a, _, p_b = _pairs(np.random.default_rng(13), 50)
    p, q = trace_polynomials(p_a, p_b)
    for w in (0.0, 0.3, 0.8, 1.0):
        expected = np.trace(np.linalg.inv(w * np.linalg.inv(p_a) + (1 - w) * np.linalg.inv(p_b)), axis1=1, axis2=2)
        value = np.polynomial.polynomial.polyval(w, p.T, tensor=False) / np.polynomial.polynomial.polyval(
            w, q.T, tensor=False
        )
        np.testing.assert_allclose(value, expected, rtol=1e-7)


def test_ci_of_identical_estimates_is_the_estimate() -> None:
    x_a, p_a, _, _ = _pairs(np.random.default_rng(14), 20)
    result = covariance_intersection(x_a, p_a, x_a.copy(), p_a.copy())
    np.testing.assert_allclose(result.states, x_a, atol=1e-9)
    np.testing.assert_allclose(result.covs, p_a, rtol=1e-8, atol=1e-10)


def test_partial_ci_with_position_only_estimates() -> None:
    x_a, p_a, z, p_b = _pairs(np.random.default_rng(15), 200)
    r = p_b[:, :2, :2]
    result = partial_covariance_intersection(x_a, p_a, z[:, :2], r)
    h = np.hstack([np.eye(2), np.zeros((2, 2))])
    omega = result.omega[:, None, None]
    info_b = h.T @ np.linalg.inv(r) @ h
    expected = np.linalg.inv(omega * np.linalg.inv(p_a) + (1 - omega) * info_b)
    np.testing.assert_allclose(result.covs, expected, rtol=1e-6, atol=1e-9)
    assert (np.trace(result.covs, axis1=1, axis2=2) <= np.trace(p_a, axis1=1, axis2=2) + 1e-9).all()
    assert (result.omega > 0).all()


def test_fuser_dispatches_on_velocity() -> None:
    x_a, p_a, x_b, p_b = _pairs(np.random.default_rng(16), 10)
    has_velocity = np.arange(10) % 2 == 0
    states, covs = CovarianceIntersectionFuser().fuse(x_a, p_a, x_b, p_b, has_velocity)
    full = covariance_intersection(x_a[has_velocity], p_a[has_velocity], x_b[has_velocity], p_b[has_velocity])
    np.testing.assert_allclose(states[has_velocity], full.states)
    partial = partial_covariance_intersection(
        x_a[~has_velocity], p_a[~has_velocity], x_b[~has_velocity, :2], p_b[~has_velocity, :2, :2]
    )
    np.testing.assert_allclose(covs[~has_velocity], partial.covs)


@pytest.mark.parametrize("count", [0, 1])
def test_small_batches(count: int) -> None:
    x_a, p_a, x_b, p_b = _pairs(np.random.default_rng(17), count)
    assert covariance_intersection(x_a, p_a, x_b, p_b).states.shape == (count, 4)


def test_track_links_record_lookup_and_forget() -> None:
    links = TrackLinks(memory_ms=1000)
    keys = TrackLinks.keys(np.array([0, 0, 1, -1]), np.array([7, 8, 7, 7]))
    assert keys[3] == -1
    assert len(set(keys[:3].tolist())) == 3
    links.record(keys, np.array([11, 12, 13, 14], dtype=np.uint64), np.array([100, 100, 100, 100]))
    assert len(links) == 3
    assert links.lookup(keys).tolist() == [11, 12, 13, 0]
    links.record(keys[:1], np.array([21], dtype=np.uint64), np.array([1500]))
    assert links.lookup(keys[:2]).tolist() == [21, 12]
    links.forget_before(1600)
    assert links.lookup(keys).tolist() == [21, 0, 0, 0]


def test_trace_minimizing_weight_of_small_and_boundary_batches() -> None:
    # The node search, parabola and Newton steps give the optimum for one pair, and the ends when one
    # estimate dominates (w = 1: b adds nothing; w = 0: a adds nothing).
    x_a, p_a, x_b, p_b = _pairs(np.random.default_rng(21), 1)
    single = covariance_intersection(x_a, p_a, x_b, p_b)
    grid = np.linspace(0.0, 1.0, 2001)
    info_a, info_b = np.linalg.inv(p_a[0]), np.linalg.inv(p_b[0])
    best = min(np.trace(np.linalg.inv(w * info_a + (1 - w) * info_b)) for w in grid)
    assert np.trace(single.covs[0]) <= best * (1 + 1e-9)
    tight, loose = np.eye(4)[None] * 0.01, np.eye(4)[None] * 100.0
    assert covariance_intersection(x_a, tight, x_b, loose).omega.tolist() == [1.0]
    assert covariance_intersection(x_a, loose, x_b, tight).omega.tolist() == [0.0]


def test_small_batch_path_matches_the_polynomial_path() -> None:
    """Fewer than 16 pairs take the few-call path; its weight is the trace minimizer as well (to ~1e-7)."""
    from roadlink.fusion.t2t import _SMALL_BATCH, _small_covariance_intersection

    x_a, p_a, x_b, p_b = _pairs(np.random.default_rng(23), 12)
    small = _small_covariance_intersection(x_a, p_a, x_b, p_b)
    doubled = [np.concatenate([v, v]) for v in (x_a, p_a, x_b, p_b)]
    assert len(doubled[0]) >= _SMALL_BATCH > len(x_a)
    reference = covariance_intersection(doubled[0], doubled[1], doubled[2], doubled[3])
    trace_small = np.trace(small.covs, axis1=1, axis2=2)
    trace_reference = np.trace(reference.covs[:12], axis1=1, axis2=2)
    assert (trace_small <= trace_reference * (1 + 1e-7)).all()
    np.testing.assert_allclose(small.omega, reference.omega[:12], atol=1e-3)
    info = np.linalg.inv(small.covs)
    omega = small.omega[:, None, None]
    expected = omega * np.linalg.inv(p_a) + (1 - omega) * np.linalg.inv(p_b)
    np.testing.assert_allclose(info, expected, rtol=1e-6, atol=1e-8)
    mean = np.einsum("nij,nj->ni", small.covs, np.einsum("nij,nj->ni", omega * np.linalg.inv(p_a), x_a))
    mean += np.einsum("nij,nj->ni", small.covs, np.einsum("nij,nj->ni", (1 - omega) * np.linalg.inv(p_b), x_b))
    np.testing.assert_allclose(small.states, mean, atol=1e-8)


@pytest.mark.parametrize("count", [1, 3, 8, 33, 127])
def test_eigenbasis_path_matches_the_polynomial_path(count: int) -> None:
    """Batches of 1..127 pairs take the joint-eigenbasis path: the same CI, with the trace minimizer.

    One secant and one Newton step leave the trace up to ~1e-8 (relative) above its minimum on random pairs
    (8e-9 worst of 4,000), hence the tolerance; on the SUMO scene's pairs it is below 1e-11.
    """
    from roadlink.fusion.t2t import _EIGEN_BATCH, _eigen_covariance_intersection

    assert _EIGEN_BATCH[0] <= count < _EIGEN_BATCH[1]
    x_a, p_a, x_b, p_b = _pairs(np.random.default_rng(31 + count), count)
    eigen = covariance_intersection(x_a, p_a, x_b, p_b)
    np.testing.assert_array_equal(eigen.covs, _eigen_covariance_intersection(x_a, p_a, x_b, p_b).covs)
    copies = -(-_EIGEN_BATCH[1] // count)
    repeated = [np.concatenate([v] * copies) for v in (x_a, p_a, x_b, p_b)]
    reference = covariance_intersection(repeated[0], repeated[1], repeated[2], repeated[3])  # the polynomial path
    trace = np.trace(eigen.covs, axis1=1, axis2=2)
    assert (trace <= np.trace(reference.covs[:count], axis1=1, axis2=2) * (1 + 1e-8)).all()
    np.testing.assert_allclose(eigen.omega, reference.omega[:count], atol=1e-4)
    np.testing.assert_allclose(eigen.states, reference.states[:count], atol=1e-4)
    omega = eigen.omega[:, None, None]
    expected = omega * np.linalg.inv(p_a) + (1 - omega) * np.linalg.inv(p_b)
    np.testing.assert_allclose(np.linalg.inv(eigen.covs), expected, rtol=1e-6, atol=1e-8)
    tight, loose = np.eye(4)[None] * 0.01, np.eye(4)[None] * 100.0
    ends = _eigen_covariance_intersection(
        x_a[:2], np.concatenate([tight, loose]), x_b[:2], np.concatenate([loose, tight])
    )
    assert ends.omega.tolist() == [1.0, 0.0]


def test_ci_falls_back_when_a_covariance_is_not_positive_definite() -> None:
    x_a, p_a, x_b, p_b = _pairs(np.random.default_rng(41), 10)
    p_a[3] = np.diag([1.0, 1.0, 1.0, -1e-3])  # invertible, not positive definite: no Cholesky factor
    result = covariance_intersection(x_a, p_a, x_b, p_b)
    assert np.isfinite(result.states).all()
    # The rows before the bad one match the few-call path alone (3-pair batches otherwise take the eigenbasis path).
    np.testing.assert_allclose(
        result.states[:3], _small_covariance_intersection(x_a[:3], p_a[:3], x_b[:3], p_b[:3]).states
    )

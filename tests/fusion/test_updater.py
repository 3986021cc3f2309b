"""Kalman update (Joseph form) against hand-computed cases."""

from __future__ import annotations

import numpy as np

from roadlink.fusion import KalmanUpdater
from roadlink.fusion.updater import joseph_update


def test_position_update_matches_one_dimensional_hand_computation() -> None:
    # Each axis is an independent 1-D constant-velocity filter: P = [[p, c], [c, v]] per axis.
    p, c, v, r = 4.0, 1.0, 2.0, 1.0
    cov = np.zeros((1, 4, 4))
    cov[0][np.ix_([0, 2], [0, 2])] = [[p, c], [c, v]]
    cov[0][np.ix_([1, 3], [1, 3])] = [[p, c], [c, v]]
    state = np.array([[10.0, 20.0, 1.0, -1.0]])
    z = np.array([[12.0, 19.0]])
    updated, updated_cov = KalmanUpdater().update_position(state, cov, z, np.eye(2)[None] * r)
    gain_p, gain_v = p / (p + r), c / (p + r)  # 0.8, 0.2
    np.testing.assert_allclose(updated[0], [10 + gain_p * 2, 20 - gain_p * 1, 1 + gain_v * 2, -1 - gain_v * 1])
    axis = [[p * r / (p + r), c * r / (p + r)], [c * r / (p + r), v - c * c / (p + r)]]
    np.testing.assert_allclose(updated_cov[0][np.ix_([0, 2], [0, 2])], axis)
    np.testing.assert_allclose(updated_cov[0][np.ix_([1, 3], [1, 3])], axis)
    assert updated_cov[0, 0, 1] == 0.0


def test_joseph_form_equals_standard_form_and_stays_symmetric() -> None:
    rng = np.random.default_rng(4)
    a = rng.normal(size=(30, 4, 4))
    cov = a @ np.swapaxes(a, 1, 2) + 0.1 * np.eye(4)
    b = rng.normal(size=(30, 4, 4))
    r = b @ np.swapaxes(b, 1, 2) + 0.1 * np.eye(4)
    state, z = rng.normal(size=(30, 4)), rng.normal(size=(30, 4))
    updated, updated_cov = joseph_update(state, cov, z, r)
    gain = cov @ np.linalg.inv(cov + r)
    np.testing.assert_allclose(updated, state + np.einsum("nij,nj->ni", gain, z - state), atol=1e-9)
    np.testing.assert_allclose(updated_cov, cov - gain @ cov, atol=1e-9)
    assert np.array_equal(updated_cov, np.swapaxes(updated_cov, 1, 2))
    assert (np.linalg.eigvalsh(updated_cov) > 0).all()
    full, full_cov = KalmanUpdater().update_state(state, cov, z, r)
    np.testing.assert_array_equal(full, updated)
    np.testing.assert_array_equal(full_cov, updated_cov)

"""Kalman update of predicted tracks with independent measurements, in Joseph form, vectorized over pairs.

Two linear measurement models on the state ``[east_m, north_m, v_east_mps, v_north_mps]``:

- position: ``z = [east_m, north_m]``, ``H = [I 0]`` (raw detections, self-reports without speed);
- full state: ``z = [east_m, north_m, v_east_mps, v_north_mps]``, ``H = I`` (self-reports with speed and heading,
  radar detections with velocity).

The Joseph form ``P+ = (I - K H) P (I - K H)^T + K R K^T`` keeps ``P+`` symmetric positive semi-definite
under rounding, unlike ``(I - K H) P``. RSU object lists are not measurements in this sense; they are fused
by :mod:`roadlink.fusion.t2t`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from roadlink.fusion.matrices import FloatArray, inv2, invert4, symmetrize, transpose

__all__ = ["KalmanUpdater", "joseph_update"]


def joseph_update(states: FloatArray, covs: FloatArray, z: FloatArray, r: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Update E predicted states with measurements of their first ``k`` components (``k`` = 2 or 4).

    Args:
        states: ``(E, 4)`` predicted states.
        covs: ``(E, 4, 4)`` predicted covariances.
        z: ``(E, k)`` measurements (m, or m and m/s).
        r: ``(E, k, k)`` measurement noise covariances.

    Returns:
        Updated ``(states (E, 4), covariances (E, 4, 4))``.
    """
    k = z.shape[1]
    s = covs[:, :k, :k] + r
    s_inv = symmetrize(inv2(s)[0] if k == 2 else invert4(s))
    gain = covs[:, :, :k] @ s_inv
    updated = states + np.einsum("eij,ej->ei", gain, z - states[:, :k])
    a = np.broadcast_to(np.eye(4), covs.shape).copy()
    a[:, :, :k] -= gain
    cov = a @ covs @ transpose(a) + gain @ r @ transpose(gain)
    return updated, symmetrize(cov)


@dataclass(frozen=True, slots=True)
class KalmanUpdater:
    """The Kalman update role (stateless)."""

    def update_position(
        self, states: FloatArray, covs: FloatArray, positions_m: FloatArray, r: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Update with position measurements ``(E, 2)`` m and covariances ``(E, 2, 2)`` m^2."""
        return joseph_update(states, covs, positions_m, r)

    def update_state(
        self, states: FloatArray, covs: FloatArray, measured: FloatArray, r: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Update with position-and-velocity measurements ``(E, 4)`` and covariances ``(E, 4, 4)``."""
        return joseph_update(states, covs, measured, r)

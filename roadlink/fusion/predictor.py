"""Kalman prediction of track states to arbitrary per-track times, vectorized over batches."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from roadlink.fusion.matrices import FloatArray
from roadlink.fusion.motion import MotionModel, default_motion, predict_position, predict_state
from roadlink.fusion.state import IntArray

__all__ = ["KalmanPredictor", "interval_s"]

_MS_PER_S = 1000.0


def interval_s(to_ms: IntArray | int, from_ms: IntArray) -> FloatArray:
    """Seconds from ``from_ms`` to ``to_ms`` (unix ms, broadcast), as float64 ``(N,)``."""
    return np.asarray((np.asarray(to_ms, dtype=np.int64) - from_ms) / _MS_PER_S, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class KalmanPredictor:
    """Predicts with the linear CV transition and the process noise of ``motion`` (see :mod:`.motion`)."""

    motion: MotionModel = field(default_factory=default_motion)

    def psd(self, states: FloatArray, object_class: IntArray) -> FloatArray:
        """Acceleration noise PSD ``(N, 2, 2)`` m^2/s^3 for states ``(N, 4)`` and classes ``(N,)``."""
        return self.motion.acceleration_psd(states, object_class)

    def predict(
        self,
        states: FloatArray,
        covs: FloatArray,
        dt_s: FloatArray,
        object_class: IntArray,
        psd: FloatArray | None = None,
    ) -> tuple[FloatArray, FloatArray]:
        """Predict states ``(N, 4)`` and covariances ``(N, 4, 4)`` over intervals ``dt_s`` ``(N,)`` seconds.

        Args:
            psd: The tracks' PSDs ``(N, 2, 2)`` if already known (see :meth:`psd`); computed otherwise.

        Returns:
            ``(states (N, 4), covariances (N, 4, 4))``; covariances are symmetrized.
        """
        noise = self.psd(states, object_class) if psd is None else psd
        return predict_state(states, covs, dt_s, noise)  # exactly symmetric

    def predict_position(
        self, states: FloatArray, covs: FloatArray, dt_s: FloatArray, psd: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Predicted positions ``(N, 2)`` m and their covariances ``(N, 2, 2)`` m^2, given PSDs ``(N, 2, 2)``."""
        return predict_position(states, covs, dt_s, psd)

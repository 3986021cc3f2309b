"""Track deletion: after too many missed steps, or when the position has become too uncertain."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from roadlink.fusion.matrices import FloatArray, lambda_max2
from roadlink.fusion.state import BoolArray, TrackTable

__all__ = ["MissOrCovarianceDeleter"]


@dataclass(frozen=True, slots=True)
class MissOrCovarianceDeleter:
    """Delete a track after ``max_misses`` consecutive missed steps, once the standard deviation of its
    position along its worst axis exceeds ``max_position_std_m`` (metres), or when it has not been updated
    for more than ``max_coast_ms``.

    A step counts as a miss for a track only if the step processed some detections but none for that
    track, so a pause of every source does not age tracks by steps; the coast limit and the covariance
    test (on the track predicted to the current time) cover that case whatever the step rate.
    """

    max_misses: int = 5
    max_position_std_m: float = 5.0
    max_coast_ms: int = 1500

    def to_delete(self, table: TrackTable, position_covs: FloatArray, now_ms: int) -> BoolArray:
        """``(N,)`` tracks to delete at ``now_ms``, given their position covariances ``(N, 2, 2)`` (m^2) at now."""
        too_vague = lambda_max2(position_covs) > self.max_position_std_m**2
        stale = now_ms - table.last_update_ms > self.max_coast_ms
        return np.asarray((table.misses >= self.max_misses) | too_vague | stale)

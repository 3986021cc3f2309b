"""Track deletion: after too many missed steps for the track's detection rate, or when the position has
become too uncertain, or after too long without any update."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from roadlink.fusion.matrices import FloatArray, lambda_max2
from roadlink.fusion.state import BoolArray, IntArray, TrackTable

__all__ = ["MissOrCovarianceDeleter"]

_HISTORY_BITS = 32


@dataclass(frozen=True, slots=True)
class MissOrCovarianceDeleter:
    """Delete a track after a run of consecutive missed steps that is unlikely for its own detection rate,
    once the standard deviation of its position along its worst axis exceeds ``max_position_std_m``
    (metres), or when it has not been updated for more than ``max_coast_ms``.

    The miss limit adapts to the track: its detection rate ``r`` is estimated from its hit history (the
    latest 32 steps before the current run of misses, with one hit and one miss as a prior), and the track
    is deleted after ``k`` misses where ``(1 - r)^k <= miss_probability``, bounded to
    ``[min_misses, max_misses]``. A car that its RSU reports 19 times in 20 goes after 3 misses (so a ghost
    track whose RSU dropped it, or a car that left the coverage, stops being output 0.2 s earlier); a
    pedestrian that a radar reports every other frame goes at the 9th, instead of being deleted and restarted
    under a new id several times a minute.

    A step counts as a miss for a track only if the step processed some detections but none for that
    track, so a pause of every source does not age tracks by steps; the coast limit and the covariance
    test (on the track predicted to the current time) cover that case whatever the step rate.
    """

    max_misses: int = 10
    max_position_std_m: float = 5.0
    max_coast_ms: int = 1500
    min_misses: int = 3
    miss_probability: float = 0.002

    def to_delete(self, table: TrackTable, position_covs: FloatArray, now_ms: int) -> BoolArray:
        """``(N,)`` tracks to delete at ``now_ms``, given their position covariances ``(N, 2, 2)`` (m^2) at now."""
        too_vague = lambda_max2(position_covs) > self.max_position_std_m**2
        stale = now_ms - table.last_update_ms > self.max_coast_ms
        return np.asarray((table.misses >= self.miss_limits(table)) | too_vague | stale)

    def miss_limits(self, table: TrackTable) -> IntArray:
        """``(N,)`` consecutive misses after which each track is deleted (class docstring)."""
        looked = np.maximum(np.minimum(table.age_steps, _HISTORY_BITS) - table.misses, 0)
        hits = np.bitwise_count(table.hit_history).astype(np.float64)
        rate = np.clip((hits + 1.0) / (looked + 2.0), 0.01, 0.99)
        limit = np.ceil(math.log(self.miss_probability) / np.log1p(-rate))
        return np.asarray(np.clip(limit, min(self.min_misses, self.max_misses), self.max_misses), dtype=np.int64)

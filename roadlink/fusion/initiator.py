"""Track initiation: new tentative tracks from unassigned detections, confirmed by an M-of-N test.

A track is confirmed once it was hit (updated by at least one detection) in ``m`` of its latest ``n``
tracker steps, counting the step that created it. A tentative track that has fewer than ``m`` hits in its
latest ``n`` steps once it is ``n`` steps old has failed and is removed by the tracker.

The tracker may hold back tracks that pass the test (``awaiting`` in :meth:`MOfNInitiator.record_step`):
those in the learned coverage of a source that has not reported them (:mod:`.coverage`), a sign of one
RSU's clutter, for at most ``corroboration_steps`` steps; a ghost rarely lives that long, and a real
object the other source cannot see (occluded, too small for its detector) is confirmed at the end.

A track that only one source has ever reported, and whose latest reported existence probability (the
source tracker's own confidence that the object is real: SDSM / CPM ``objectConfidence``) is below
``min_single_source_existence``, is held back too, while that holds and for at most
``existence_wait_steps`` steps: a single RSU's clutter track, where no other sensor can contradict it, is
confirmed only once its own tracker believes in it (a real object the source keeps reporting with little
confidence, e.g. a pedestrian a radar sees every other frame, is confirmed at the end of the wait).
Tracks without a reported existence probability (NaN) are confirmed by M-of-N alone.

Detections of the kinds in ``confirm_immediately`` (by default vehicle self-reports, which are
authenticated, identity-bearing and accurate) start confirmed tracks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from roadlink.fusion.detections import Detections, SourceKind
from roadlink.fusion.state import BoolArray, IntArray, TrackTable

__all__ = ["MOfNInitiator"]

_HISTORY_BITS = 32


@dataclass(frozen=True, slots=True)
class MOfNInitiator:
    """M-of-N confirmation (module docstring).

    Attributes:
        m, n: Hits required within the latest ``n`` steps; ``1 <= m <= n <= 32``.
        initial_velocity_std_mps: Velocity standard deviation (m/s, each axis) of a track started from a
            detection without velocity; its velocity starts at zero.
        confirm_immediately: Source kinds whose detections start confirmed tracks.
        corroboration_steps: Steps a tentative track may wait for a covering source that has not reported it.
        min_single_source_existence: Reported existence probability a track seen by one source only needs
            to be confirmed (module docstring); None disables the check.
        existence_wait_steps: Steps (from its creation) a track may be held back for a low existence probability.
    """

    m: int = 2
    n: int = 3
    initial_velocity_std_mps: float = 10.0
    confirm_immediately: frozenset[SourceKind] = frozenset({SourceKind.VEHICLE_SELF_REPORT})
    corroboration_steps: int = 25
    min_single_source_existence: float | None = 0.9
    existence_wait_steps: int = 40

    def __post_init__(self) -> None:
        """Validate ``m`` and ``n``."""
        if not 1 <= self.m <= self.n <= _HISTORY_BITS:
            raise ValueError(f"need 1 <= m <= n <= 32, got m={self.m}, n={self.n}")

    def initiate(
        self, table: TrackTable, detections: Detections, rows: IntArray, first_id: int, step: int, scan: int
    ) -> slice:
        """Append one tentative track per detection in ``rows`` ``(K,)``, with ids ``first_id ...``.

        Returns:
            The table rows of the new tracks.
        """
        states = np.concatenate([detections.positions_m[rows], detections.velocities_mps[rows]], axis=1)
        covs = detections.covariances[rows].copy()
        no_velocity = ~detections.has_velocity[rows]
        covs[no_velocity, :2, 2:] = 0.0
        covs[no_velocity, 2:, :2] = 0.0
        covs[no_velocity, 2:, 2:] = np.eye(2) * self.initial_velocity_std_mps**2
        times = detections.times_ms[rows]
        immediate = np.isin(detections.kinds[rows], [int(kind) for kind in self.confirm_immediately])
        return table.append(
            len(rows),
            ids=np.arange(first_id, first_id + len(rows), dtype=np.uint64),
            states=states,
            covs=covs,
            object_class=detections.object_class[rows],
            class_confidence=detections.class_confidence[rows],
            times_ms=times,
            first_seen_ms=times,
            last_update_ms=times,
            hits=np.ones(len(rows), np.int32),
            confirmed=immediate,
            last_step=np.full(len(rows), step, np.int64),
            last_scan=np.full(len(rows), scan, np.int64),
        )

    def record_step(self, table: TrackTable, hit: BoolArray, awaiting: BoolArray | None = None) -> None:
        """Close a tracker step: shift each track's hit history, count misses and confirm tracks.

        Args:
            table: All tracks.
            hit: ``(N,)`` whether each track was updated (or created) during the step.
            awaiting: ``(N,)`` tracks held back from confirmation in this step (module docstring).
        """
        table.hit_history[:] = (table.hit_history << np.uint32(1)) | hit.astype(np.uint32)
        table.misses[:] = np.where(hit, 0, table.misses + 1)
        table.age_steps[:] += 1
        passed = self._recent_hits(table) >= self.m
        if awaiting is not None:
            passed &= ~awaiting
        if self.min_single_source_existence is not None:
            passed &= ~self.doubted(table)
        table.confirmed[:] |= passed

    def doubted(self, table: TrackTable) -> BoolArray:
        """``(N,)`` tracks seen by one source only whose reported existence probability is below the threshold.

        NaN (never reported) compares False, so such tracks are never doubted.
        """
        threshold = self.min_single_source_existence
        if threshold is None:
            return np.zeros(len(table), dtype=bool)
        single = np.bitwise_count(table.sources_seen) <= 1
        young = table.age_steps < self.existence_wait_steps
        return np.asarray(single & young & (table.existence_probability < threshold))

    def failed(self, table: TrackTable) -> BoolArray:
        """``(N,)`` tentative tracks at least ``n`` steps old with fewer than ``m`` hits in their latest ``n``."""
        return np.asarray(~table.confirmed & (table.age_steps >= self.n) & (self._recent_hits(table) < self.m))

    def _recent_hits(self, table: TrackTable) -> IntArray:
        """``(N,)`` hits within the latest ``n`` steps."""
        return _popcount(table.hit_history & np.uint32((1 << self.n) - 1))


def _popcount(values: np.ndarray[tuple[int], np.dtype[np.uint32]]) -> IntArray:
    """Set bits of each ``uint32``, ``(N,) -> (N,)``."""
    return np.asarray(np.bitwise_count(values), dtype=np.int64)

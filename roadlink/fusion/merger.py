"""Duplicate suppression: merge two tracks of the tile that describe the same object.

Duplicates arise when two sources start tracks for one object in the same step and their first
estimates are too far apart to gate (a biased RSU, a vehicle's GNSS antenna offset), or at tile handover.
Two tracks are merged when, predicted to the same time, their full states differ by a squared
Mahalanobis distance (4 degrees of freedom, covariance ``Pi + Pj``) below the chi-square quantile of
``probability``, and their positions by at most ``max_distance_m``. Pairs are never merged when one scan
updated both (one sensor saw two objects) or when they carry different vehicle ids. Each track merges with
at most its mutual nearest candidate per step.

The survivor keeps the older id (or the one carrying a vehicle id), and takes the covariance intersection
of the two states: their errors are correlated, having shared sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from roadlink.fusion.gating import chi2_threshold, near_pairs
from roadlink.fusion.matrices import FloatArray, invert4
from roadlink.fusion.predictor import KalmanPredictor, interval_s
from roadlink.fusion.state import NO_VEHICLE_ID, BoolArray, IntArray, TrackTable
from roadlink.fusion.t2t import covariance_intersection

__all__ = ["DuplicateMerger"]


@dataclass(frozen=True, slots=True)
class DuplicateMerger:
    """The duplicate-merging role (module docstring)."""

    probability: float = 0.5
    max_distance_m: float = 2.0
    threshold: float = field(init=False)

    def __post_init__(self) -> None:
        """Compute the 4-dof chi-square threshold once."""
        object.__setattr__(self, "threshold", chi2_threshold(self.probability, dof=4))

    def merge(self, table: TrackTable, predictor: KalmanPredictor, time_ms: int) -> int:
        """Merge duplicate pairs of ``table`` in place, at ``time_ms`` (unix ms); return how many tracks went."""
        pairs = self._pairs(table, predictor, time_ms)
        if pairs is None:
            return 0
        keep_first = _first_survives(table, pairs.first, pairs.second)
        swap = ~keep_first
        survivor = np.where(keep_first, pairs.first, pairs.second)
        absorbed = np.where(keep_first, pairs.second, pairs.first)
        fused = covariance_intersection(
            np.where(swap[:, None], pairs.second_states, pairs.first_states),
            np.where(swap[:, None, None], pairs.second_covs, pairs.first_covs),
            np.where(swap[:, None], pairs.first_states, pairs.second_states),
            np.where(swap[:, None, None], pairs.first_covs, pairs.second_covs),
        )
        _absorb(table, survivor, absorbed)
        table.states[survivor], table.covs[survivor] = fused.states, fused.covs
        table.times_ms[survivor] = time_ms
        gone = np.zeros(len(table), dtype=bool)
        gone[absorbed] = True
        table.keep(~gone)
        return len(absorbed)

    def _pairs(self, table: TrackTable, predictor: KalmanPredictor, time_ms: int) -> _Pairs | None:
        """Mutually nearest duplicate pairs, with both tracks predicted to ``time_ms``."""
        if len(table) < 2:
            return None
        dt_s = interval_s(time_ms, table.times_ms)
        positions = table.states[:, :2] + table.states[:, 2:] * dt_s[:, None]
        i, j = near_pairs(positions, positions, self.max_distance_m)
        allowed = (i < j) & _may_be_same(table, i, j)
        i, j = i[allowed], j[allowed]
        close = (
            np.einsum("ei,ei->e", positions[i] - positions[j], positions[i] - positions[j]) <= self.max_distance_m**2
        )
        i, j = i[close], j[close]
        if not len(i):
            return None
        rows = np.concatenate([i, j])
        states, covs = predictor.predict(
            table.states[rows], table.covs[rows], dt_s[rows], table.object_class[rows].astype(np.int64)
        )
        delta = states[: len(i)] - states[len(i) :]
        distance2 = np.einsum("ei,eij,ej->e", delta, invert4(covs[: len(i)] + covs[len(i) :]), delta)
        gated = np.flatnonzero(distance2 <= self.threshold)
        if not len(gated):
            return None
        mutual = gated[_mutual_nearest(len(table), i[gated], j[gated], distance2[gated])]
        second = mutual + len(i)
        return _Pairs(i[mutual], j[mutual], states[mutual], covs[mutual], states[second], covs[second])


@dataclass(frozen=True, slots=True)
class _Pairs:
    """Duplicate pairs ``(first, second)`` (table rows, ``(K,)``) and both tracks predicted to a common time."""

    first: IntArray
    second: IntArray
    first_states: FloatArray
    first_covs: FloatArray
    second_states: FloatArray
    second_covs: FloatArray


def _may_be_same(table: TrackTable, i: IntArray, j: IntArray) -> BoolArray:
    """Pairs not updated by one scan and without two different vehicle ids."""
    scan_i, scan_j = table.last_scan[i], table.last_scan[j]
    vid_i, vid_j = table.vehicle_ids[i], table.vehicle_ids[j]
    distinct_ids = (vid_i != NO_VEHICLE_ID) & (vid_j != NO_VEHICLE_ID) & (vid_i != vid_j)
    return np.asarray((scan_i != scan_j) & ~distinct_ids)


def _mutual_nearest(n: int, i: IntArray, j: IntArray, distance2: np.ndarray) -> BoolArray:
    """Pairs whose two tracks are each other's nearest candidate."""
    a, b, d = np.concatenate([i, j]), np.concatenate([j, i]), np.concatenate([distance2, distance2])
    order = np.lexsort((d, a))
    first = np.ones(len(order), dtype=bool)
    first[1:] = a[order][1:] != a[order][:-1]
    nearest = np.full(n, -1, dtype=np.int64)
    nearest[a[order][first]] = b[order][first]
    return np.asarray((nearest[i] == j) & (nearest[j] == i))


def _first_survives(table: TrackTable, first: IntArray, second: IntArray) -> BoolArray:
    """The survivor carries the vehicle id if only one does; otherwise it is the older track."""
    has_first = table.vehicle_ids[first] != NO_VEHICLE_ID
    has_second = table.vehicle_ids[second] != NO_VEHICLE_ID
    seen_first, seen_second = table.first_seen_ms[first], table.first_seen_ms[second]
    older_first = (seen_first < seen_second) | ((seen_first == seen_second) & (table.ids[first] < table.ids[second]))
    return np.asarray(np.where(has_first != has_second, has_first, older_first))


def _absorb(table: TrackTable, survivor: IntArray, absorbed: IntArray) -> None:
    """Move the bookkeeping of ``absorbed`` rows into ``survivor`` rows (states are set by the caller)."""
    table.vehicle_ids[survivor] = np.where(
        table.vehicle_ids[survivor] != NO_VEHICLE_ID, table.vehicle_ids[survivor], table.vehicle_ids[absorbed]
    )
    table.self_report_ms[survivor] = np.maximum(table.self_report_ms[survivor], table.self_report_ms[absorbed])
    take_class = table.class_confidence[absorbed] > table.class_confidence[survivor]
    table.object_class[survivor] = np.where(take_class, table.object_class[absorbed], table.object_class[survivor])
    table.class_confidence[survivor] = np.maximum(table.class_confidence[survivor], table.class_confidence[absorbed])
    table.first_seen_ms[survivor] = np.minimum(table.first_seen_ms[survivor], table.first_seen_ms[absorbed])
    table.last_update_ms[survivor] = np.maximum(table.last_update_ms[survivor], table.last_update_ms[absorbed])
    table.hits[survivor] += table.hits[absorbed]
    table.misses[survivor] = np.minimum(table.misses[survivor], table.misses[absorbed])
    table.hit_history[survivor] |= table.hit_history[absorbed]
    table.confirmed[survivor] |= table.confirmed[absorbed]
    table.source_mask[survivor] |= table.source_mask[absorbed]
    table.source_mask_prev[survivor] |= table.source_mask_prev[absorbed]
    table.sources_seen[survivor] |= table.sources_seen[absorbed]
    table.last_step[survivor] = np.maximum(table.last_step[survivor], table.last_step[absorbed])
    table.last_scan[survivor] = np.maximum(table.last_scan[survivor], table.last_scan[absorbed])
    table.age_steps[survivor] = np.maximum(table.age_steps[survivor], table.age_steps[absorbed])

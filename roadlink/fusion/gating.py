"""Hypothesising: which (track, detection) pairs may be the same object, by Mahalanobis gating.

A pair passes the gate when the squared Mahalanobis distance of the position innovation, with the track
predicted to the detection's own time, is at most the chi-square quantile of ``probability`` (2 degrees of
freedom), and the innovation is at most ``max_distance_m`` long.

Candidates come from a uniform grid over the detections, so the work grows with the local density, not
with N tracks times M detections. The grid is exact, not a heuristic: every track is placed at its
prediction to a reference time, and the cell size is a proven upper bound of how far a passing detection
can be from that point (the gate radius ``sqrt(gate * trace(S))`` capped by ``max_distance_m``, plus the
drift ``speed * |t_detection - t_reference|``), so each passing pair lies in the 3x3 cells around its
track. The few tracks whose bound exceeds twice the median (very uncertain ones) are paired with every
detection instead of inflating the cell for everyone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from roadlink.fusion.detections import Detections
from roadlink.fusion.matrices import FloatArray
from roadlink.fusion.predictor import KalmanPredictor, interval_s
from roadlink.fusion.state import IntArray, TrackTable

__all__ = ["Hypotheses", "MahalanobisGate", "all_pairs", "chi2_threshold", "grid_pairs"]

_NEIGHBOURS = np.array([(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)], dtype=np.int64)
_OUTLIER_FACTOR = 2.0
_MIN_CELL_M = 0.5


def chi2_threshold(probability: float, dof: int = 2) -> float:
    """The chi-square quantile: squared Mahalanobis distance that a true pair stays within with ``probability``."""
    if not 0.0 < probability < 1.0:
        raise ValueError(f"probability must be in (0, 1), got {probability}")
    return float(stats.chi2.ppf(probability, dof))


def _psd(table: TrackTable, rows: IntArray, predictor: KalmanPredictor, table_psd: FloatArray | None) -> FloatArray:
    """PSDs ``(K, 2, 2)`` of ``rows``: from ``table_psd`` if given, else computed."""
    if table_psd is not None:
        return np.asarray(table_psd[rows])
    return predictor.psd(table.states[rows], table.object_class[rows].astype(np.int64))


def _empty_pairs() -> tuple[IntArray, IntArray]:
    return np.zeros(0, np.int64), np.zeros(0, np.int64)


def all_pairs(n: int, m: int) -> tuple[IntArray, IntArray]:
    """Every pair ``(i, j)`` for ``i < n``, ``j < m``: the brute-force candidate set, two ``(n*m,)`` arrays."""
    i, j = np.divmod(np.arange(n * m, dtype=np.int64), m)
    return i, j


def grid_pairs(centres_m: FloatArray, points_m: FloatArray, cell_m: float) -> tuple[IntArray, IntArray]:
    """Pairs ``(i, j)`` whose point ``j`` lies in the 3x3 grid cells around centre ``i``.

    Args:
        centres_m: ``(N, 2)`` metres.
        points_m: ``(M, 2)`` metres.
        cell_m: Cell side in metres; every point within ``cell_m`` of a centre is returned.

    Returns:
        Two ``(E,)`` int64 arrays: centre indices and point indices. O((N + M) log + E): the smaller set
        queries the 3x3 neighbourhoods of the larger one, which is bucketed by cell.
    """
    if not len(centres_m) or not len(points_m):
        return _empty_pairs()
    if len(centres_m) < len(points_m):
        point_index, centre_index = _grid_query(points_m, centres_m, cell_m)
        return centre_index, point_index
    return _grid_query(centres_m, points_m, cell_m)


_DENSE_PAIRS = 4096
"""Up to this many (centre, point) combinations :func:`near_pairs` tests them all at once (fewer numpy calls)."""


def near_pairs(centres_m: FloatArray, points_m: FloatArray, radius_m: float) -> tuple[IntArray, IntArray]:
    """Pairs ``(i, j)`` (``(E,)`` int64 each) that include every point ``j`` within ``radius_m`` of centre ``i``.

    Small sets (at most ``_DENSE_PAIRS`` combinations, the tracks and detections of a small scene) are
    compared all at once and only pairs within ``radius_m`` are returned; larger ones go through
    :func:`grid_pairs` (a superset: the 3x3 cells around each centre), whose cost grows with the density.
    """
    n, m = len(centres_m), len(points_m)
    if n * m > _DENSE_PAIRS or not n * m:
        return grid_pairs(centres_m, points_m, radius_m)
    delta = centres_m[:, None, :] - points_m[None, :, :]
    i, j = np.nonzero(np.einsum("ijk,ijk->ij", delta, delta) <= radius_m * radius_m)
    return i.astype(np.int64), j.astype(np.int64)


def _grid_query(bucketed_m: FloatArray, queries_m: FloatArray, cell_m: float) -> tuple[IntArray, IntArray]:
    """``(bucketed index, query index)`` pairs in neighbouring cells (see :func:`grid_pairs`)."""
    bucket_cells = np.floor(bucketed_m / cell_m).astype(np.int64)
    query_cells = np.floor(queries_m / cell_m).astype(np.int64)
    low = np.minimum(bucket_cells.min(axis=0), query_cells.min(axis=0)) - 1
    span_y = int(max(bucket_cells[:, 1].max(), query_cells[:, 1].max()) - low[1] + 2)
    bucket_keys = (bucket_cells[:, 0] - low[0]) * span_y + (bucket_cells[:, 1] - low[1])
    query_keys = (query_cells[:, 0] - low[0]) * span_y + (query_cells[:, 1] - low[1])
    order = np.argsort(bucket_keys)
    cells, start, counts = _run_lengths(bucket_keys[order])
    query_order = np.argsort(query_keys)
    # One row per neighbour offset, each sorted: cheap, cache-friendly binary searches.
    wanted = query_keys[query_order][None, :] + (_NEIGHBOURS[:, 0] * span_y + _NEIGHBOURS[:, 1])[:, None]
    slot = np.minimum(np.searchsorted(cells, wanted.ravel()), len(cells) - 1)
    hit = cells[slot] == wanted.ravel()
    slot, which = slot[hit], np.flatnonzero(hit) % len(query_order)
    count = counts[slot]
    first = np.repeat(start[slot] - (np.cumsum(count) - count), count)
    bucket_index = order[first + np.arange(int(count.sum()), dtype=np.int64)]
    return bucket_index, np.repeat(query_order[which], count)


def _run_lengths(sorted_keys: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Distinct values of a sorted array with the start and length of each run."""
    new = np.ones(len(sorted_keys), dtype=bool)
    new[1:] = sorted_keys[1:] != sorted_keys[:-1]
    start = np.flatnonzero(new)
    counts = np.diff(np.append(start, len(sorted_keys)))
    return sorted_keys[start], start, counts


@dataclass(frozen=True, slots=True)
class Hypotheses:
    """Scored (track, detection) pairs, E of them.

    Attributes:
        track_rows: ``(E,)`` rows of the track table.
        detection_rows: ``(E,)`` indices into the detections.
        distance2: ``(E,)`` squared Mahalanobis distance of the position innovation (dimensionless), the
            association cost.
        dt_s: ``(E,)`` seconds from the track's time to the detection's time.
        innovation2_m2: ``(E,)`` squared length of the position innovation (m^2).
    """

    track_rows: IntArray
    detection_rows: IntArray
    distance2: FloatArray
    dt_s: FloatArray
    innovation2_m2: FloatArray = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.track_rows)

    def take(self, index: IntArray) -> Hypotheses:
        """The pairs at ``index``."""
        innovation2 = self.innovation2_m2[index] if len(self.innovation2_m2) else self.innovation2_m2
        return Hypotheses(
            self.track_rows[index], self.detection_rows[index], self.distance2[index], self.dt_s[index], innovation2
        )

    @staticmethod
    def concatenate(parts: list[Hypotheses]) -> Hypotheses:
        """All pairs of ``parts``; where a (track, detection) pair repeats, the first occurrence is kept."""
        nonempty = [p for p in parts if len(p)]
        if len(nonempty) <= 1:
            return nonempty[0] if nonempty else parts[0]
        track_rows = np.concatenate([p.track_rows for p in nonempty])
        detection_rows = np.concatenate([p.detection_rows for p in nonempty])
        key = track_rows * (int(detection_rows.max()) + 1) + detection_rows
        first = np.sort(np.unique(key, return_index=True)[1])
        return Hypotheses(
            track_rows[first],
            detection_rows[first],
            np.concatenate([p.distance2 for p in nonempty])[first],
            np.concatenate([p.dt_s for p in nonempty])[first],
        )


@dataclass(frozen=True, slots=True)
class MahalanobisGate:
    """Chi-square gate on the position innovation, with a spatial grid for candidates (module docstring).

    Attributes:
        probability: Gate probability of a true pair (2 degrees of freedom).
        max_distance_m: Longest innovation (m) that may pass.
        link_probability: The wider gate for pairs already linked by identity (see :meth:`gate_linked`).
    """

    probability: float = 0.999
    max_distance_m: float = 10.0
    link_probability: float = 0.999999
    threshold: float = field(init=False)
    link_threshold: float = field(init=False)

    def __post_init__(self) -> None:
        """Compute the chi-square thresholds once."""
        if self.max_distance_m <= 0:
            raise ValueError("max_distance_m must be > 0")
        object.__setattr__(self, "threshold", chi2_threshold(self.probability))
        object.__setattr__(self, "link_threshold", max(chi2_threshold(self.link_probability), self.threshold))

    def hypothesise(
        self,
        table: TrackTable,
        detections: Detections,
        predictor: KalmanPredictor,
        track_rows: IntArray | None = None,
        spatial_index: bool = True,
        table_psd: FloatArray | None = None,
    ) -> Hypotheses:
        """Gated pairs between ``track_rows`` of ``table`` (default: all) and every detection.

        Args:
            table: The tracks.
            detections: The detections (any times; each pair is predicted to its detection's time).
            predictor: Supplies the process noise.
            track_rows: ``(K,)`` candidate rows, or None for all.
            spatial_index: False pairs every track with every detection (the brute-force reference).
            table_psd: The PSDs ``(N, 2, 2)`` of every track of ``table``, if already computed.
        """
        rows = np.arange(len(table), dtype=np.int64) if track_rows is None else track_rows
        if not len(rows) or not len(detections):
            return Hypotheses(*_empty_pairs(), np.zeros(0), np.zeros(0))
        states, covs, times = table.states[rows], table.covs[rows], table.times_ms[rows]
        psd = _psd(table, rows, predictor, table_psd)
        if spatial_index:
            local, det = self._grid_candidates(states, covs, times, psd, detections)
        else:
            local, det = all_pairs(len(rows), len(detections))
        scored = self._score(table, rows[local], detections, det, predictor, psd[local])
        return scored.take(np.flatnonzero(self._passes(scored, self.threshold)))

    def gate_linked(
        self,
        table: TrackTable,
        detections: Detections,
        predictor: KalmanPredictor,
        track_rows: IntArray,
        detection_rows: IntArray,
        table_psd: FloatArray | None = None,
    ) -> Hypotheses:
        """Score given pairs (a detection whose source track is already linked to a global track) with the
        wider ``link_threshold``, and rescale their distance onto the normal gate (multiply by
        ``threshold / link_threshold``) so that association prefers them."""
        if not len(track_rows):
            return Hypotheses(*_empty_pairs(), np.zeros(0), np.zeros(0))
        psd = _psd(table, track_rows, predictor, table_psd)
        scored = self._score(table, track_rows, detections, detection_rows, predictor, psd)
        linked = scored.take(np.flatnonzero(self._passes(scored, self.link_threshold)))
        scale = self.threshold / self.link_threshold
        return Hypotheses(linked.track_rows, linked.detection_rows, linked.distance2 * scale, linked.dt_s)

    def _passes(self, scored: Hypotheses, threshold: float) -> np.ndarray:
        return np.asarray((scored.distance2 <= threshold) & (scored.innovation2_m2 <= self.max_distance_m**2))

    @staticmethod
    def _score(
        table: TrackTable,
        track_rows: IntArray,
        detections: Detections,
        detection_rows: IntArray,
        predictor: KalmanPredictor,
        psd: FloatArray,
    ) -> Hypotheses:
        """All given pairs with their Mahalanobis distances (track predicted to the detection's time)."""
        times = table.times_ms[track_rows]
        dt_s = interval_s(detections.times_ms[detection_rows], times)
        position, cov = predictor.predict_position(table.states[track_rows], table.covs[track_rows], dt_s, psd)
        innovation = detections.positions_m[detection_rows] - position
        r = detections.covariances[detection_rows]
        s00, s01, s11 = cov[:, 0, 0] + r[:, 0, 0], cov[:, 0, 1] + r[:, 0, 1], cov[:, 1, 1] + r[:, 1, 1]
        e, n = innovation[:, 0], innovation[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            distance2 = (s11 * e * e - 2.0 * s01 * e * n + s00 * n * n) / (s00 * s11 - s01 * s01)
        return Hypotheses(track_rows, detection_rows, distance2, dt_s, e * e + n * n)

    def _grid_candidates(
        self, states: FloatArray, covs: FloatArray, times: IntArray, psd: FloatArray, detections: Detections
    ) -> tuple[IntArray, IntArray]:
        """Candidate (local track, detection) pairs from the grid, a superset of the gated pairs."""
        t_low, t_high = int(detections.times_ms.min()), int(detections.times_ms.max())
        t_ref = (t_low + t_high) // 2
        centres = states[:, :2] + states[:, 2:] * interval_s(t_ref, times)[:, None]
        reach = self._reach(states, covs, times, psd, detections, (t_low, t_ref, t_high))
        cell = max(min(float(reach.max()), _OUTLIER_FACTOR * float(np.median(reach))), _MIN_CELL_M)
        inside = np.flatnonzero(reach <= cell)
        local, det = near_pairs(centres[inside], detections.positions_m, cell)
        local = inside[local]
        outliers = np.flatnonzero(reach > cell)
        if len(outliers):
            extra_local, extra_det = all_pairs(len(outliers), len(detections))
            local = np.concatenate([local, outliers[extra_local]])
            det = np.concatenate([det, extra_det])
        return local, det

    def _reach(
        self,
        states: FloatArray,
        covs: FloatArray,
        times: IntArray,
        psd: FloatArray,
        detections: Detections,
        t_low_ref_high: tuple[int, int, int],
    ) -> FloatArray:
        """Per track, an upper bound (m) of the distance from its reference prediction to a passing detection."""
        t_low, t_ref, t_high = t_low_ref_high
        tr_pp = covs[:, 0, 0] + covs[:, 1, 1]
        tr_pv = covs[:, 0, 2] + covs[:, 1, 3]
        tr_vv = covs[:, 2, 2] + covs[:, 3, 3]
        tr_q = psd[:, 0, 0] + psd[:, 1, 1]

        def position_trace(dt: FloatArray) -> FloatArray:
            # Convex in dt, so its maximum over [dt_low, dt_high] is at an end.
            return np.asarray(tr_pp + 2.0 * dt * tr_pv + dt * dt * tr_vv + np.abs(dt) ** 3 / 3.0 * tr_q)

        trace_p = np.maximum(position_trace(interval_s(t_low, times)), position_trace(interval_s(t_high, times)))
        r = detections.covariances[:, :2, :2]
        trace_r = float((r[:, 0, 0] + r[:, 1, 1]).max())
        radius = np.minimum(np.sqrt(self.threshold * np.maximum(trace_p + trace_r, 0.0)), self.max_distance_m)
        speed = np.hypot(states[:, 2], states[:, 3])
        return np.asarray(radius + speed * max(t_high - t_ref, t_ref - t_low) / 1000.0 + 1e-6)

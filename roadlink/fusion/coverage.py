"""Where each source can see: a convex coverage learned from the positions it reports.

A ghost track of one RSU (clutter: its tracker locked on to reflections, vegetation, a shadow) looks
exactly like an object to the fusion node, except in one respect: where the fields of view of two RSUs
overlap, a real object is reported by both, a ghost by one. The tracker uses that negative information
when it confirms new tracks (see :class:`.initiator.MOfNInitiator` and :class:`.tracker.Tracker`): a
tentative track in the coverage of a source that has not reported it waits for that source.

The coverage of a source is the convex hull of the positions it has reported within the last
``memory_ms``, recomputed every ``refresh_ms``; of each batch and of each refresh interval only the extreme
points along 16 directions are kept (so the memory is at most 16 points per source and interval). RSU
fields of view (a lidar's disc, a radar's or a camera's sector) are convex; objects on the roads and the
clutter scattered over the field of view fill the hull in within seconds. A position counts as covered
when it lies at least ``margin_m`` inside the hull, so that an object entering a field of view is not held
back by the sensor whose border it crosses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from roadlink.fusion.matrices import FloatArray
from roadlink.fusion.state import IntArray

__all__ = ["LearnedCoverage"]

_MAX_SOURCE_BIT = 63
_MIN_HULL_POINTS = 3
_STASH_ROWS = 2048
"""Positions :meth:`LearnedCoverage.observe` may hold before splitting them by source (``(2048, 2)`` floats)."""
_DIRECTIONS = np.stack([np.cos(np.arange(16) * np.pi / 8), np.sin(np.arange(16) * np.pi / 8)], axis=1)


@dataclass(slots=True)
class _Hull:
    """One source's coverage: hull vertices ``(V, 2)``, facet equations ``(F, 3)`` (unit normal, offset;
    ``n . p + offset <= 0`` inside), the extreme positions of each refresh interval still remembered
    (``(time_ms, (K, 2))``) and the positions reported since the last refresh."""

    vertices: FloatArray = field(default_factory=lambda: np.zeros((0, 2)))
    equations: FloatArray = field(default_factory=lambda: np.zeros((0, 3)))
    chunks: list[tuple[int, FloatArray]] = field(default_factory=list)
    pending: list[FloatArray] = field(default_factory=list)


class LearnedCoverage:
    """Per tracker source (index 0-63, the bits of ``TrackTable.source_mask``), its learned convex coverage.

    Not thread-safe; owned by one tracker. Cost: one Qhull call per source and refresh (on at most 16
    points per remembered refresh interval), and ``(N, F)`` dot products per query.
    """

    def __init__(self, refresh_ms: int = 1000, margin_m: float = 5.0, memory_ms: int = 60_000) -> None:
        """Create an empty coverage (nothing is covered until a source has reported a hull's worth of points).

        Args:
            refresh_ms: How often (ms) the hulls are recomputed.
            margin_m: Depth (m) inside a hull from which a position counts as covered.
            memory_ms: How long (ms) a reported position shapes the hull: a wild outlier, or a sensor that was
                re-aimed, stops counting after that.
        """
        self.refresh_ms = refresh_ms
        self.margin_m = margin_m
        self.memory_ms = memory_ms
        self._hulls: dict[int, _Hull] = {}
        self._refreshed_ms: int | None = None
        self._stash: list[tuple[IntArray, FloatArray]] = []
        self._stashed = 0

    def observe(self, sources: IntArray, positions_m: FloatArray, now_ms: int) -> None:
        """Record reported positions ``(M, 2)`` of tracker sources ``(M,)`` (-1, a self-report, is ignored).

        Small batches (a small scene's step) are stashed and split by source together, at the next refresh
        or once ``_STASH_ROWS`` positions wait: the hulls only change at a refresh, and the extremes of the
        union of batches are the extremes of their extremes, so the coverage is the same.
        """
        self._stash.append((sources, positions_m))
        self._stashed += len(sources)
        refresh = self._refreshed_ms is None or now_ms - self._refreshed_ms >= self.refresh_ms
        if refresh or self._stashed >= _STASH_ROWS:
            self._split_stash()
        if refresh:
            self._refreshed_ms = now_ms
            for hull in self._hulls.values():
                _refresh(hull, now_ms, self.memory_ms)

    def _split_stash(self) -> None:
        """Add the extremes of the stashed positions of each source to its pending interval."""
        if len(self._stash) == 1:
            sources, positions_m = self._stash[0]
        else:
            sources = np.concatenate([batch[0] for batch in self._stash])
            positions_m = np.concatenate([batch[1] for batch in self._stash])
        self._stash, self._stashed = [], 0
        valid = (sources >= 0) & (sources <= _MAX_SOURCE_BIT)
        if valid.any():
            order = np.argsort(sources[valid], kind="stable")
            ordered, points = sources[valid][order], positions_m[valid][order]
            names, starts = np.unique(ordered, return_index=True)
            for source, part in zip(names.tolist(), np.split(points, starts[1:]), strict=True):
                self._hulls.setdefault(int(source), _Hull()).pending.append(_extremes(part))

    def covering(self, positions_m: FloatArray) -> np.ndarray[tuple[int], np.dtype[np.uint64]]:
        """``(N,) uint64``: bit s set where source s covers the position ``(N, 2)`` (at least ``margin_m`` inside)."""
        mask = np.zeros(len(positions_m), dtype=np.uint64)
        if not len(positions_m):
            return mask
        for source, hull in self._hulls.items():
            if not len(hull.equations):
                continue
            signed = positions_m @ hull.equations[:, :2].T + hull.equations[:, 2]
            inside = signed.max(axis=1) <= -self.margin_m
            mask[inside] |= np.uint64(1) << np.uint64(source)
        return mask

    def vertices(self, source: int) -> FloatArray:
        """The hull vertices ``(V, 2)`` of a source (empty before its first refresh)."""
        hull = self._hulls.get(source)
        return hull.vertices.copy() if hull is not None else np.zeros((0, 2))


def _extremes(points_m: FloatArray) -> FloatArray:
    """The points of ``(M, 2)`` farthest along each of 16 directions (at most 16 rows): their hull is within
    ``1 - cos(11.25 deg)``, 2 %, of the batch's hull, and a busy frame of thousands of objects adds 16 points."""
    if len(points_m) <= len(_DIRECTIONS):
        return points_m
    along = points_m[:, 0, None] * _DIRECTIONS[:, 0] + points_m[:, 1, None] * _DIRECTIONS[:, 1]
    return np.asarray(points_m[np.unique(np.argmax(along, axis=0))])


def _refresh(hull: _Hull, now_ms: int, memory_ms: int) -> None:
    """Close the pending interval, forget intervals older than ``memory_ms`` and recompute the hull."""
    if hull.pending:
        hull.chunks.append((now_ms, _extremes(np.concatenate(hull.pending))))
        hull.pending = []
    hull.chunks = [(time_ms, points) for time_ms, points in hull.chunks if time_ms >= now_ms - memory_ms]
    points = np.concatenate([p for _, p in hull.chunks]) if hull.chunks else np.zeros((0, 2))
    qhull = None
    if len(points) >= _MIN_HULL_POINTS:
        try:
            qhull = ConvexHull(points)
        except QhullError:  # all points collinear or coincident so far
            qhull = None
    if qhull is None:  # nothing is covered yet
        hull.vertices, hull.equations = np.zeros((0, 2)), np.zeros((0, 3))
        return
    hull.vertices = points[qhull.vertices]
    hull.equations = np.asarray(qhull.equations, dtype=np.float64)

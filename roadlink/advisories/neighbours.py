"""Spatial pre-filter for pairwise detectors: candidate pairs from a uniform grid, not all N^2 pairs.

Built on :func:`roadlink.fusion.gating.grid_pairs`: the work grows with the local density (the objects in
the 3x3 cells around each one), not with the square of the tile's object count. The filter is exact for
a given reach: every pair closer than ``reach_m`` is returned (and some farther ones, which the detector's
exact test removes).
"""

from __future__ import annotations

import numpy as np

from roadlink.advisories.scene import BoolArray, IntArray
from roadlink.domain.geodesy import FloatArray
from roadlink.fusion.gating import grid_pairs

__all__ = ["MIN_CELL_M", "best_per_group", "pairs_within", "rows_of"]

MIN_CELL_M = 1.0
"""Smallest grid cell, metres (keeps the grid small when every reach is tiny)."""


def rows_of(mask: BoolArray) -> IntArray:
    """Row indices ``(K,)`` where ``mask`` ``(N,)`` is True."""
    return np.flatnonzero(mask).astype(np.int64)


def pairs_within(
    a_points_m: FloatArray, b_points_m: FloatArray, reach_m: float, *, distinct: bool = False
) -> tuple[IntArray, IntArray]:
    """Index pairs ``(i, j)`` with ``|a[i] - b[j]|`` possibly below ``reach_m`` (a superset; never misses one).

    Args:
        a_points_m: ``(N, 2)`` metres.
        b_points_m: ``(M, 2)`` metres.
        reach_m: The distance that must be covered, metres (non-finite or negative counts as 0).
        distinct: ``a`` and ``b`` are the same set: return each unordered pair once (``i < j``).

    Returns:
        Two ``(E,)`` int64 arrays of indices into ``a`` and ``b``.
    """
    cell = max(MIN_CELL_M, float(reach_m) if np.isfinite(reach_m) else MIN_CELL_M)
    i, j = grid_pairs(np.asarray(a_points_m, np.float64), np.asarray(b_points_m, np.float64), cell)
    if distinct:
        keep = i < j
        i, j = i[keep], j[keep]
    return i.astype(np.int64), j.astype(np.int64)


def best_per_group(groups: IntArray, keys: FloatArray) -> IntArray:
    """Indices ``(G,)`` of the smallest ``keys`` entry ``(E,)`` of each distinct ``groups`` value ``(E,)``.

    Ties go to the earlier index; the result is ordered by group value.
    """
    if not len(groups):
        return np.zeros(0, np.int64)
    order = np.lexsort((keys, groups))
    sorted_groups = groups[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_groups[1:] != sorted_groups[:-1]
    return order[first].astype(np.int64)

"""Which lane each track is on: the nearest centre line within half the lane's width, vectorized.

A track is on a lane when its distance to the lane's centre line is at most ``width_m / 2``; of several
such lanes the nearest wins. Candidate (track, segment) pairs come from a grid (:mod:`.neighbours`) over
the segment midpoints (segments are at most :data:`~roadlink.advisories.map_model.MAX_SEGMENT_M` long), so
the cost grows with the local density of tracks and lanes, not with tracks times segments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from roadlink.advisories.map_model import LaneKind, RoadMap
from roadlink.advisories.neighbours import best_per_group, pairs_within
from roadlink.advisories.scene import BoolArray, IntArray, Scene
from roadlink.domain.geodesy import FloatArray

__all__ = ["TRAVEL_LANES", "LaneMatch", "match_lanes"]

TRAVEL_LANES: frozenset[LaneKind] = frozenset({LaneKind.VEHICLE})
"""Lane kinds the vehicle detectors match against."""


@dataclass(frozen=True, slots=True, eq=False)
class LaneMatch:
    """Per scene row (N rows): the matched lane and where on it the track is.

    Attributes:
        lane: ``(N,)`` index into ``RoadMap.lanes``, -1 where the track is on no lane.
        offset_m: ``(N,)`` distance to the centre line, metres (NaN when unmatched).
        along_m: ``(N,)`` distance along the centre line from its first point, metres (NaN when unmatched).
        lane_heading_deg: ``(N,)`` the lane's direction of travel at that point, degrees (NaN when unmatched).
        to_stop_line_m: ``(N,)`` along-lane distance from the track's centre to the stop line, metres;
            negative once past it; NaN when unmatched or the lane has no stop line.
    """

    lane: IntArray
    offset_m: FloatArray
    along_m: FloatArray
    lane_heading_deg: FloatArray
    to_stop_line_m: FloatArray

    @property
    def matched(self) -> BoolArray:
        """``(N,)`` True where the track is on a lane."""
        return np.asarray(self.lane >= 0)


def match_lanes(
    scene: Scene, road_map: RoadMap, rows: BoolArray | None = None, kinds: frozenset[LaneKind] = TRAVEL_LANES
) -> LaneMatch:
    """Match the tracks of ``scene`` (in ``road_map``'s frame) to lanes of ``kinds``.

    Args:
        scene: Tracks (moved to the frame of ``road_map.origin`` first when in another frame).
        road_map: Lanes and their segment index.
        rows: ``(N,)`` mask of the rows to match (default all); the others stay unmatched.
        kinds: Lane kinds to consider.
    """
    scene = scene.in_frame(road_map.origin)
    n = len(scene)
    match = LaneMatch(np.full(n, -1, np.int64), *(np.full(n, np.nan) for _ in range(4)))
    segments = road_map.segments
    lane_allowed = np.array([lane.kind in kinds for lane in road_map.lanes], dtype=bool).reshape(-1)
    allowed = lane_allowed[segments.lane]
    half_width = np.array([lane.width_m / 2 for lane in road_map.lanes], dtype=np.float64)
    candidates = np.flatnonzero(allowed)
    wanted = np.flatnonzero(np.ones(n, bool) if rows is None else rows)
    if not len(candidates) or not len(wanted):
        return match
    middle = segments.start_m[candidates] + segments.vector_m[candidates] / 2
    reach = float((segments.length_m[candidates] / 2 + half_width[segments.lane[candidates]]).max())
    ti, sj = pairs_within(scene.position_m[wanted], middle, reach)
    track, segment = wanted[ti], candidates[sj]
    offset = scene.position_m[track] - segments.start_m[segment]
    vector = segments.vector_m[segment]
    t = np.clip(np.einsum("ij,ij->i", offset, vector) / segments.length_m[segment] ** 2, 0.0, 1.0)
    distance = np.hypot(*(offset - vector * t[:, None]).T)
    on_lane = distance <= half_width[segments.lane[segment]]
    track, segment, t, distance = track[on_lane], segment[on_lane], t[on_lane], distance[on_lane]
    best = best_per_group(track, distance)
    track, segment, t, distance = track[best], segment[best], t[best], distance[best]
    lane = segments.lane[segment]
    along = segments.along_start_m[segment] + t * segments.length_m[segment]
    match.lane[track] = lane
    match.offset_m[track] = distance
    match.along_m[track] = along
    match.lane_heading_deg[track] = segments.heading_deg[segment]
    match.to_stop_line_m[track] = segments.stop_line_along_m[lane] - along
    return match

"""The lane map the lane-based detectors need: transport-free, in one local ENU frame.

This is the small part of MapData (``v2x.roadside.v1.MapData``) that wrong-way, over-speed, stalled-vehicle
and red-light detection use. A converter fills it from MapData as follows:

- every lane's node offsets (east/north metres from its intersection's ``reference_position``) become
  ``Lane.centre_line_m``, ordered **in the direction of travel**. J2735/MapData lists ingress-lane nodes
  from the stop line outwards, so they are reversed and the stop line is the first node (use
  :meth:`Lane.from_map_nodes`, which does both);
- ``direction`` INGRESS / EGRESS / BIDIRECTIONAL becomes :class:`LaneUse`; ``lane_type`` becomes
  :class:`LaneKind`;
- the lane's (or else the intersection's) ``SPEED_LIMIT_TYPE_VEHICLE_MAX_SPEED`` becomes
  ``speed_limit_mps``; the lane's (or else the intersection's default) width becomes ``width_m``;
- the distinct ``signal_group`` values of the lane's connections become ``signal_groups``;
- intersections with different reference positions are put into one frame with
  :meth:`RoadMap.from_intersections`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from roadlink.advisories.scene import IntArray
from roadlink.domain.geodesy import FloatArray, LocalOrigin

__all__ = ["DEFAULT_LANE_WIDTH_M", "MAX_SEGMENT_M", "Lane", "LaneKind", "LaneSegments", "LaneUse", "RoadMap"]

DEFAULT_LANE_WIDTH_M = 3.5
"""Lane width when MapData sends none, metres."""

MAX_SEGMENT_M = 10.0
"""Centre lines are cut into pieces at most this long (metres) for the spatial index."""


class LaneUse(enum.Enum):
    """Which way traffic may use a lane (MapData ``LaneDirection``)."""

    INGRESS = "ingress"
    """Towards the intersection, in the order of ``centre_line_m``."""
    EGRESS = "egress"
    """Away from the intersection, in the order of ``centre_line_m``."""
    BIDIRECTIONAL = "bidirectional"
    """Both ways: never wrong-way."""


class LaneKind(enum.Enum):
    """What a lane is for (MapData ``LaneType``); only VEHICLE lanes are travel lanes for the detectors."""

    VEHICLE = "vehicle"
    BIKE = "bike"
    CROSSWALK = "crosswalk"
    SIDEWALK = "sidewalk"
    PARKING = "parking"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Lane:
    """One lane: its centre line in the map's ENU frame (metres), in the direction of travel.

    Attributes:
        intersection_id: Intersection the lane belongs to (the SPaT ``intersection_id`` of its signals).
        lane_id: Lane id within the intersection.
        centre_line_m: At least two ``(east_m, north_m)`` points, ordered in the direction of travel (any
            order for BIDIRECTIONAL lanes).
        use: Direction of use.
        kind: Kind of lane.
        width_m: Lane width, metres; a track within ``width_m / 2`` of the centre line is on the lane.
        speed_limit_mps: Posted maximum speed, m/s (None = unknown).
        signal_groups: Signal groups controlling the lane's movements (empty = not signalized).
        stop_line_m: ``(east_m, north_m)`` of the stop line (None = no stop line); usually the last point.

    Raises:
        ValueError: Fewer than two points, a non-finite coordinate, or a non-positive width or limit.
    """

    intersection_id: int
    lane_id: int
    centre_line_m: tuple[tuple[float, float], ...]
    use: LaneUse = LaneUse.INGRESS
    kind: LaneKind = LaneKind.VEHICLE
    width_m: float = DEFAULT_LANE_WIDTH_M
    speed_limit_mps: float | None = None
    signal_groups: tuple[int, ...] = ()
    stop_line_m: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        """Validate the geometry and limits."""
        points = [c for point in self.centre_line_m for c in point] + list(self.stop_line_m or ())
        if len(self.centre_line_m) < 2 or not all(math.isfinite(c) for c in points):
            raise ValueError(f"lane {self.lane_id}: need at least two finite centre-line points")
        if not (math.isfinite(self.width_m) and self.width_m > 0):
            raise ValueError(f"lane {self.lane_id}: width_m must be positive, got {self.width_m}")
        limit = self.speed_limit_mps
        if limit is not None and not (math.isfinite(limit) and limit > 0):
            raise ValueError(f"lane {self.lane_id}: speed_limit_mps must be positive, got {limit}")

    @classmethod
    def from_map_nodes(
        cls,
        intersection_id: int,
        lane_id: int,
        nodes_m: Sequence[tuple[float, float]],
        use: LaneUse,
        *,
        kind: LaneKind = LaneKind.VEHICLE,
        width_m: float = DEFAULT_LANE_WIDTH_M,
        speed_limit_mps: float | None = None,
        signal_groups: tuple[int, ...] = (),
    ) -> Lane:
        """A lane from MapData node offsets (metres), which start at the stop line for ingress lanes.

        Ingress nodes are reversed into the direction of travel and their first node becomes the stop line;
        egress and bidirectional lanes keep their order and get no stop line.
        """
        points = tuple((float(e), float(n)) for e, n in nodes_m)
        stop_line = points[0] if use is LaneUse.INGRESS and points else None
        if use is LaneUse.INGRESS:
            points = points[::-1]
        return cls(intersection_id, lane_id, points, use, kind, width_m, speed_limit_mps, signal_groups, stop_line)

    def shifted(self, east_m: float, north_m: float) -> Lane:
        """This lane with every point moved by ``(east_m, north_m)`` metres."""
        stop = None if self.stop_line_m is None else (self.stop_line_m[0] + east_m, self.stop_line_m[1] + north_m)
        points = tuple((e + east_m, n + north_m) for e, n in self.centre_line_m)
        return replace(self, centre_line_m=points, stop_line_m=stop)


@dataclass(frozen=True, slots=True, eq=False)
class LaneSegments:
    """The centre lines cut into S straight pieces of at most :data:`MAX_SEGMENT_M` (the spatial index).

    Attributes:
        start_m: ``(S, 2)`` segment starts, east/north metres.
        vector_m: ``(S, 2)`` segment end minus start, metres.
        length_m: ``(S,)`` segment lengths, metres (> 0).
        lane: ``(S,)`` index of the segment's lane in ``RoadMap.lanes``.
        along_start_m: ``(S,)`` distance along the lane's centre line to the segment start, metres.
        heading_deg: ``(S,)`` direction of travel, degrees clockwise from north.
        stop_line_along_m: ``(L,)`` distance along each lane to its stop line, metres (NaN = none).
    """

    start_m: FloatArray
    vector_m: FloatArray
    length_m: FloatArray
    lane: IntArray
    along_start_m: FloatArray
    heading_deg: FloatArray
    stop_line_along_m: FloatArray

    @classmethod
    def of(cls, lanes: Sequence[Lane]) -> LaneSegments:
        """Cut the centre lines of ``lanes`` into segments."""
        parts = [_lane_segments(k, lane) for k, lane in enumerate(lanes)]
        start = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, 2))
        end = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, 2))
        along = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
        lane = np.concatenate([np.full(len(p[0]), k, np.int64) for k, p in enumerate(parts)] or [np.zeros(0, np.int64)])
        vector = end - start
        length = np.hypot(vector[:, 0], vector[:, 1])
        keep = length > 0.0
        heading = np.mod(np.degrees(np.arctan2(vector[:, 0], vector[:, 1])), 360.0)
        stop = np.array([_stop_line_along(lane_) for lane_ in lanes], dtype=np.float64).reshape(-1)
        return cls(start[keep], vector[keep], length[keep], lane[keep], along[keep], heading[keep], stop)


def _lane_segments(index: int, lane: Lane) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Starts ``(K, 2)``, ends ``(K, 2)`` and along-distances ``(K,)`` of one lane's densified pieces."""
    points = np.asarray(lane.centre_line_m, dtype=np.float64)
    steps = points[1:] - points[:-1]
    lengths = np.hypot(steps[:, 0], steps[:, 1])
    pieces = np.maximum(1, np.ceil(lengths / MAX_SEGMENT_M)).astype(np.int64)
    owner = np.repeat(np.arange(len(steps)), pieces)
    first = np.repeat(np.cumsum(pieces) - pieces, pieces)
    fraction = (np.arange(len(owner)) - first) / pieces[owner]
    start = points[owner] + steps[owner] * fraction[:, None]
    end = points[owner] + steps[owner] * (fraction + 1.0 / pieces[owner])[:, None]
    along = (np.cumsum(lengths) - lengths)[owner] + lengths[owner] * fraction
    return start, end, along


def _stop_line_along(lane: Lane) -> float:
    """Distance along ``lane`` (metres) of the stop line's projection on its centre line, NaN without one."""
    if lane.stop_line_m is None:
        return math.nan
    points = np.asarray(lane.centre_line_m, dtype=np.float64)
    steps = points[1:] - points[:-1]
    lengths = np.hypot(steps[:, 0], steps[:, 1])
    squared = np.maximum(lengths**2, 1e-12)
    offset = np.asarray(lane.stop_line_m, dtype=np.float64) - points[:-1]
    t = np.clip(np.einsum("ij,ij->i", offset, steps) / squared, 0.0, 1.0)
    distance = np.hypot(*(offset - steps * t[:, None]).T)
    best = int(np.argmin(distance))
    return float((np.cumsum(lengths) - lengths)[best] + lengths[best] * t[best])


@dataclass(frozen=True, slots=True, eq=False)
class RoadMap:
    """Lanes in the ENU frame of ``origin``, with their segment index built once at construction."""

    origin: LocalOrigin
    lanes: tuple[Lane, ...]
    segments: LaneSegments = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Build the segment index."""
        object.__setattr__(self, "lanes", tuple(self.lanes))
        object.__setattr__(self, "segments", LaneSegments.of(self.lanes))

    @classmethod
    def from_intersections(
        cls, origin: LocalOrigin, intersections: Iterable[tuple[LocalOrigin, Sequence[Lane]]]
    ) -> RoadMap:
        """One map in the frame of ``origin`` from lanes given in each intersection's own reference frame.

        Each intersection's lanes are shifted by its reference point's ENU offset from ``origin`` (a
        translation, accurate for intersections a few kilometres apart).
        """
        lanes: list[Lane] = []
        for reference, reference_lanes in intersections:
            east, north, _ = origin.to_enu(reference.latitude_deg, reference.longitude_deg, reference.height_m)
            lanes.extend(lane.shifted(east, north) for lane in reference_lanes)
        return cls(origin, tuple(lanes))

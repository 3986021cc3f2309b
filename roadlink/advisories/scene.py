"""The tracks a detector looks at, as numpy arrays in one local ENU frame at one time.

:meth:`Scene.from_tracks` converts a list of :class:`~roadlink.domain.situation.Track` once (one vectorized
:class:`~roadlink.domain.geodesy.LocalOrigin` call) and moves every track to the scene time with constant
velocity, so the detectors work on aligned ``(N,)`` / ``(N, 2)`` arrays in metres, m/s and degrees.

Inputs are sanitized rather than trusted, so a detector never raises on odd but finite data:

- tracks with a non-finite or out-of-range latitude/longitude, or farther than ``max_radius_m`` from the
  origin (where a flat frame stops being accurate), are left out;
- a speed that is missing, non-finite, negative or above ``MAX_SPEED_MPS`` counts as unknown (0 m/s), and
  so does a missing or non-finite heading (``heading_known`` is False);
- missing or implausible sizes take the class default (:data:`DEFAULT_SIZE_M`), and sizes are clipped to
  ``[0.2, 30]`` m long and ``[0.2, 5]`` m wide;
- extrapolation to the scene time is limited to ``max_extrapolation_s`` either way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

from roadlink.domain.classes import ObjectClass
from roadlink.domain.geodesy import FloatArray, LocalOrigin
from roadlink.domain.situation import Track
from roadlink.domain.spatial import Position

__all__ = [
    "DEFAULT_SIZE_M",
    "MAX_SPEED_MPS",
    "VEHICLE_CLASSES",
    "VRU_CLASSES",
    "BoolArray",
    "IntArray",
    "Scene",
    "heading_difference_deg",
    "unit_vectors",
]

IntArray: TypeAlias = NDArray[np.int64]
"""An int64 array, typically of shape ``(N,)``."""

BoolArray: TypeAlias = NDArray[np.bool_]
"""A boolean mask, typically of shape ``(N,)``."""

MAX_SPEED_MPS = 150.0
"""Speeds above this (540 km/h) are treated as unknown."""

VEHICLE_CLASSES: frozenset[ObjectClass] = frozenset(
    {
        ObjectClass.PASSENGER_CAR,
        ObjectClass.BUS,
        ObjectClass.LIGHT_TRUCK,
        ObjectClass.TRUCK,
        ObjectClass.MOTORCYCLE,
        ObjectClass.EMERGENCY_VEHICLE,
        ObjectClass.VEHICLE,
    }
)
"""Classes that are motor vehicles (drivers of forward-collision, lane and signal hazards)."""

VRU_CLASSES: frozenset[ObjectClass] = frozenset({ObjectClass.PEDESTRIAN, ObjectClass.BICYCLE})
"""Vulnerable road users."""

DEFAULT_SIZE_M: dict[ObjectClass, tuple[float, float]] = {
    ObjectClass.PASSENGER_CAR: (4.5, 1.8),
    ObjectClass.BUS: (12.0, 2.5),
    ObjectClass.LIGHT_TRUCK: (6.0, 2.1),
    ObjectClass.TRUCK: (12.0, 2.5),
    ObjectClass.MOTORCYCLE: (2.2, 0.8),
    ObjectClass.BICYCLE: (1.8, 0.6),
    ObjectClass.PEDESTRIAN: (0.5, 0.5),
    ObjectClass.ANIMAL: (1.0, 0.5),
    ObjectClass.EMERGENCY_VEHICLE: (6.0, 2.2),
    ObjectClass.OBSTACLE: (1.0, 1.0),
    ObjectClass.VEHICLE: (4.5, 1.8),
}
"""(length_m, width_m) used when a track has no size; other classes get (1.0, 1.0)."""

_FALLBACK_SIZE_M = (1.0, 1.0)
_LENGTH_RANGE_M = (0.2, 30.0)
_WIDTH_RANGE_M = (0.2, 5.0)


def unit_vectors(heading_deg: FloatArray) -> FloatArray:
    """East/north unit vectors ``(N, 2)`` of headings ``(N,)`` in degrees clockwise from north."""
    angle = np.radians(heading_deg)
    return np.stack([np.sin(angle), np.cos(angle)], axis=-1)


def heading_difference_deg(a_deg: FloatArray | float, b_deg: FloatArray | float) -> FloatArray:
    """Absolute angle between headings, degrees in ``[0, 180]``; arrays broadcast."""
    diff = np.mod(np.asarray(a_deg, dtype=np.float64) - np.asarray(b_deg, dtype=np.float64), 360.0)
    return np.asarray(np.minimum(diff, 360.0 - diff), dtype=np.float64)


@dataclass(frozen=True, slots=True, eq=False)
class Scene:
    """N tracks at ``time_unix_ms`` in the ENU frame of ``origin`` (row ``k`` is ``tracks[k]``).

    Attributes:
        origin: The frame's anchor.
        time_unix_ms: The time every row was moved to.
        tracks: ``N`` source tracks (ids, classes and everything else stay available here).
        object_class: ``(N,)`` int64 :class:`ObjectClass` values.
        position_m: ``(N, 2)`` east/north metres at ``time_unix_ms``.
        velocity_mps: ``(N, 2)`` east/north m/s (zero when the speed is unknown).
        speed_mps: ``(N,)`` m/s, >= 0 (0 when unknown).
        heading_deg: ``(N,)`` degrees clockwise from north in ``[0, 360)`` (0 when unknown).
        heading_known: ``(N,)`` True where the track had a usable heading.
        length_m: ``(N,)`` metres.
        width_m: ``(N,)`` metres.
    """

    origin: LocalOrigin
    time_unix_ms: int
    tracks: tuple[Track, ...]
    object_class: IntArray
    position_m: FloatArray
    velocity_mps: FloatArray
    speed_mps: FloatArray
    heading_deg: FloatArray
    heading_known: BoolArray
    length_m: FloatArray
    width_m: FloatArray

    def __len__(self) -> int:
        return len(self.tracks)

    @classmethod
    def from_tracks(
        cls,
        tracks: Sequence[Track],
        time_unix_ms: int,
        origin: LocalOrigin | None = None,
        *,
        max_extrapolation_s: float = 1.0,
        max_radius_m: float = 100_000.0,
    ) -> Scene:
        """Convert ``tracks`` to the frame of ``origin`` (default: the first usable track) at ``time_unix_ms``.

        Args:
            tracks: Tracks in any order; unusable ones are left out (see the module docstring).
            time_unix_ms: Scene time; each track moves ``clip(time - track.time, +-max_extrapolation_s)``
                seconds along its velocity.
            origin: ENU anchor; with None, the first track with a valid position.
            max_extrapolation_s: Bound of the constant-velocity extrapolation, seconds.
            max_radius_m: Tracks farther than this from the origin (metres, straight line) are left out.
        """
        usable = [t for t in tracks if _valid_position(t.position)]
        if origin is None:
            if not usable:
                return cls.empty(LocalOrigin(0.0, 0.0), time_unix_ms)
            first = usable[0].position
            origin = LocalOrigin(first.latitude_deg, first.longitude_deg)
        if not usable:
            return cls.empty(origin, time_unix_ms)
        east, north, up = origin.to_enu(
            np.array([t.position.latitude_deg for t in usable], dtype=np.float64),
            np.array([t.position.longitude_deg for t in usable], dtype=np.float64),
            np.zeros(len(usable)),
        )
        near = np.sqrt(east**2 + north**2 + up**2) <= max_radius_m  # 3-D: the antipode is at east = north = 0
        kept = tuple(t for t, keep in zip(usable, near, strict=True) if keep)
        position = np.stack([east[near], north[near]], axis=-1)
        return cls._build(origin, time_unix_ms, kept, position, max_extrapolation_s)

    @classmethod
    def _build(
        cls, origin: LocalOrigin, time_unix_ms: int, tracks: tuple[Track, ...], position_m: FloatArray, max_dt_s: float
    ) -> Scene:
        speed, heading, known = _kinematics(tracks)
        velocity = unit_vectors(heading) * speed[:, None]
        age_s = np.array([(time_unix_ms - t.time_unix_ms) / 1000.0 for t in tracks], dtype=np.float64)
        position_m = position_m + velocity * np.clip(age_s, -max_dt_s, max_dt_s)[:, None]
        length, width = _sizes(tracks)
        return cls(
            origin=origin,
            time_unix_ms=time_unix_ms,
            tracks=tracks,
            object_class=np.array([int(t.object_class) for t in tracks], dtype=np.int64),
            position_m=position_m.reshape(-1, 2),
            velocity_mps=velocity.reshape(-1, 2),
            speed_mps=speed,
            heading_deg=heading,
            heading_known=known,
            length_m=length,
            width_m=width,
        )

    @classmethod
    def empty(cls, origin: LocalOrigin, time_unix_ms: int) -> Scene:
        """A scene without tracks."""
        return cls._build(origin, time_unix_ms, (), np.zeros((0, 2)), 0.0)

    def in_frame(self, origin: LocalOrigin) -> Scene:
        """This scene in the ENU frame of ``origin`` (``self`` when it already is)."""
        if origin == self.origin:
            return self
        latitude, longitude, _ = self.origin.to_geodetic(
            self.position_m[:, 0], self.position_m[:, 1], np.zeros(len(self))
        )
        east, north, _ = origin.to_enu(latitude, longitude, np.zeros(len(self)))
        position = np.stack([np.asarray(east), np.asarray(north)], axis=-1).reshape(-1, 2)
        return Scene._build(origin, self.time_unix_ms, self.tracks, position, 0.0)

    def of_classes(self, classes: frozenset[ObjectClass]) -> BoolArray:
        """``(N,)`` mask of the rows whose class is in ``classes``."""
        return np.isin(self.object_class, np.array(sorted(int(c) for c in classes), dtype=np.int64))

    def track_id(self, row: int) -> int:
        """The track id of row ``row``."""
        return self.tracks[int(row)].track_id

    def positions(self, points_m: FloatArray) -> list[Position]:
        """WGS84 positions of ``(K, 2)`` east/north points (metres, at height 0 in this frame)."""
        points = np.asarray(points_m, dtype=np.float64).reshape(-1, 2)
        latitude, longitude, _ = self.origin.to_geodetic(points[:, 0], points[:, 1], np.zeros(len(points)))
        return [Position(float(a), float(b)) for a, b in zip(latitude, longitude, strict=True)]


def _valid_position(position: Position) -> bool:
    lat, lon = position.latitude_deg, position.longitude_deg
    return math.isfinite(lat) and math.isfinite(lon) and -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0


def _kinematics(tracks: tuple[Track, ...]) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Speed ``(N,)`` m/s, heading ``(N,)`` deg and heading-known mask ``(N,)``, sanitized."""
    speed = np.array([math.nan if t.speed_mps is None else t.speed_mps for t in tracks], dtype=np.float64)
    heading = np.array([math.nan if t.heading_deg is None else t.heading_deg for t in tracks], dtype=np.float64)
    speed = np.where(np.isfinite(speed) & (speed >= 0.0) & (speed <= MAX_SPEED_MPS), speed, 0.0)
    known = np.isfinite(heading)
    heading = np.where(known, np.mod(np.where(known, heading, 0.0), 360.0), 0.0)
    heading = np.where(heading >= 360.0, 0.0, heading)
    return speed, heading, known


def _sizes(tracks: tuple[Track, ...]) -> tuple[FloatArray, FloatArray]:
    """Length and width ``(N,)`` metres: the track's own when plausible, else the class default."""
    default = [DEFAULT_SIZE_M.get(t.object_class, _FALLBACK_SIZE_M) for t in tracks]
    length = np.array([t.size.length_m if t.size else math.nan for t in tracks], dtype=np.float64)
    width = np.array([t.size.width_m if t.size else math.nan for t in tracks], dtype=np.float64)
    length = np.where(np.isfinite(length) & (length > 0), length, [d[0] for d in default])
    width = np.where(np.isfinite(width) & (width > 0), width, [d[1] for d in default])
    return np.clip(length, *_LENGTH_RANGE_M).reshape(-1), np.clip(width, *_WIDTH_RANGE_M).reshape(-1)

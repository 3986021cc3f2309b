"""Between the domain (WGS84 frames, vehicle states, tracks) and the fusion arrays (a tile's ENU frame).

The per-object work here is attribute access only; coordinates are converted in one vectorized
:class:`roadlink.domain.geodesy.LocalOrigin` call per batch. Times move to the receiver's clock by
subtracting the gateway's per-source clock offset (``Provenance.clock_offset_ms`` = source minus receiver).
Sources that omit an accuracy get the defaults of :class:`SourceDefaults`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from roadlink.domain.classes import ObjectClass
from roadlink.domain.geodesy import LocalOrigin, enu_velocity_to_heading_speed, heading_speed_to_enu_velocity
from roadlink.domain.perception import DetectedObject, PerceptionFrame, Provenance
from roadlink.domain.situation import Track
from roadlink.domain.spatial import Covariance2D, Position, PositionAccuracy
from roadlink.domain.vehicle import VehicleState
from roadlink.fusion.detections import Detections, SourceKind
from roadlink.fusion.matrices import FloatArray
from roadlink.fusion.state import TrackTable, decode_vehicle_id

__all__ = [
    "SourceDefaults",
    "detections_from_frames",
    "detections_from_vehicle_states",
    "ellipse_covariances",
    "tracks_from_table",
    "velocity_covariances",
]

_SELF_REPORT_SOURCE_MS = 1000


@dataclass(frozen=True, slots=True)
class SourceDefaults:
    """One-sigma accuracies assumed when a source omits them (metres, m/s, degrees), and a class confidence."""

    rsu_position_std_m: float = 1.0
    raw_position_std_m: float = 1.5
    vehicle_position_std_m: float = 1.5
    speed_std_mps: float = 0.5
    heading_std_deg: float = 5.0
    vehicle_speed_std_mps: float = 0.2
    vehicle_heading_std_deg: float = 2.0
    class_confidence: float = 0.5

    def position_std_m(self, kind: SourceKind) -> float:
        """The default position standard deviation of a source kind."""
        return {
            SourceKind.RSU_OBJECT_LIST: self.rsu_position_std_m,
            SourceKind.RAW_DETECTION: self.raw_position_std_m,
            SourceKind.VEHICLE_SELF_REPORT: self.vehicle_position_std_m,
        }[kind]


def velocity_covariances(
    speed_mps: FloatArray, heading_deg: FloatArray, speed_std_mps: float, heading_std_deg: float
) -> FloatArray:
    """ENU velocity covariances ``(M, 2, 2)`` ((m/s)^2) from speed and heading uncertainties.

    Along the heading the variance is ``speed_std^2``; across it ``(speed * heading_std_rad)^2``, floored at
    ``speed_std^2`` so that a stopped object's direction is as uncertain as its speed.
    """
    across = np.maximum(speed_mps * math.radians(heading_std_deg), speed_std_mps)
    return ellipse_covariances(np.full(len(speed_mps), speed_std_mps), across, heading_deg, major_along=True)


def ellipse_covariances(
    semi_major: FloatArray, semi_minor: FloatArray, orientation_deg: FloatArray, major_along: bool = True
) -> FloatArray:
    """Covariances ``(M, 2, 2)`` of one-sigma ellipses; ``orientation_deg`` (clockwise from north) is the
    direction of the first axis (``semi_major``) when ``major_along``."""
    angle = np.radians(orientation_deg)
    axis = np.stack([np.sin(angle), np.cos(angle)], axis=1)
    normal = np.stack([axis[:, 1], -axis[:, 0]], axis=1)
    first, second = (semi_major, semi_minor) if major_along else (semi_minor, semi_major)
    return np.asarray(
        (first**2)[:, None, None] * axis[:, :, None] * axis[:, None, :]
        + (second**2)[:, None, None] * normal[:, :, None] * normal[:, None, :]
    )


def _receiver_time(time_ms: int, provenance: Provenance | None) -> int:
    offset = provenance.clock_offset_ms if provenance is not None else None
    return time_ms - offset if offset is not None else time_ms


def _to_enu(origin: LocalOrigin, positions: Sequence[Position]) -> FloatArray:
    lat = np.array([p.latitude_deg for p in positions], dtype=np.float64)
    lon = np.array([p.longitude_deg for p in positions], dtype=np.float64)
    height = np.array([origin.height_m if p.elevation_m is None else p.elevation_m for p in positions])
    east, north, _ = origin.to_enu(lat, lon, height)
    return np.stack([east, north], axis=1).reshape(len(positions), 2)


def _covariance_array(values: Sequence[Covariance2D | None], default_std: float) -> FloatArray:
    d = default_std**2
    rows = [(d, 0.0, d) if c is None else (c.east_east, c.east_north, c.north_north) for c in values]
    flat = np.array(rows, dtype=np.float64).reshape(len(values), 3)
    return np.stack([flat[:, [0, 1]], flat[:, [1, 2]]], axis=1)


def _full_covariances(position: FloatArray, velocity: FloatArray) -> FloatArray:
    full = np.zeros((len(position), 4, 4))
    full[:, :2, :2], full[:, 2:, 2:] = position, velocity
    return full


def _velocities(
    speed: Sequence[float | None], heading: Sequence[float | None]
) -> tuple[FloatArray, FloatArray, FloatArray, np.ndarray]:
    """Speeds, headings (NaN-free), ENU velocities ``(M, 2)`` and the has-velocity mask."""
    has = np.array([s is not None and h is not None for s, h in zip(speed, heading, strict=True)], dtype=bool)
    speed_mps = np.array([s if s is not None and has[k] else 0.0 for k, s in enumerate(speed)], dtype=np.float64)
    heading_deg = np.array([h if h is not None and has[k] else 0.0 for k, h in enumerate(heading)], dtype=np.float64)
    speed_mps = np.maximum(speed_mps, 0.0)
    v_east, v_north = heading_speed_to_enu_velocity(heading_deg, speed_mps)
    return speed_mps, heading_deg, np.stack([v_east, v_north], axis=1).reshape(len(has), 2), has


def detections_from_frames(
    frames: Iterable[PerceptionFrame],
    origin: LocalOrigin,
    kind: SourceKind = SourceKind.RSU_OBJECT_LIST,
    defaults: SourceDefaults | None = None,
) -> Detections:
    """Every object of ``frames`` as detections in ``origin``'s ENU frame.

    Args:
        frames: Perception frames from RSUs or sensors.
        origin: The tile's ENU origin.
        kind: How these frames are fused (RSU object lists by default; raw sensor frames otherwise).
        defaults: Accuracies for objects without covariances.
    """
    defaults = defaults or SourceDefaults()
    pairs = [(frame, obj) for frame in frames for obj in frame.objects]
    if not pairs:
        return Detections.empty()
    objects: list[DetectedObject] = [obj for _, obj in pairs]
    speed, heading, velocities, has_velocity = _velocities(
        [o.speed_mps for o in objects], [o.heading_deg for o in objects]
    )
    velocity_cov = velocity_covariances(speed, heading, defaults.speed_std_mps, defaults.heading_std_deg)
    given = [k for k, o in enumerate(objects) if o.velocity_covariance is not None]
    if given:
        velocity_cov[given] = _covariance_array([objects[k].velocity_covariance for k in given], 0.0)
    position_cov = _covariance_array([o.position_covariance for o in objects], defaults.position_std_m(kind))
    return Detections.create(
        positions_m=_to_enu(origin, [o.position for o in objects]),
        velocities_mps=velocities,
        has_velocity=has_velocity,
        covariances=_full_covariances(position_cov, velocity_cov),
        times_ms=[
            _receiver_time(o.measurement_time_unix_ms or frame.time_unix_ms, frame.provenance) for frame, o in pairs
        ],
        source_ids=[frame.source_id for frame, _ in pairs],
        kinds=int(kind),
        object_class=[int(o.object_class) for o in objects],
        class_confidence=[
            defaults.class_confidence if o.class_confidence is None else o.class_confidence for o in objects
        ],
        object_ids=[o.object_id for o in objects],
        existence_probability=[np.nan if o.existence_probability is None else o.existence_probability for o in objects],
    )


def _accuracy_covariances(accuracies: Sequence[PositionAccuracy | None], default_std: float) -> FloatArray:
    major = np.array([default_std if a is None else a.semi_major_m for a in accuracies], dtype=np.float64)
    minor = np.array([default_std if a is None else a.semi_minor_m for a in accuracies], dtype=np.float64)
    orientation = np.array(
        [
            0.0 if a is None or a.semi_major_orientation_deg is None else a.semi_major_orientation_deg
            for a in accuracies
        ],
        dtype=np.float64,
    )
    return ellipse_covariances(major, minor, orientation)


def detections_from_vehicle_states(
    states: Iterable[VehicleState], origin: LocalOrigin, defaults: SourceDefaults | None = None
) -> Detections:
    """Vehicle self-reports as identity-bearing detections in ``origin``'s ENU frame (class confidence 1)."""
    defaults = defaults or SourceDefaults()
    reports = list(states)
    if not reports:
        return Detections.empty()
    speed, heading, velocities, has_velocity = _velocities(
        [r.speed_mps for r in reports], [r.heading_deg for r in reports]
    )
    velocity_cov = velocity_covariances(
        speed, heading, defaults.vehicle_speed_std_mps, defaults.vehicle_heading_std_deg
    )
    position_cov = _accuracy_covariances([r.accuracy for r in reports], defaults.vehicle_position_std_m)
    return Detections.create(
        positions_m=_to_enu(origin, [r.position for r in reports]),
        velocities_mps=velocities,
        has_velocity=has_velocity,
        covariances=_full_covariances(position_cov, velocity_cov),
        times_ms=[_receiver_time(r.time_unix_ms, r.provenance) for r in reports],
        source_ids=[r.vehicle_id for r in reports],
        kinds=int(SourceKind.VEHICLE_SELF_REPORT),
        object_class=[int(r.vehicle_class) for r in reports],
        class_confidence=1.0,
        vehicle_ids=[r.temporary_id for r in reports],
    )


def _object_class(value: int) -> ObjectClass:
    try:
        return ObjectClass(value)
    except ValueError:
        return ObjectClass.UNKNOWN


def _covariance2d(cov: FloatArray) -> Covariance2D:
    return Covariance2D(float(cov[0, 0]), float(0.5 * (cov[0, 1] + cov[1, 0])), float(cov[1, 1]))


def tracks_from_table(table: TrackTable, origin: LocalOrigin, source_names: Sequence[str] = ()) -> list[Track]:
    """Domain tracks (WGS84) for every row of ``table``, in row order.

    Args:
        table: Typically a tracker snapshot.
        origin: The tile's ENU origin.
        source_names: :attr:`roadlink.fusion.tracker.Tracker.source_names`, to name the mask bits.
    """
    if not len(table):
        return []
    lat, lon, _ = origin.to_geodetic(table.states[:, 0], table.states[:, 1], np.zeros(len(table)))
    heading, speed = enu_velocity_to_heading_speed(table.states[:, 2], table.states[:, 3])
    masks = (table.source_mask | table.source_mask_prev).tolist()
    recent_report = table.self_report_ms >= table.last_update_ms - _SELF_REPORT_SOURCE_MS
    tracks = []
    for k in range(len(table)):
        vehicle_id = decode_vehicle_id(bytes(table.vehicle_ids[k]))
        sources = tuple(name for bit, name in enumerate(source_names[:64]) if masks[k] >> min(bit, 63) & 1)
        if vehicle_id and recent_report[k]:
            sources = (*sources, vehicle_id.hex())
        tracks.append(
            Track(
                track_id=int(table.ids[k]),
                object_class=_object_class(int(table.object_class[k])),
                position=Position(float(lat[k]), float(lon[k])),
                time_unix_ms=int(table.times_ms[k]),
                first_seen_unix_ms=int(table.first_seen_ms[k]),
                class_confidence=float(table.class_confidence[k]),
                speed_mps=float(speed[k]),
                heading_deg=float(heading[k]),
                position_covariance=_covariance2d(table.covs[k, :2, :2]),
                velocity_covariance=_covariance2d(table.covs[k, 2:, 2:]),
                source_ids=sources,
                vehicle_temporary_id=vehicle_id,
            )
        )
    return tracks

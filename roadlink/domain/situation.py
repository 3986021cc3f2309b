"""What the cloud hands back to vehicles and operators: tracks, advisories and signal states of an area."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from roadlink.domain.classes import ObjectClass
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.spatial import Area, Covariance2D, Dimensions, Position

__all__ = ["Advisory", "AdvisoryType", "Severity", "SituationUpdate", "Track"]


@dataclass(frozen=True, slots=True)
class Track:
    """An object in the node's picture. Times are unix ms; speed m/s; heading degrees clockwise from north."""

    track_id: int
    object_class: ObjectClass
    position: Position
    time_unix_ms: int
    first_seen_unix_ms: int
    class_confidence: float | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None
    size: Dimensions | None = None
    position_covariance: Covariance2D | None = None
    velocity_covariance: Covariance2D | None = None
    source_ids: tuple[str, ...] = ()
    vehicle_temporary_id: bytes = b""


class AdvisoryType(enum.IntEnum):
    """Kind of hazard; values equal the v1 proto enum."""

    UNSPECIFIED = 0
    FORWARD_COLLISION = 1
    INTERSECTION_CONFLICT = 2
    VULNERABLE_ROAD_USER = 3
    WRONG_WAY = 4
    OVER_SPEED = 5
    STALLED_VEHICLE = 6
    RED_LIGHT_VIOLATION = 7
    ROAD_EVENT = 8


class Severity(enum.IntEnum):
    """Urgency; values equal the v1 proto enum."""

    UNSPECIFIED = 0
    INFO = 1
    WARNING = 2
    CRITICAL = 3


@dataclass(frozen=True, slots=True)
class Advisory:
    """A hazard warning about `track_ids` in `zone`, issued at `time_unix_ms`."""

    advisory_id: str
    type: AdvisoryType
    severity: Severity
    time_unix_ms: int
    track_ids: tuple[int, ...] = ()
    zone: Area | None = None
    time_to_event_s: float | None = None
    valid_until_unix_ms: int | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class SituationUpdate:
    """The picture of `area` at `time_unix_ms`: the n-th update (`sequence`) of one stream.

    `signal_timings` are the latest signal states (SPaT) of the intersections in the area, one per
    intersection, so a vehicle sees tracks, advisories and signals in one consistent update.
    """

    time_unix_ms: int
    area: Area
    tracks: tuple[Track, ...]
    advisories: tuple[Advisory, ...] = ()
    sequence: int = 0
    skipped_updates: int = 0
    signal_timings: tuple[SignalPhaseAndTiming, ...] = ()

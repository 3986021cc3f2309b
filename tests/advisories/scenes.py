"""Small builders for advisory tests: tracks placed in a local ENU frame, converted to WGS84.

Every scene lives around ``ORIGIN``; positions are given as east/north metres from it and turned into
WGS84 through :class:`LocalOrigin`, so the detectors see tracks as the fusion node publishes them.
"""

from __future__ import annotations

from roadlink.advisories import Lane, LaneUse, RoadMap, Scene
from roadlink.domain.classes import ObjectClass
from roadlink.domain.geodesy import LocalOrigin
from roadlink.domain.signal import MovementEvent, MovementPhase, MovementState, SignalPhaseAndTiming
from roadlink.domain.situation import Track
from roadlink.domain.spatial import Dimensions, Position

ORIGIN = LocalOrigin(48.137, 11.575)
"""The frame every test scene is placed in."""

T0_MS = 1_700_000_000_000
"""The default scene time, unix ms."""

NORTH, EAST, SOUTH, WEST = 0.0, 90.0, 180.0, 270.0


def position(east_m: float, north_m: float) -> Position:
    """The WGS84 position of an ENU point of ``ORIGIN``."""
    latitude, longitude, _ = ORIGIN.to_geodetic(east_m, north_m, 0.0)
    return Position(latitude, longitude)


def track(
    track_id: int,
    east_m: float,
    north_m: float,
    *,
    heading_deg: float | None = NORTH,
    speed_mps: float | None = 0.0,
    object_class: ObjectClass = ObjectClass.PASSENGER_CAR,
    size: Dimensions | None = None,
    time_unix_ms: int = T0_MS,
) -> Track:
    """A track at ``(east_m, north_m)`` of ``ORIGIN`` (a 4.5 m x 1.8 m car unless told otherwise)."""
    return Track(
        track_id=track_id,
        object_class=object_class,
        position=position(east_m, north_m),
        time_unix_ms=time_unix_ms,
        first_seen_unix_ms=time_unix_ms - 5_000,
        speed_mps=speed_mps,
        heading_deg=heading_deg,
        size=size,
    )


def pedestrian(
    track_id: int,
    east_m: float,
    north_m: float,
    *,
    heading_deg: float | None = NORTH,
    speed_mps: float | None = 0.0,
    object_class: ObjectClass = ObjectClass.PEDESTRIAN,
) -> Track:
    """A pedestrian (or, with ``object_class``, another VRU) track, standing still unless told otherwise."""
    return track(track_id, east_m, north_m, heading_deg=heading_deg, speed_mps=speed_mps, object_class=object_class)


def scene(*tracks: Track, time_unix_ms: int = T0_MS) -> Scene:
    """A scene of ``tracks`` in the frame of ``ORIGIN``."""
    return Scene.from_tracks(tracks, time_unix_ms, ORIGIN)


def northbound_lane(
    lane_id: int = 1,
    *,
    east_m: float = 0.0,
    start_north_m: float = -200.0,
    end_north_m: float = 0.0,
    use: LaneUse = LaneUse.INGRESS,
    speed_limit_mps: float | None = 13.9,
    signal_groups: tuple[int, ...] = (2,),
    stop_line: bool = True,
) -> Lane:
    """A straight lane at ``east_m`` from ``start_north_m`` to ``end_north_m`` (travel north), stop line at its end."""
    return Lane(
        intersection_id=7,
        lane_id=lane_id,
        centre_line_m=((east_m, start_north_m), (east_m, end_north_m)),
        use=use,
        speed_limit_mps=speed_limit_mps,
        signal_groups=signal_groups,
        stop_line_m=(east_m, end_north_m) if stop_line else None,
    )


def road(*lanes: Lane) -> RoadMap:
    """A map of ``lanes`` in the frame of ``ORIGIN`` (default: one northbound ingress lane)."""
    return RoadMap(ORIGIN, lanes or (northbound_lane(),))


def spat(
    phase: MovementPhase,
    *,
    signal_group: int = 2,
    end_unix_ms: int | None = T0_MS + 20_000,
    time_unix_ms: int = T0_MS,
    intersection_id: int = 7,
) -> SignalPhaseAndTiming:
    """SPaT of intersection 7 with one signal group in ``phase`` until ``end_unix_ms``, then green."""
    events = (
        MovementEvent(phase, start_time_unix_ms=time_unix_ms - 10_000, min_end_time_unix_ms=end_unix_ms),
        MovementEvent(MovementPhase.PROTECTED_MOVEMENT_ALLOWED, start_time_unix_ms=end_unix_ms),
    )
    return SignalPhaseAndTiming(intersection_id, time_unix_ms, (MovementState(signal_group, events),))

"""Hazard advisories from fused tracks: small, transport-free detectors, one module per hazard.

Every detector reads a :class:`Scene` (the tracks as numpy arrays in one local ENU frame at one time) and
returns :class:`~roadlink.domain.situation.Advisory` values with a stable ``advisory_id`` (type plus the
involved track ids), the involved ``track_ids``, ``time_to_event_s``, a severity from thresholds, a
:class:`~roadlink.domain.spatial.Circle` zone and a description:

- :mod:`.forward_collision` time-to-collision with the vehicle ahead;
- :mod:`.intersection_conflict` crossing paths arriving together;
- :mod:`.vru_in_path` a pedestrian or cyclist in a vehicle's predicted path;
- :mod:`.wrong_way` against a one-way lane (needs a :class:`RoadMap`);
- :mod:`.over_speed` above the lane's speed limit (needs a :class:`RoadMap`);
- :mod:`.stalled_vehicle` stopped in a travel lane too long (stateful; needs a :class:`RoadMap`, uses SPaT);
- :mod:`.red_light` cannot stop before a red stop line (needs a :class:`RoadMap` and SPaT).

:func:`detect_all` runs them all. Only numpy, :mod:`roadlink.domain` and the fusion grid are imported:
no gRPC, MQTT or generated code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from roadlink.advisories.advisory_record import advisory_id
from roadlink.advisories.forward_collision import ForwardCollisionConfig, detect_forward_collisions
from roadlink.advisories.intersection_conflict import IntersectionConflictConfig, detect_intersection_conflicts
from roadlink.advisories.lane_match import LaneMatch, match_lanes
from roadlink.advisories.map_model import Lane, LaneKind, LaneUse, RoadMap
from roadlink.advisories.over_speed import OverSpeedConfig, detect_over_speed
from roadlink.advisories.red_light import RedLightConfig, detect_red_light_violations
from roadlink.advisories.scene import Scene
from roadlink.advisories.signal_state import SignalLookup
from roadlink.advisories.stalled_vehicle import StalledVehicleConfig, StalledVehicleDetector
from roadlink.advisories.vru_in_path import VruInPathConfig, detect_vrus_in_path
from roadlink.advisories.wrong_way import WrongWayConfig, detect_wrong_way
from roadlink.domain.geodesy import LocalOrigin
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.situation import Advisory, Track

__all__ = [
    "AdvisoryConfig",
    "ForwardCollisionConfig",
    "IntersectionConflictConfig",
    "Lane",
    "LaneKind",
    "LaneMatch",
    "LaneUse",
    "OverSpeedConfig",
    "RedLightConfig",
    "RoadMap",
    "Scene",
    "SignalLookup",
    "StalledVehicleConfig",
    "StalledVehicleDetector",
    "VruInPathConfig",
    "WrongWayConfig",
    "advisory_id",
    "detect_all",
    "detect_forward_collisions",
    "detect_intersection_conflicts",
    "detect_over_speed",
    "detect_red_light_violations",
    "detect_vrus_in_path",
    "detect_wrong_way",
    "match_lanes",
]


@dataclass(frozen=True, slots=True)
class AdvisoryConfig:
    """The thresholds of every detector (the stalled-vehicle ones live in its :class:`StalledVehicleDetector`)."""

    forward_collision: ForwardCollisionConfig = field(default_factory=ForwardCollisionConfig)
    intersection_conflict: IntersectionConflictConfig = field(default_factory=IntersectionConflictConfig)
    vru_in_path: VruInPathConfig = field(default_factory=VruInPathConfig)
    wrong_way: WrongWayConfig = field(default_factory=WrongWayConfig)
    over_speed: OverSpeedConfig = field(default_factory=OverSpeedConfig)
    red_light: RedLightConfig = field(default_factory=RedLightConfig)


def detect_all(
    tracks: Sequence[Track],
    time_unix_ms: int,
    *,
    road_map: RoadMap | None = None,
    signals: Sequence[SignalPhaseAndTiming] = (),
    stalled: StalledVehicleDetector | None = None,
    config: AdvisoryConfig = AdvisoryConfig(),
    origin: LocalOrigin | None = None,
) -> list[Advisory]:
    """Every advisory for ``tracks`` at ``time_unix_ms``, sorted by type then advisory id.

    Args:
        tracks: The fused picture (any order); see :meth:`Scene.from_tracks` for what is left out.
        time_unix_ms: Detection time; tracks are moved to it with constant velocity.
        road_map: Lanes; without it the lane detectors (wrong way, over speed, stalled, red light) are skipped.
        signals: Current SPaT of the map's intersections; without it there are no red-light advisories.
        stalled: The caller's stalled-vehicle detector, which keeps its memory between calls (skipped if None).
        config: Thresholds.
        origin: ENU frame anchor when there is no map (the map's origin wins); default the first track.
    """
    frame = road_map.origin if road_map is not None else origin
    scene = Scene.from_tracks(tracks, time_unix_ms, frame)
    advisories = [
        *detect_forward_collisions(scene, config.forward_collision),
        *detect_intersection_conflicts(scene, config.intersection_conflict),
        *detect_vrus_in_path(scene, config.vru_in_path),
    ]
    if road_map is not None:
        lookup = SignalLookup(tuple(signals))
        advisories += detect_wrong_way(scene, road_map, config.wrong_way)
        advisories += detect_over_speed(scene, road_map, config.over_speed)
        advisories += detect_red_light_violations(scene, road_map, lookup, config.red_light)
        if stalled is not None:
            advisories += stalled.detect(scene, road_map, lookup)
    return sorted(advisories, key=lambda a: (a.type, a.advisory_id))

"""Over-speed: a vehicle on a lane faster than the lane's speed limit by a margin.

A vehicle on a VEHICLE lane with a known ``speed_limit_mps`` (see :mod:`.lane_match`), moving along the lane
(heading within ``max_heading_offset_deg`` of the lane's axis, either way, or unknown), is over speed when
``excess_mps = speed_mps - speed_limit_mps`` exceeds ``warning_margin_mps`` (WARNING) or
``critical_margin_mps`` (CRITICAL). The hazard is present now: the time-to-event is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from roadlink.advisories.advisory_record import Draft, issue_advisories
from roadlink.advisories.lane_match import match_lanes
from roadlink.advisories.map_model import RoadMap
from roadlink.advisories.scene import VEHICLE_CLASSES, Scene, heading_difference_deg
from roadlink.domain.classes import ObjectClass
from roadlink.domain.situation import Advisory, AdvisoryType, Severity

__all__ = ["OverSpeedConfig", "detect_over_speed"]


@dataclass(frozen=True, slots=True)
class OverSpeedConfig:
    """Thresholds of :func:`detect_over_speed` (m/s above the limit, degrees, seconds)."""

    warning_margin_mps: float = 2.0
    critical_margin_mps: float = 10.0
    max_heading_offset_deg: float = 45.0
    zone_look_ahead_s: float = 3.0
    classes: frozenset[ObjectClass] = VEHICLE_CLASSES


def detect_over_speed(scene: Scene, road_map: RoadMap, config: OverSpeedConfig = OverSpeedConfig()) -> list[Advisory]:
    """Over-speed advisories for ``scene`` on ``road_map``, one per speeding vehicle."""
    scene = scene.in_frame(road_map.origin)
    match = match_lanes(scene, road_map, scene.of_classes(config.classes))
    limits = np.array([lane.speed_limit_mps or np.nan for lane in road_map.lanes] + [np.nan], dtype=np.float64)
    excess = scene.speed_mps - limits[match.lane]
    offset = heading_difference_deg(scene.heading_deg, match.lane_heading_deg)
    along_lane = ~scene.heading_known | (np.minimum(offset, 180.0 - offset) <= config.max_heading_offset_deg)
    speeding = match.matched & along_lane & (excess > config.warning_margin_mps)
    drafts = []
    for index in np.flatnonzero(speeding):
        row = int(index)
        lane = road_map.lanes[int(match.lane[row])]
        severity = Severity.CRITICAL if excess[row] > config.critical_margin_mps else Severity.WARNING
        description = (
            f"Over speed: track {scene.track_id(row)} at {scene.speed_mps[row]:.1f} m/s on lane {lane.lane_id} "
            f"of intersection {lane.intersection_id}, limit {lane.speed_limit_mps:.1f} m/s"
        )
        ahead = scene.position_m[row] + scene.velocity_mps[row] * config.zone_look_ahead_s
        points = np.stack([scene.position_m[row], ahead])
        drafts.append(Draft(severity, (row,), points, 0.0, description))
    return issue_advisories(scene, AdvisoryType.OVER_SPEED, drafts)

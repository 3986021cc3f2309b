"""Red-light violation risk: a vehicle that cannot stop comfortably before a red stop line.

A vehicle moving along its lane (heading within ``heading_tolerance_deg``, speed at least
``min_speed_mps``) whose front is ``d_m > 0`` before the stop line of a lane whose every signal group shows
red (STOP_AND_REMAIN, see :meth:`SignalLookup.red_end_unix_ms`) needs ``decel_mps2 = v^2 / (2 d_m)`` to
stop there. It is at risk when ``decel_mps2 > comfortable_decel_mps2`` and, at constant speed, it arrives
(``t_s = d_m / v``) before the red ends (the end is unknown = red stays). The time-to-event is ``t_s``;
it is CRITICAL when ``decel_mps2 > critical_decel_mps2``, else WARNING. The zone covers the vehicle, the
stop line and ``zone_beyond_m`` past it, where cross traffic is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from roadlink.advisories.advisory_record import Draft, issue_advisories
from roadlink.advisories.lane_match import match_lanes
from roadlink.advisories.map_model import RoadMap
from roadlink.advisories.scene import VEHICLE_CLASSES, Scene, heading_difference_deg, unit_vectors
from roadlink.advisories.signal_state import SignalLookup
from roadlink.domain.classes import ObjectClass
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.situation import Advisory, AdvisoryType, Severity

__all__ = ["RedLightConfig", "detect_red_light_violations"]


@dataclass(frozen=True, slots=True)
class RedLightConfig:
    """Thresholds of :func:`detect_red_light_violations` (m/s^2, m/s, degrees, metres)."""

    comfortable_decel_mps2: float = 3.0
    critical_decel_mps2: float = 6.0
    min_speed_mps: float = 2.0
    heading_tolerance_deg: float = 60.0
    zone_beyond_m: float = 20.0
    classes: frozenset[ObjectClass] = VEHICLE_CLASSES


def detect_red_light_violations(
    scene: Scene,
    road_map: RoadMap,
    signals: SignalLookup | Sequence[SignalPhaseAndTiming],
    config: RedLightConfig = RedLightConfig(),
) -> list[Advisory]:
    """Red-light violation advisories for ``scene`` on ``road_map`` under ``signals``, one per vehicle."""
    scene = scene.in_frame(road_map.origin)
    lookup = signals if isinstance(signals, SignalLookup) else SignalLookup(tuple(signals))
    moving = scene.of_classes(config.classes) & scene.heading_known & (scene.speed_mps >= config.min_speed_mps)
    match = match_lanes(scene, road_map, moving)
    distance = match.to_stop_line_m - scene.length_m / 2
    with_lane = heading_difference_deg(scene.heading_deg, match.lane_heading_deg) <= config.heading_tolerance_deg
    approaching = match.matched & with_lane & (distance > 0.0)
    decel = np.divide(scene.speed_mps**2, 2 * distance, out=np.zeros(len(scene)), where=approaching)
    drafts = []
    for index in np.flatnonzero(approaching & (decel > config.comfortable_decel_mps2)):
        row = int(index)
        lane = road_map.lanes[int(match.lane[row])]
        red_end = lookup.red_end_unix_ms(lane, scene.time_unix_ms)
        time_s = float(distance[row] / scene.speed_mps[row])
        if red_end is None or scene.time_unix_ms + time_s * 1000 >= red_end:
            continue
        severity = Severity.CRITICAL if decel[row] > config.critical_decel_mps2 else Severity.WARNING
        description = (
            f"Red-light violation risk: track {scene.track_id(row)} reaches the red stop line of lane "
            f"{lane.lane_id} (intersection {lane.intersection_id}) in {time_s:.1f} s and needs "
            f"{decel[row]:.1f} m/s^2 to stop"
        )
        direction = unit_vectors(match.lane_heading_deg[row : row + 1])[0]
        stop_line = scene.position_m[row] + direction * match.to_stop_line_m[row]
        points = np.stack([scene.position_m[row], stop_line, stop_line + direction * config.zone_beyond_m])
        drafts.append(Draft(severity, (row,), points, time_s, description))
    return issue_advisories(scene, AdvisoryType.RED_LIGHT_VIOLATION, drafts)

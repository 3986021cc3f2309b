"""Wrong-way driving: a vehicle on a one-way lane heading against its direction of travel.

A vehicle with a known heading, moving at ``min_speed_mps`` or more, on a VEHICLE lane whose use is
INGRESS or EGRESS (see :mod:`.lane_match`), is wrong-way when its heading differs from the lane's
direction by more than ``min_angle_deg``. It is CRITICAL at ``critical_speed_mps`` or more, else WARNING.

The time-to-event is the time until it meets the nearest vehicle coming the right way on the same lane
(``gap_m / (v_wrong + v_oncoming)``, bumper to bumper), which is then also named in ``track_ids``; with
no such vehicle it is 0 (the hazard is present now). The advisory id names the wrong-way vehicle only.
The zone covers the vehicle and where it will be ``zone_look_ahead_s`` later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from roadlink.advisories.advisory_record import Draft, issue_advisories
from roadlink.advisories.lane_match import LaneMatch, match_lanes
from roadlink.advisories.map_model import LaneUse, RoadMap
from roadlink.advisories.scene import VEHICLE_CLASSES, IntArray, Scene, heading_difference_deg
from roadlink.domain.classes import ObjectClass
from roadlink.domain.geodesy import FloatArray
from roadlink.domain.situation import Advisory, AdvisoryType, Severity

__all__ = ["WrongWayConfig", "detect_wrong_way"]


@dataclass(frozen=True, slots=True)
class WrongWayConfig:
    """Thresholds of :func:`detect_wrong_way` (degrees, m/s, seconds)."""

    min_angle_deg: float = 120.0
    min_speed_mps: float = 2.0
    critical_speed_mps: float = 8.0
    right_way_tolerance_deg: float = 60.0
    zone_look_ahead_s: float = 5.0
    classes: frozenset[ObjectClass] = VEHICLE_CLASSES


def detect_wrong_way(scene: Scene, road_map: RoadMap, config: WrongWayConfig = WrongWayConfig()) -> list[Advisory]:
    """Wrong-way advisories for ``scene`` on ``road_map``, one per wrong-way vehicle."""
    scene = scene.in_frame(road_map.origin)
    vehicles = scene.of_classes(config.classes)
    match = match_lanes(scene, road_map, vehicles)
    one_way = np.array([lane.use is not LaneUse.BIDIRECTIONAL for lane in road_map.lanes] + [False], dtype=bool)
    against = heading_difference_deg(scene.heading_deg, match.lane_heading_deg) > config.min_angle_deg
    wrong = match.matched & one_way[match.lane] & scene.heading_known & against
    wrong &= scene.speed_mps >= config.min_speed_mps
    wrong_rows = np.flatnonzero(wrong)
    oncoming_rows, times_s = _oncoming(scene, match, wrong_rows, config)
    drafts = []
    for row, oncoming_row, time_s in zip(wrong_rows.tolist(), oncoming_rows.tolist(), times_s.tolist(), strict=True):
        oncoming = None if oncoming_row < 0 else oncoming_row
        speed = float(scene.speed_mps[row])
        severity = Severity.CRITICAL if speed >= config.critical_speed_mps else Severity.WARNING
        lane = road_map.lanes[int(match.lane[row])]
        description = (
            f"Wrong-way vehicle: track {scene.track_id(row)} at {speed:.1f} m/s against lane {lane.lane_id} "
            f"of intersection {lane.intersection_id}"
        )
        if oncoming is not None:
            description += f", meets track {scene.track_id(oncoming)} in {time_s:.1f} s"
        ahead = scene.position_m[row] + scene.velocity_mps[row] * config.zone_look_ahead_s
        points = np.stack([scene.position_m[row], ahead] + ([] if oncoming is None else [scene.position_m[oncoming]]))
        extra = () if oncoming is None else (oncoming,)
        drafts.append(Draft(severity, (row,), points, time_s, description, extra))
    return issue_advisories(scene, AdvisoryType.WRONG_WAY, drafts)


def _oncoming(scene: Scene, match: LaneMatch, rows: IntArray, config: WrongWayConfig) -> tuple[IntArray, FloatArray]:
    """For wrong-way ``rows`` ``(K,)``: the nearest vehicle ahead on the same lane that is not itself going the
    wrong way (heading within ``right_way_tolerance_deg`` of the lane, or stopped), ``(K,)`` rows or -1, and
    the time ``(K,)`` s until they meet (0 without one). One sorted search, no loop over the rows.
    """
    stopped = scene.speed_mps < 0.5
    agrees = scene.heading_known & (
        heading_difference_deg(scene.heading_deg, match.lane_heading_deg) <= config.right_way_tolerance_deg
    )
    others = np.flatnonzero(match.matched & (agrees | stopped))
    found, times = np.full(len(rows), -1, np.int64), np.zeros(len(rows))
    if not len(rows) or not len(others):
        return found, times
    span = float(np.nanmax(match.along_m)) + 1.0  # along_m is in [0, lane length]: one key orders lane, along
    keys = match.lane[others] * span + match.along_m[others]
    order = np.argsort(keys)
    slot = np.searchsorted(keys[order], match.lane[rows] * span + match.along_m[rows], side="left") - 1
    candidate = others[order][np.maximum(slot, 0)]
    valid = (slot >= 0) & (match.lane[candidate] == match.lane[rows])
    length = (scene.length_m[rows] + scene.length_m[candidate]) / 2
    gap = np.maximum(0.0, match.along_m[rows] - match.along_m[candidate] - length)
    time_s = gap / np.maximum(scene.speed_mps[rows] + scene.speed_mps[candidate], 1e-6)
    return np.where(valid, candidate, -1), np.where(valid, time_s, 0.0)

"""Vulnerable road user (pedestrian or cyclist) in a vehicle's predicted path.

A moving vehicle's path is the corridor ahead along its heading, ``half_width_m = (vehicle.width_m +
vru.width_m) / 2 + lateral_margin_m`` either side of its heading line. For a VRU at ``along_m`` ahead and
``lateral_m`` across, the vehicle's front reaches the VRU's along position after

    t_s = max(0, along_m - (vehicle.length_m + vru.length_m) / 2) / (v_vehicle - v_vru_along)

(constant velocities; only when closing faster than ``min_closing_speed_mps``, or already touching). The
VRU is in the path when, within ``horizon_s``, it is inside the corridor now or at that time
(``|lateral_m + v_vru_lateral * t_s| <= half_width_m``), which also catches someone stepping into the
road. ``t_s < critical_tte_s`` is CRITICAL, otherwise WARNING; the time-to-event is ``t_s``.

Cost: candidates come from a grid (:mod:`.neighbours`) around the middle of each vehicle's look-ahead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from roadlink.advisories.advisory_record import Draft, issue_advisories
from roadlink.advisories.neighbours import pairs_within, rows_of
from roadlink.advisories.scene import VEHICLE_CLASSES, VRU_CLASSES, IntArray, Scene, unit_vectors
from roadlink.domain.classes import ObjectClass
from roadlink.domain.geodesy import FloatArray
from roadlink.domain.situation import Advisory, AdvisoryType, Severity

__all__ = ["VruInPathConfig", "detect_vrus_in_path"]

_VRU_SPEED_BANDS_MPS = np.array([2.5, 5.0, 10.0])


@dataclass(frozen=True, slots=True)
class VruInPathConfig:
    """Thresholds of :func:`detect_vrus_in_path` (seconds, metres, m/s)."""

    horizon_s: float = 5.0
    critical_tte_s: float = 2.0
    lateral_margin_m: float = 1.0
    min_vehicle_speed_mps: float = 1.0
    min_closing_speed_mps: float = 0.5
    vehicle_classes: frozenset[ObjectClass] = VEHICLE_CLASSES
    vru_classes: frozenset[ObjectClass] = VRU_CLASSES


@dataclass(frozen=True, slots=True)
class _Hits:
    """(vehicle, VRU) scene rows ``(E,)`` with the time ``(E,)`` s until the vehicle reaches the VRU."""

    vehicle: IntArray
    vru: IntArray
    time_s: FloatArray


def detect_vrus_in_path(scene: Scene, config: VruInPathConfig = VruInPathConfig()) -> list[Advisory]:
    """VRU-in-path advisories for ``scene``, one per (vehicle, VRU) pair.

    Track ids are ``(vehicle, vru)``; the zone covers both and where the vehicle will meet the VRU.
    """
    hits = _hits(scene, config)
    drafts = []
    for k in range(len(hits.vehicle)):
        vehicle, vru, time_s = int(hits.vehicle[k]), int(hits.vru[k]), float(hits.time_s[k])
        severity = Severity.CRITICAL if time_s < config.critical_tte_s else Severity.WARNING
        kind = ObjectClass(int(scene.object_class[vru])).name.lower()
        description = (
            f"Vulnerable road user in path: {kind} track {scene.track_id(vru)} ahead of vehicle track "
            f"{scene.track_id(vehicle)}, reached in {time_s:.1f} s"
        )
        meeting = scene.position_m[vru] + scene.velocity_mps[vru] * time_s
        points = np.stack([scene.position_m[vehicle], scene.position_m[vru], meeting])
        drafts.append(Draft(severity, (vehicle, vru), points, time_s, description))
    return issue_advisories(scene, AdvisoryType.VULNERABLE_ROAD_USER, drafts)


def _hits(scene: Scene, config: VruInPathConfig) -> _Hits:
    """Every (vehicle, VRU) pair where the VRU is in the vehicle's path within the horizon."""
    vehicles = rows_of(
        scene.of_classes(config.vehicle_classes)
        & scene.heading_known
        & (scene.speed_mps >= config.min_vehicle_speed_mps)
    )
    vrus = rows_of(scene.of_classes(config.vru_classes))
    if not len(vehicles) or not len(vrus):
        return _Hits(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    vehicle, vru = _candidates(scene, vehicles, vrus, config)
    u = unit_vectors(scene.heading_deg[vehicle])
    offset = scene.position_m[vru] - scene.position_m[vehicle]
    along = np.einsum("ij,ij->i", offset, u)
    lateral = offset[:, 0] * u[:, 1] - offset[:, 1] * u[:, 0]  # positive to the right of the heading
    relative = scene.velocity_mps[vru]
    vru_along = np.einsum("ij,ij->i", relative, u)
    vru_lateral = relative[:, 0] * u[:, 1] - relative[:, 1] * u[:, 0]
    gap = np.maximum(0.0, along - (scene.length_m[vehicle] + scene.length_m[vru]) / 2)
    closing = scene.speed_mps[vehicle] - vru_along
    moving_in = closing > config.min_closing_speed_mps
    time_s = np.divide(gap, closing, out=np.where(gap > 0.0, np.inf, 0.0), where=moving_in)
    half_width = (scene.width_m[vehicle] + scene.width_m[vru]) / 2 + config.lateral_margin_m
    inside = (np.abs(lateral) <= half_width) | (np.abs(lateral + vru_lateral * np.minimum(time_s, 1e6)) <= half_width)
    keep = (along >= -scene.length_m[vehicle] / 2) & (time_s < config.horizon_s) & inside
    return _Hits(vehicle[keep], vru[keep], time_s[keep])


def _candidates(scene: Scene, vehicles: IntArray, vrus: IntArray, config: VruInPathConfig) -> tuple[IntArray, IntArray]:
    """(vehicle, VRU) row pairs ``(E,)`` that can pass the exact test, from one grid query per VRU speed band.

    A VRU moving at up to ``s`` m/s that ends up in a vehicle's path within the horizon starts within
    ``reach + s * horizon_s`` of the middle of the vehicle's look-ahead, where the look-ahead itself grows
    with ``s``. Banding the VRUs by speed keeps a few fast cyclists from inflating every pedestrian's cell.
    """
    u = unit_vectors(scene.heading_deg[vehicles])
    band = np.digitize(scene.speed_mps[vrus], _VRU_SPEED_BANDS_MPS)
    pairs: list[tuple[IntArray, IntArray]] = []
    for members in (vrus[band == b] for b in np.unique(band)):
        speed_max = float(scene.speed_mps[members].max())
        along_extent = (scene.speed_mps[vehicles] + speed_max) * config.horizon_s
        half_width = (scene.width_m[vehicles] + scene.width_m[members].max()) / 2 + config.lateral_margin_m
        middle = scene.position_m[vehicles] + u * (along_extent / 2)[:, None]
        reach = np.hypot((along_extent + scene.length_m[vehicles] + scene.length_m[members].max()) / 2, half_width)
        vi, wj = pairs_within(middle, scene.position_m[members], float(reach.max() + speed_max * config.horizon_s))
        pairs.append((vehicles[vi], members[wj]))
    return np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])

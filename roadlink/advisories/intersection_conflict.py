"""Intersection crossing-path conflict: two vehicles on crossing paths that reach the crossing point together.

Two moving vehicles whose headings differ by ``min_angle_deg`` to ``max_angle_deg`` are predicted along
straight lines at constant speed. Where the lines cross, at distances ``s1_m`` and ``s2_m`` ahead, the
arrival times are ``t_s = s_m / speed_mps``. A conflict is both arrivals ahead and within ``horizon_s``,
and ``|t1_s - t2_s| < arrival_window_s``. It is CRITICAL when both arrive within ``critical_horizon_s``
and within ``critical_window_s`` of each other, else WARNING. The time-to-event is the first arrival.

Cost: candidates come from a grid (:mod:`.neighbours`) over the midpoints of the predicted paths; two
paths that cross are at most ``max(speed) * horizon_s`` apart there, so work grows with local density.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from roadlink.advisories.advisory_record import Draft, issue_advisories
from roadlink.advisories.neighbours import pairs_within, rows_of
from roadlink.advisories.scene import VEHICLE_CLASSES, IntArray, Scene, heading_difference_deg, unit_vectors
from roadlink.domain.classes import ObjectClass
from roadlink.domain.geodesy import FloatArray
from roadlink.domain.situation import Advisory, AdvisoryType, Severity

__all__ = ["IntersectionConflictConfig", "detect_intersection_conflicts"]


@dataclass(frozen=True, slots=True)
class IntersectionConflictConfig:
    """Thresholds of :func:`detect_intersection_conflicts` (seconds, degrees, m/s)."""

    horizon_s: float = 6.0
    arrival_window_s: float = 2.0
    critical_horizon_s: float = 3.0
    critical_window_s: float = 1.0
    min_angle_deg: float = 45.0
    max_angle_deg: float = 135.0
    min_speed_mps: float = 1.0
    classes: frozenset[ObjectClass] = VEHICLE_CLASSES


@dataclass(frozen=True, slots=True)
class _Crossings:
    """Vehicle pairs (scene rows ``(E,)``) with their arrival times at the crossing point ``(E, 2)``."""

    first: IntArray
    second: IntArray
    t_first_s: FloatArray
    t_second_s: FloatArray
    point_m: FloatArray


def detect_intersection_conflicts(
    scene: Scene, config: IntersectionConflictConfig = IntersectionConflictConfig()
) -> list[Advisory]:
    """Crossing-path advisories for ``scene``, one per vehicle pair.

    Track ids are the pair in ascending id order; the zone covers both vehicles and the crossing point.
    """
    crossings = _crossings(scene, config)
    drafts = []
    for k in range(len(crossings.first)):
        rows = (int(crossings.first[k]), int(crossings.second[k]))
        times = (float(crossings.t_first_s[k]), float(crossings.t_second_s[k]))
        if scene.track_id(rows[1]) < scene.track_id(rows[0]):
            rows, times = (rows[1], rows[0]), (times[1], times[0])
        gap_s = abs(times[0] - times[1])
        critical = max(times) < config.critical_horizon_s and gap_s < config.critical_window_s
        description = (
            f"Crossing-path conflict: track {scene.track_id(rows[0])} reaches the crossing point in "
            f"{times[0]:.1f} s and track {scene.track_id(rows[1])} in {times[1]:.1f} s"
        )
        points = np.stack([scene.position_m[rows[0]], scene.position_m[rows[1]], crossings.point_m[k]])
        severity = Severity.CRITICAL if critical else Severity.WARNING
        drafts.append(Draft(severity, rows, points, min(times), description))
    return issue_advisories(scene, AdvisoryType.INTERSECTION_CONFLICT, drafts)


def _crossings(scene: Scene, config: IntersectionConflictConfig) -> _Crossings:
    """Pairs whose straight paths cross ahead of both, with both arrivals in the horizon and window."""
    movers = rows_of(scene.of_classes(config.classes) & scene.heading_known & (scene.speed_mps >= config.min_speed_mps))
    u = unit_vectors(scene.heading_deg[movers])
    reach = scene.speed_mps[movers] * config.horizon_s
    middle = scene.position_m[movers] + u * (reach / 2)[:, None]
    a, b = pairs_within(middle, middle, float(reach.max()) if len(reach) else 0.0, distinct=True)
    angle = heading_difference_deg(scene.heading_deg[movers[a]], scene.heading_deg[movers[b]])
    sine = _cross(u[a], u[b])
    crossing = (angle >= config.min_angle_deg) & (angle <= config.max_angle_deg) & (np.abs(sine) > 1e-6)
    a, b, denominator = a[crossing], b[crossing], sine[crossing]
    offset = scene.position_m[movers[b]] - scene.position_m[movers[a]]
    s_a = _cross(offset, u[b]) / denominator
    s_b = _cross(offset, u[a]) / denominator
    t_a, t_b = s_a / scene.speed_mps[movers[a]], s_b / scene.speed_mps[movers[b]]
    keep = (
        (t_a >= 0.0)
        & (t_b >= 0.0)
        & (t_a < config.horizon_s)
        & (t_b < config.horizon_s)
        & (np.abs(t_a - t_b) < config.arrival_window_s)
    )
    point = scene.position_m[movers[a]] + u[a] * s_a[:, None]
    return _Crossings(movers[a][keep], movers[b][keep], t_a[keep], t_b[keep], point[keep])


def _cross(p: FloatArray, q: FloatArray) -> FloatArray:
    """z component of the cross products of ``(E, 2)`` vectors."""
    return np.asarray(p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0], dtype=np.float64)

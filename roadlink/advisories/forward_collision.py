"""Forward collision risk: a vehicle closing on the object ahead of it in its path.

For each moving follower (a vehicle with a known heading), the lead is the nearest object whose centre
lies ahead along the follower's heading, within ``corridor_half_width_m`` of its heading line, and that
travels the same way (heading within ``heading_tolerance_deg``) or stands still (below
``stationary_speed_mps``, where a heading means little). With the bumper-to-bumper gap

    gap_m = max(0, along_m - (follower.length_m + lead.length_m) / 2)

and the closing speed along the follower's heading ``closing_mps = (v_follower - v_lead) . u_follower``,
the time-to-collision is ``ttc_s = gap_m / closing_mps`` (only when closing faster than
``min_closing_speed_mps``). ``ttc_s < critical_ttc_s`` is CRITICAL, ``ttc_s < warning_ttc_s`` WARNING.

Cost: candidates come from a grid (:mod:`.neighbours`) around the midpoint of each follower's look-ahead,
so the work grows with local density, not with N^2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from roadlink.advisories.advisory_record import Draft, issue_advisories, severity_below
from roadlink.advisories.neighbours import best_per_group, pairs_within, rows_of
from roadlink.advisories.scene import VEHICLE_CLASSES, IntArray, Scene, heading_difference_deg, unit_vectors
from roadlink.domain.classes import ObjectClass
from roadlink.domain.geodesy import FloatArray
from roadlink.domain.situation import Advisory, AdvisoryType

__all__ = ["ForwardCollisionConfig", "detect_forward_collisions"]


@dataclass(frozen=True, slots=True)
class ForwardCollisionConfig:
    """Thresholds of :func:`detect_forward_collisions` (seconds, metres, m/s, degrees)."""

    warning_ttc_s: float = 4.0
    critical_ttc_s: float = 2.0
    heading_tolerance_deg: float = 30.0
    corridor_half_width_m: float = 1.8
    min_follower_speed_mps: float = 1.0
    min_closing_speed_mps: float = 0.5
    stationary_speed_mps: float = 0.5
    max_range_m: float = 250.0
    follower_classes: frozenset[ObjectClass] = VEHICLE_CLASSES
    lead_classes: frozenset[ObjectClass] = VEHICLE_CLASSES | {ObjectClass.OBSTACLE}


@dataclass(frozen=True, slots=True)
class _Pairs:
    """Follower/lead scene rows ``(E,)`` with the lead's offset along and across the follower's heading."""

    follower: IntArray
    lead: IntArray
    along_m: FloatArray
    lateral_m: FloatArray


def detect_forward_collisions(
    scene: Scene, config: ForwardCollisionConfig = ForwardCollisionConfig()
) -> list[Advisory]:
    """Forward collision advisories for ``scene``, one per follower at most (its nearest in-path lead).

    Track ids are ``(follower, lead)``; the zone covers both and the predicted collision point.
    """
    pairs = _in_path_pairs(scene, config)
    if not len(pairs.follower):
        return []
    nearest = best_per_group(pairs.follower, pairs.along_m)
    follower, lead, along = pairs.follower[nearest], pairs.lead[nearest], pairs.along_m[nearest]
    u = unit_vectors(scene.heading_deg[follower])
    gap = np.maximum(0.0, along - (scene.length_m[follower] + scene.length_m[lead]) / 2)
    closing = np.einsum("ij,ij->i", scene.velocity_mps[follower] - scene.velocity_mps[lead], u)
    closing_fast = closing > config.min_closing_speed_mps
    ttc = np.divide(gap, closing, out=np.full(len(gap), np.inf), where=closing_fast)
    drafts = []
    for k in np.flatnonzero(ttc < config.warning_ttc_s):
        severity = severity_below(float(ttc[k]), config.critical_ttc_s, config.warning_ttc_s)
        if severity is None:
            continue
        f, ld = int(follower[k]), int(lead[k])
        event = scene.position_m[ld] + scene.velocity_mps[ld] * ttc[k]
        description = (
            f"Forward collision risk: track {scene.track_id(f)} closing on track {scene.track_id(ld)} "
            f"at {closing[k]:.1f} m/s, gap {gap[k]:.1f} m, time to collision {ttc[k]:.1f} s"
        )
        points = np.stack([scene.position_m[f], scene.position_m[ld], event])
        drafts.append(Draft(severity, (f, ld), points, float(ttc[k]), description))
    return issue_advisories(scene, AdvisoryType.FORWARD_COLLISION, drafts)


def _in_path_pairs(scene: Scene, config: ForwardCollisionConfig) -> _Pairs:
    """Every (follower, lead) pair with the lead in the follower's corridor, within its look-ahead."""
    followers = rows_of(
        scene.of_classes(config.follower_classes)
        & scene.heading_known
        & (scene.speed_mps >= config.min_follower_speed_mps)
    )
    leads = rows_of(scene.of_classes(config.lead_classes))
    if not len(followers) or not len(leads):
        return _Pairs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    u = unit_vectors(scene.heading_deg[followers])
    # Closing speed is at most v_follower + stationary speed, so a lead that matters is within this along.
    look_ahead = (scene.speed_mps[followers] + config.stationary_speed_mps) * config.warning_ttc_s
    look_ahead = np.minimum(look_ahead + (scene.length_m[followers] + scene.length_m.max()) / 2, config.max_range_m)
    middle = scene.position_m[followers] + u * (look_ahead / 2)[:, None]
    reach = float(np.max(np.hypot(look_ahead / 2, config.corridor_half_width_m)))
    fi, lj = pairs_within(middle, scene.position_m[leads], reach)
    follower, lead = followers[fi], leads[lj]
    offset = scene.position_m[lead] - scene.position_m[follower]
    along = np.einsum("ij,ij->i", offset, u[fi])
    lateral = np.abs(offset[:, 0] * u[fi, 1] - offset[:, 1] * u[fi, 0])
    same_way = scene.heading_known[lead] & (
        heading_difference_deg(scene.heading_deg[lead], scene.heading_deg[follower]) <= config.heading_tolerance_deg
    )
    keep = (
        (follower != lead)
        & (along > 0.0)
        & (along <= look_ahead[fi])
        & (lateral <= config.corridor_half_width_m)
        & (same_way | (scene.speed_mps[lead] < config.stationary_speed_mps))
    )
    return _Pairs(follower[keep], lead[keep], along[keep], lateral[keep])

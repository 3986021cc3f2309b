"""Turning a detected hazard into an :class:`~roadlink.domain.situation.Advisory`: id, zone, severity, validity.

Advisory ids are stable: the same hazard (same type, same tracks in the same roles) gets the same id on
every call, whatever its severity or time-to-event, so a receiver can update or clear it. The id is
``"<type>:<id>-<id>..."``, for example ``"forward_collision:12-34"`` (follower 12, lead 34).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from roadlink.advisories.scene import Scene
from roadlink.domain.geodesy import FloatArray
from roadlink.domain.situation import Advisory, AdvisoryType, Severity
from roadlink.domain.spatial import Circle

__all__ = [
    "DEFAULT_VALIDITY_S",
    "MIN_ZONE_RADIUS_M",
    "ZONE_MARGIN_M",
    "Draft",
    "advisory_id",
    "covering_circle_m",
    "issue_advisories",
    "severity_below",
]

DEFAULT_VALIDITY_S = 1.0
"""An advisory is valid this long after it is issued unless a later call repeats it (seconds)."""

ZONE_MARGIN_M = 5.0
"""Margin added around the points a zone must cover, metres."""

MIN_ZONE_RADIUS_M = 10.0
"""Smallest zone radius, metres."""


def advisory_id(kind: AdvisoryType, track_ids: Sequence[int]) -> str:
    """The stable id of a hazard of ``kind`` involving ``track_ids`` in this order (roles matter)."""
    return f"{kind.name.lower()}:{'-'.join(str(i) for i in track_ids)}"


def severity_below(value: float, critical: float, warning: float) -> Severity | None:
    """CRITICAL when ``value < critical``, WARNING when ``value < warning``, else None (no hazard)."""
    if value < critical:
        return Severity.CRITICAL
    if value < warning:
        return Severity.WARNING
    return None


@dataclass(frozen=True, slots=True)
class Draft:
    """A detected hazard before it becomes an :class:`Advisory` (see :func:`issue_advisories`).

    Attributes:
        severity: Urgency.
        rows: Scene rows of the involved tracks, in the order that defines the id.
        zone_points_m: ``(K, 2)`` ENU points (metres) the zone must cover: the objects and the event point.
        time_to_event_s: Seconds until the event (0 = already present).
        description: Human-readable text.
        extra_rows: Rows of further involved tracks, listed after ``rows`` in ``track_ids`` but not part of
            the id (for example the oncoming vehicle of a wrong-way driver, which may change).
    """

    severity: Severity
    rows: tuple[int, ...]
    zone_points_m: FloatArray
    time_to_event_s: float
    description: str
    extra_rows: tuple[int, ...] = ()


def covering_circle_m(points_m: FloatArray, margin_m: float = ZONE_MARGIN_M) -> tuple[FloatArray, float]:
    """Centre ``(2,)`` (the centroid) and radius (metres) of a circle covering ``(K, 2)`` points plus ``margin_m``."""
    points = np.asarray(points_m, dtype=np.float64).reshape(-1, 2)
    if not len(points):
        return np.zeros(2), MIN_ZONE_RADIUS_M
    centre = points.mean(axis=0)
    reach = float(np.sqrt(np.max(np.sum((points - centre) ** 2, axis=1))))
    return centre, max(MIN_ZONE_RADIUS_M, reach + margin_m)


def issue_advisories(scene: Scene, kind: AdvisoryType, drafts: Sequence[Draft]) -> list[Advisory]:
    """Advisories of ``kind`` from ``drafts``, valid for :data:`DEFAULT_VALIDITY_S` from the scene time.

    The zone centres of all drafts go to WGS84 in one vectorized conversion. Times-to-event are rounded to
    0.01 s (negative ones to 0, non-finite ones to None).
    """
    circles = [covering_circle_m(draft.zone_points_m) for draft in drafts]
    centres = scene.positions(np.array([c for c, _ in circles]).reshape(-1, 2))
    return [
        Advisory(
            advisory_id=advisory_id(kind, [scene.track_id(row) for row in draft.rows]),
            type=kind,
            severity=draft.severity,
            time_unix_ms=scene.time_unix_ms,
            track_ids=tuple(scene.track_id(row) for row in (*draft.rows, *draft.extra_rows)),
            zone=Circle(centre, radius_m),
            time_to_event_s=_rounded_s(draft.time_to_event_s),
            valid_until_unix_ms=scene.time_unix_ms + round(DEFAULT_VALIDITY_S * 1000),
            description=draft.description,
        )
        for draft, centre, (_, radius_m) in zip(drafts, centres, circles, strict=True)
    ]


def _rounded_s(seconds: float) -> float | None:
    return round(max(0.0, seconds), 2) if math.isfinite(seconds) else None

"""Advisories per zone: what RSU delivery (the downlink service) and situation streams ask the picture for.

:func:`advisories_for_zone` is the one call for "every hazard an RSU covering ``zone`` must broadcast":
the advisories of the picture's latest snapshot that are still valid at ``now_unix_ms`` and concern the
zone. An advisory concerns a zone when its own zone (a circle from the detectors) **overlaps** it, or,
without a zone of its own, when one of its tracks lies in it. Overlap rather than "centre inside"
matters at the edge of a coverage area: a wrong-way driver 50 m outside an RSU's range whose predicted
path enters it is that RSU's business.

:func:`zone_overlaps` is the geometry (great-circle distances as in
:func:`roadlink.domain.spatial.distance_m`): circle/circle by centre distance, circle/box by the distance
to the box's nearest point, box/box by interval overlap; :func:`contains_many` is ``Area.contains`` for
many positions at once. :meth:`cloud.rsu_registry.RsuRegistry.zone_of` gives an RSU's zone from its
heartbeat position.
"""

from __future__ import annotations

import math

import numpy as np

from cloud.picture import Picture
from roadlink.domain.geodesy import FloatArray
from roadlink.domain.situation import Advisory
from roadlink.domain.spatial import Area, BoundingBox, Circle, Position, distance_m
from roadlink.fusion.state import BoolArray

__all__ = ["advisories_for_zone", "contains_many", "still_valid", "zone_overlaps"]

_EARTH_RADIUS_M = 6_371_008.8
"""The mean radius `roadlink.domain.spatial.distance_m` uses, so both agree to rounding."""


def advisories_for_zone(picture: Picture, zone: Area, now_unix_ms: int) -> list[Advisory]:
    """The picture's advisories for ``zone`` that are still valid at ``now_unix_ms`` (module docstring)."""
    return [advisory for advisory in picture.advisories_in(zone) if still_valid(advisory, now_unix_ms)]


def still_valid(advisory: Advisory, now_unix_ms: int) -> bool:
    """True when the advisory has no end of validity or it is later than ``now_unix_ms``."""
    return advisory.valid_until_unix_ms is None or advisory.valid_until_unix_ms > now_unix_ms


def contains_many(area: Area, latitude_deg: FloatArray, longitude_deg: FloatArray) -> BoolArray:
    """``(N,)`` True where the position of ``(N,)`` degrees lies in ``area`` (`Area.contains`, vectorized).

    Situation streams ask this for every track of the picture at every update, so it must not loop in Python.
    """
    lat = np.asarray(latitude_deg, dtype=np.float64)
    lon = np.asarray(longitude_deg, dtype=np.float64)
    if isinstance(area, BoundingBox):
        inside = (lat >= area.min_latitude_deg) & (lat <= area.max_latitude_deg)
        return np.asarray(inside & (lon >= area.min_longitude_deg) & (lon <= area.max_longitude_deg), dtype=bool)
    lat_c, lat_p = math.radians(area.center.latitude_deg), np.radians(lat)
    d_lat, d_lon = lat_p - lat_c, np.radians(lon - area.center.longitude_deg)
    h = np.sin(d_lat / 2) ** 2 + math.cos(lat_c) * np.cos(lat_p) * np.sin(d_lon / 2) ** 2
    distance = 2 * _EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return np.asarray(distance <= area.radius_m, dtype=bool)


def zone_overlaps(a: Area, b: Area) -> bool:
    """True when two areas share at least one point."""
    if isinstance(a, Circle):
        return distance_m(a.center, b.center) <= a.radius_m + b.radius_m if isinstance(b, Circle) else _meets(a, b)
    if isinstance(b, Circle):
        return _meets(b, a)
    return (
        a.min_latitude_deg <= b.max_latitude_deg
        and b.min_latitude_deg <= a.max_latitude_deg
        and a.min_longitude_deg <= b.max_longitude_deg
        and b.min_longitude_deg <= a.max_longitude_deg
    )


def _meets(circle: Circle, box: BoundingBox) -> bool:
    """The box point nearest the circle's centre (clamped degrees) is within the radius."""
    centre = circle.center
    nearest = Position(
        min(max(centre.latitude_deg, box.min_latitude_deg), box.max_latitude_deg),
        min(max(centre.longitude_deg, box.min_longitude_deg), box.max_longitude_deg),
    )
    return distance_m(centre, nearest) <= circle.radius_m

"""Advisories per zone: what RSU delivery (the downlink service) and situation streams ask the picture for.

:func:`advisories_for_zone` is the one call for "every hazard an RSU covering ``zone`` must broadcast":
the advisories of the picture's latest snapshot that are still valid at ``now_unix_ms`` and concern the
zone. An advisory concerns a zone when its own zone (a circle from the detectors) **overlaps** it, or,
without a zone of its own, when one of its tracks lies in it. Overlap rather than "centre inside"
matters at the edge of a coverage area: a wrong-way driver 50 m outside an RSU's range whose predicted
path enters it is that RSU's business.

:func:`zone_overlaps` is the geometry (flat-earth, accurate to well under a metre at the distances of a
zone): circle/circle by centre distance, circle/box by the distance to the box's nearest point, box/box
by interval overlap. :meth:`cloud.rsu_registry.RsuRegistry.zone_of` gives an RSU's zone from its
heartbeat position.
"""

from __future__ import annotations

from cloud.picture import Picture
from roadlink.domain.situation import Advisory
from roadlink.domain.spatial import Area, BoundingBox, Circle, Position, distance_m

__all__ = ["advisories_for_zone", "still_valid", "zone_overlaps"]


def advisories_for_zone(picture: Picture, zone: Area, now_unix_ms: int) -> list[Advisory]:
    """The picture's advisories for ``zone`` that are still valid at ``now_unix_ms`` (module docstring)."""
    return [advisory for advisory in picture.advisories_in(zone) if still_valid(advisory, now_unix_ms)]


def still_valid(advisory: Advisory, now_unix_ms: int) -> bool:
    """True when the advisory has no end of validity or it is later than ``now_unix_ms``."""
    return advisory.valid_until_unix_ms is None or advisory.valid_until_unix_ms > now_unix_ms


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

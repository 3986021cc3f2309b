"""Positions, accuracies, sizes and areas on the WGS84 ellipsoid, as plain immutable values.

Areas answer `contains` with a local flat-earth approximation, which is accurate to well under a metre for
areas a few kilometres across (what a vehicle or operator watches).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "Area",
    "BoundingBox",
    "Circle",
    "Covariance2D",
    "Dimensions",
    "Position",
    "PositionAccuracy",
    "distance_m",
]

_EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class Position:
    """WGS84 position: latitude/longitude in degrees, elevation above the ellipsoid in metres (None = unknown)."""

    latitude_deg: float
    longitude_deg: float
    elevation_m: float | None = None


@dataclass(frozen=True, slots=True)
class PositionAccuracy:
    """One-sigma accuracy ellipse: axes in metres, orientation in degrees clockwise from north."""

    semi_major_m: float
    semi_minor_m: float
    semi_major_orientation_deg: float | None = None


@dataclass(frozen=True, slots=True)
class Covariance2D:
    """Symmetric 2x2 covariance in local east/north, in the square of the owning field's unit."""

    east_east: float
    east_north: float
    north_north: float

    @classmethod
    def isotropic(cls, sigma: float) -> Covariance2D:
        """Covariance of a circular error with standard deviation `sigma`."""
        return cls(sigma * sigma, 0.0, sigma * sigma)


@dataclass(frozen=True, slots=True)
class Dimensions:
    """Outer size in metres; height None when unknown."""

    length_m: float
    width_m: float
    height_m: float | None = None


def distance_m(a: Position, b: Position) -> float:
    """Great-circle (haversine) distance between two positions, metres, on a mean-radius sphere."""
    lat_a, lat_b = math.radians(a.latitude_deg), math.radians(b.latitude_deg)
    d_lat = lat_b - lat_a
    d_lon = math.radians(b.longitude_deg - a.longitude_deg)
    h = math.sin(d_lat / 2) ** 2 + math.cos(lat_a) * math.cos(lat_b) * math.sin(d_lon / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class Circle:
    """All points within `radius_m` metres of `center`."""

    center: Position
    radius_m: float

    def contains(self, position: Position) -> bool:
        """True when `position` is inside or on the circle."""
        return distance_m(self.center, position) <= self.radius_m


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """A latitude/longitude box in degrees (does not wrap the antimeridian)."""

    min_latitude_deg: float
    min_longitude_deg: float
    max_latitude_deg: float
    max_longitude_deg: float

    def contains(self, position: Position) -> bool:
        """True when `position` is inside or on the box."""
        return (
            self.min_latitude_deg <= position.latitude_deg <= self.max_latitude_deg
            and self.min_longitude_deg <= position.longitude_deg <= self.max_longitude_deg
        )


Area = Circle | BoundingBox

"""Object classes shared by perception, vehicles and tracks.

Values equal the v1 proto enum `v2x.common.v1.ObjectClass`, so conversion is a plain int cast.
"""

from __future__ import annotations

import enum

__all__ = ["ObjectClass"]


class ObjectClass(enum.IntEnum):
    """What kind of road user or object something is."""

    UNSPECIFIED = 0
    UNKNOWN = 1
    PASSENGER_CAR = 2
    BUS = 3
    LIGHT_TRUCK = 4
    TRUCK = 5
    MOTORCYCLE = 6
    BICYCLE = 7
    PEDESTRIAN = 8
    ANIMAL = 9
    EMERGENCY_VEHICLE = 10
    OBSTACLE = 11
    VEHICLE = 12

"""A connected vehicle's self-reported state (the core of a BSM / CAM), in SI units."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from roadlink.domain.classes import ObjectClass
from roadlink.domain.perception import Provenance
from roadlink.domain.spatial import Dimensions, Position, PositionAccuracy

__all__ = ["TransmissionState", "VehicleState"]


class TransmissionState(enum.IntEnum):
    """Gear state; values equal the v1 proto enum (J2735 code + 1, 0 = unavailable)."""

    UNSPECIFIED = 0
    NEUTRAL = 1
    PARK = 2
    FORWARD_GEARS = 3
    REVERSE_GEARS = 4


@dataclass(frozen=True, slots=True)
class VehicleState:
    """One state report of a vehicle.

    temporary_id is 4 (J2735) or 8 (CSAE) bytes. speed in m/s, heading in degrees clockwise from north,
    accelerations in m/s^2 (longitudinal forward, lateral right), yaw rate in deg/s. None = unavailable.
    """

    temporary_id: bytes
    time_unix_ms: int
    position: Position
    message_count: int = 0
    accuracy: PositionAccuracy | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None
    steering_wheel_angle_deg: float | None = None
    longitudinal_acceleration_mps2: float | None = None
    lateral_acceleration_mps2: float | None = None
    vertical_acceleration_mps2: float | None = None
    yaw_rate_deg_per_s: float | None = None
    transmission: TransmissionState = TransmissionState.UNSPECIFIED
    size: Dimensions | None = None
    vehicle_class: ObjectClass = ObjectClass.UNSPECIFIED
    provenance: Provenance | None = None

    @property
    def vehicle_id(self) -> str:
        """The temporary id as lowercase hex, used as a source id."""
        return self.temporary_id.hex()

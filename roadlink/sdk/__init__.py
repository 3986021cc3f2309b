"""The OEM SDK: publish a vehicle's state and follow the situation around it.

Users get plain domain objects (`VehicleState`, `SituationUpdate`, `Track`, ...) and `ServiceError` with a
`StatusCode`; never raw protobuf or `grpc.RpcError`.
"""

from __future__ import annotations

from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import RoadlinkError, ServiceError, StatusCode, ValidationError
from roadlink.domain.perception import Provenance
from roadlink.domain.situation import Advisory, AdvisoryType, Severity, SituationUpdate, Track
from roadlink.domain.spatial import BoundingBox, Circle, Dimensions, Position, PositionAccuracy
from roadlink.domain.vehicle import TransmissionState, VehicleState
from roadlink.sdk.client import PublishResult, SituationSubscription, StatePublisher, VehicleClient

__all__ = [
    "Advisory",
    "AdvisoryType",
    "BoundingBox",
    "Circle",
    "Dimensions",
    "ObjectClass",
    "Position",
    "PositionAccuracy",
    "Provenance",
    "PublishResult",
    "RoadlinkError",
    "ServiceError",
    "Severity",
    "SituationSubscription",
    "SituationUpdate",
    "StatePublisher",
    "StatusCode",
    "Track",
    "TransmissionState",
    "ValidationError",
    "VehicleClient",
    "VehicleState",
]

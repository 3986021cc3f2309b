"""The OEM SDK: publish a vehicle's state and follow the situation around it.

Two clients on one core (`ClientCore`): `VehicleClient` (asyncio) and `SyncVehicleClient` (blocking, runs the
async client on a private loop thread). Both connect with `ConnectionOptions` (address, `TlsCredentials` or
insecure, bearer token, connect timeout, `ReconnectPolicy`), publish the vehicle's own state at most 10 Hz on
one long-lived stream, and follow the situation around the vehicle: the watched circle moves with the
published position, and the stream is resumed after a node restart.

Users get plain domain objects (`VehicleState`, `Situation`, `Track`, `Advisory`, `SignalPhaseAndTiming`, ...)
and `ServiceError` with a `StatusCode`; never raw protobuf or `grpc.RpcError`. See docs/oem-guide.md.
"""

from __future__ import annotations

from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import RoadlinkError, ServiceError, StatusCode, ValidationError
from roadlink.domain.perception import Provenance
from roadlink.domain.signal import MovementEvent, MovementPhase, MovementState, SignalPhaseAndTiming
from roadlink.domain.situation import Advisory, AdvisoryType, Severity, SituationUpdate, Track
from roadlink.domain.spatial import (
    BoundingBox,
    Circle,
    Covariance2D,
    Dimensions,
    Position,
    PositionAccuracy,
    distance_m,
)
from roadlink.domain.vehicle import TransmissionState, VehicleState
from roadlink.sdk.client import PublishResult, SituationSubscription, StatePublisher, VehicleClient
from roadlink.sdk.core import ClientCore, ConnectionOptions, ReconnectPolicy, TlsCredentials
from roadlink.sdk.feed import SituationFeed
from roadlink.sdk.publisher import PublishStats, VehiclePublisher
from roadlink.sdk.situation import Situation
from roadlink.sdk.sync_client import SyncSituationFeed, SyncVehicleClient

__all__ = [
    "Advisory",
    "AdvisoryType",
    "BoundingBox",
    "Circle",
    "ClientCore",
    "ConnectionOptions",
    "Covariance2D",
    "Dimensions",
    "MovementEvent",
    "MovementPhase",
    "MovementState",
    "ObjectClass",
    "Position",
    "PositionAccuracy",
    "Provenance",
    "PublishResult",
    "PublishStats",
    "ReconnectPolicy",
    "RoadlinkError",
    "ServiceError",
    "Severity",
    "SignalPhaseAndTiming",
    "Situation",
    "SituationFeed",
    "SituationSubscription",
    "SituationUpdate",
    "StatePublisher",
    "StatusCode",
    "SyncSituationFeed",
    "SyncVehicleClient",
    "TlsCredentials",
    "Track",
    "TransmissionState",
    "ValidationError",
    "VehicleClient",
    "VehiclePublisher",
    "VehicleState",
    "distance_m",
]

"""The OEM SDK: publish a vehicle's state and follow the situation around it.

Two clients on one core (`ClientCore`): `VehicleClient` (asyncio) and `SyncVehicleClient` (blocking, runs the
async client on a private loop thread). Both connect with `ConnectionOptions` (address, `TlsCredentials` or
insecure, bearer token, connect timeout, `ReconnectPolicy`), publish the vehicle's own state at most 10 Hz on
one long-lived stream, and follow the situation around the vehicle: the watched circle moves with the
published position, and the stream is resumed after a node restart. `follow_roadside(target)` receives what a
nearby roadside node broadcasts (`RoadsideUpdate`: fused `PerceptionFrame`s, `SignalPhaseAndTiming`, the lane
map `RoadsideMap`, `Advisory` and `RoadSideInfo`), following the vehicle and resuming the same way.

Users get plain domain objects (`VehicleState`, `Situation`, `Track`, `Advisory`, `SignalPhaseAndTiming`, ...)
and `ServiceError` with a `StatusCode`; never raw protobuf or `grpc.RpcError`. See docs/oem-guide.md.
"""

from __future__ import annotations

from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import RoadlinkError, ServiceError, StatusCode, ValidationError
from roadlink.domain.map_validation import MapNode
from roadlink.domain.perception import AirMessage, DetectedObject, PerceptionFrame, Provenance
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
from roadlink.sdk.lane_map import (
    IntersectionMap,
    Lane,
    LaneConnection,
    LaneDirection,
    LaneType,
    RoadsideMap,
    SpeedLimit,
    SpeedLimitType,
)
from roadlink.sdk.publisher import PublishStats, VehiclePublisher
from roadlink.sdk.road_info import CodeSystem, RoadEvent, RoadPath, RoadSideInfo, RoadSign
from roadlink.sdk.roadside_feed import RoadsideContent, RoadsideFeed, RoadsideUpdate
from roadlink.sdk.situation import Situation
from roadlink.sdk.sync_client import SyncRoadsideFeed, SyncSituationFeed, SyncVehicleClient

__all__ = [
    "Advisory",
    "AdvisoryType",
    "AirMessage",
    "BoundingBox",
    "Circle",
    "ClientCore",
    "CodeSystem",
    "ConnectionOptions",
    "Covariance2D",
    "DetectedObject",
    "Dimensions",
    "IntersectionMap",
    "Lane",
    "LaneConnection",
    "LaneDirection",
    "LaneType",
    "MapNode",
    "MovementEvent",
    "MovementPhase",
    "MovementState",
    "ObjectClass",
    "PerceptionFrame",
    "Position",
    "PositionAccuracy",
    "Provenance",
    "PublishResult",
    "PublishStats",
    "ReconnectPolicy",
    "RoadEvent",
    "RoadPath",
    "RoadSideInfo",
    "RoadSign",
    "RoadlinkError",
    "RoadsideContent",
    "RoadsideFeed",
    "RoadsideMap",
    "RoadsideUpdate",
    "ServiceError",
    "Severity",
    "SignalPhaseAndTiming",
    "Situation",
    "SituationFeed",
    "SituationSubscription",
    "SituationUpdate",
    "SpeedLimit",
    "SpeedLimitType",
    "StatePublisher",
    "StatusCode",
    "SyncRoadsideFeed",
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

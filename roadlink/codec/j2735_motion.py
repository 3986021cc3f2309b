"""J2735 data frames for the motion of vehicles and travellers, shared by the BSM, the PSM and the SDSM.

Written from the public field facts (units, ranges, component order; see the interop notes) and checked bit for
bit against real captures (the BSMs' path history and prediction); no J2735 ASN.1 text is used or kept here.
"""

from __future__ import annotations

from roadlink.codec.j2735_common import PositionalAccuracy, Speed, field, optional
from roadlink.codec.uper import BitString, Integer, Sequence, SequenceOf, Size, Undescribed

__all__ = [
    "AccelerationSet4Way",
    "BasicVehicleClass",
    "CoarseHeading",
    "ExteriorLights",
    "PathHistory",
    "PathHistoryPoint",
    "PathPrediction",
    "SteeringWheelAngle",
    "VehicleSize",
]

CoarseHeading = Integer("CoarseHeading", 0, 240)
SteeringWheelAngle = Integer("SteeringWheelAngle", -126, 127)
Acceleration = Integer("Acceleration", -2000, 2001)
VerticalAcceleration = Integer("VerticalAcceleration", -127, 127)
YawRate = Integer("YawRate", -32767, 32767)
OffsetLLB18 = Integer("OffsetLL-B18", -131072, 131071)
VertOffsetB12 = Integer("VertOffset-B12", -2048, 2047)
TimeOffset = Integer("TimeOffset", 1, 65535)
RadiusOfCurvature = Integer("RadiusOfCurvature", -32767, 32767)
Confidence = Integer("Confidence", 0, 200)

AccelerationSet4Way = Sequence(
    "AccelerationSet4Way",
    [
        field("long", Acceleration),
        field("lat", Acceleration),
        field("vert", VerticalAcceleration),
        field("yaw", YawRate),
    ],
)

VehicleSize = Sequence(
    "VehicleSize",
    [field("width", Integer("VehicleWidth", 0, 1023)), field("length", Integer("VehicleLength", 0, 4095))],
)

PathHistoryPoint = Sequence(
    "PathHistoryPoint",
    [
        field("latOffset", OffsetLLB18),
        field("lonOffset", OffsetLLB18),
        field("elevationOffset", VertOffsetB12),
        field("timeOffset", TimeOffset),
        optional("speed", Speed),
        optional("posAccuracy", PositionalAccuracy),
        optional("heading", CoarseHeading),
    ],
    extensible=True,
)

PathHistory = Sequence(
    "PathHistory",
    [
        optional("initialPosition", Undescribed("FullPositionVector")),
        optional("currGNSSstatus", BitString("GNSSstatus", Size(8, 8))),
        field("crumbData", SequenceOf("PathHistoryPointList", PathHistoryPoint, Size(1, 23))),
    ],
    extensible=True,
)

PathPrediction = Sequence(
    "PathPrediction",
    [field("radiusOfCurve", RadiusOfCurvature), field("confidence", Confidence)],
    extensible=True,
)

ExteriorLights = BitString("ExteriorLights", Size(9, 9, extensible=True))
BasicVehicleClass = Integer("BasicVehicleClass", 0, 255)

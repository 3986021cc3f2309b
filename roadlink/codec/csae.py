"""CSAE 53 (T/CSAE 53-2017, YD/T 3709-2020) MessageFrame with the day-1 set, described for the UPER engine.

Written from the public field facts (units, ranges, component order; see the interop notes) and checked bit for
bit against the real captures and their reference decodes; no CSAE ASN.1 text is used or kept here. Component
names follow the reference decodes, so a decoded frame reads like them.

The frame is a CHOICE, not a messageId: ``("bsmFrame" | "mapFrame" | "rsmFrame" | "spatFrame" | "rsiFrame", value)``
(an extension bit and a 3-bit index on the wire). A day-2 frame (CSAE 157 ``msgFrameExt`` and later additions)
decodes as ``(extension index, Raw)`` and re-encodes verbatim.

What the captures prove (every bit of the six frames): BSM (core, safetyExt with events, pathHistory with
absolute-position crumbs, lights; vehicleClass), RSM (one participant), RSI (one RTE with eventPos, eventRadius,
priority and a reference path), SPAT (one intersection, counting timing) and MAP (nodes, links, speed limits,
points, movements, lanes, connections). Components that no capture holds (other PositionOffsetLL widths, UTC
timing, lane attributes, descriptions, emergency extensions, ...) are described from the field facts; the
property tests round-trip them, but no real frame has checked them yet.
"""

from __future__ import annotations

from typing import Any, Final

from roadlink.codec.uper import (
    AsnType,
    BitString,
    Choice,
    Enumerated,
    Field,
    IA5String,
    Integer,
    OctetString,
    Sequence,
    SequenceOf,
    Size,
)

__all__ = [
    "FRAME_NAMES",
    "SPAT",
    "BasicSafetyMessage",
    "MapData",
    "MessageFrame",
    "RoadSideInformation",
    "RoadsideSafetyMessage",
    "decode_frame",
    "decode_frame_prefix",
    "encode_frame",
]


def _f(name: str, t: AsnType) -> Field:
    return Field(name, t)


def _opt(name: str, t: AsnType) -> Field:
    return Field(name, t, optional=True)


# --- common data elements ------------------------------------------------------------------------------------------

MsgCount = Integer("MsgCount", 0, 127)
Identifier = OctetString("ID", Size(8, 8))
DSecond = Integer("DSecond", 0, 65535)
MinuteOfTheYear = Integer("MinuteOfTheYear", 0, 527040)
TimeMark = Integer("TimeMark", 0, 36001)
Latitude = Integer("Latitude", -900000000, 900000001)
Longitude = Integer("Longitude", -1799999999, 1800000001)
Elevation = Integer("Elevation", -4096, 61439)
Speed = Integer("Speed", 0, 8191)
Heading = Integer("Heading", 0, 28800)
CoarseHeading = Integer("CoarseHeading", 0, 240)
SteeringWheelAngle = Integer("SteeringWheelAngle", -126, 127)
Acceleration = Integer("Acceleration", -2000, 2001)
VerticalAcceleration = Integer("VerticalAcceleration", -127, 127)
YawRate = Integer("YawRate", -32767, 32767)
Confidence = Integer("Confidence", 0, 200)
TimeOffset = Integer("TimeOffset", 1, 65535)
Radius = Integer("Radius", 0, 65535)
PhaseID = Integer("PhaseID", 0, 255)
LaneID = Integer("LaneID", 0, 255)
LaneWidth = Integer("LaneWidth", 0, 32767)
DescriptiveName = IA5String("DescriptiveName", Size(1, 63))

_ACCURACY_16 = [
    "unavailable",
    "a500m",
    "a200m",
    "a100m",
    "a50m",
    "a20m",
    "a10m",
    "a5m",
    "a2m",
    "a1m",
    "a50cm",
    "a20cm",
    "a10cm",
    "a5cm",
    "a2cm",
    "a1cm",
]
PositionConfidence = Enumerated("PositionConfidence", _ACCURACY_16)
ElevationConfidence = Enumerated(
    "ElevationConfidence",
    [
        "unavailable",
        "elev-500-00",
        "elev-200-00",
        "elev-100-00",
        "elev-050-00",
        "elev-020-00",
        "elev-010-00",
        "elev-005-00",
        "elev-002-00",
        "elev-001-00",
        "elev-000-50",
        "elev-000-20",
        "elev-000-10",
        "elev-000-05",
        "elev-000-02",
        "elev-000-01",
    ],
)
PositionConfidenceSet = Sequence(
    "PositionConfidenceSet", [_f("pos", PositionConfidence), _opt("elevation", ElevationConfidence)]
)

TimeConfidence = Enumerated("TimeConfidence", ["unavailable", *(f"time-{i:02d}" for i in range(1, 40))])
"""40 levels from 100 s down to 1e-14 s (6 bits); the names here are ours (only the index is on the wire)."""

Position3D = Sequence("Position3D", [_f("lat", Latitude), _f("long", Longitude), _opt("elevation", Elevation)])

NodeReferenceID = Sequence(
    "NodeReferenceID", [_opt("region", Integer("RoadRegulatorID", 0, 65535)), _f("id", Integer("NodeID", 0, 65535))]
)


def _ll(name: str, bits: int) -> Sequence:
    half = 1 << (bits - 1)
    offset = Integer(f"OffsetLL-B{bits}", -half, half - 1)
    return Sequence(name, [_f("lon", offset), _f("lat", offset)])


PositionOffsetLL = Choice(
    "PositionOffsetLL",
    [
        ("position-LL1", _ll("Position-LL-24B", 12)),
        ("position-LL2", _ll("Position-LL-28B", 14)),
        ("position-LL3", _ll("Position-LL-32B", 16)),
        ("position-LL4", _ll("Position-LL-36B", 18)),
        ("position-LL5", _ll("Position-LL-44B", 22)),
        ("position-LL6", _ll("Position-LL-48B", 24)),
        ("position-LatLon", Sequence("Position-LLmD-64b", [_f("lon", Longitude), _f("lat", Latitude)])),
    ],
)


def _vert(bits: int) -> Integer:
    half = 1 << (bits - 1)
    return Integer(f"VertOffset-B{bits:02d}", -half, half - 1)


VerticalOffset = Choice(
    "VerticalOffset",
    [
        ("offset1", _vert(7)),
        ("offset2", _vert(8)),
        ("offset3", _vert(9)),
        ("offset4", _vert(10)),
        ("offset5", _vert(11)),
        ("offset6", _vert(12)),
        ("elevation", Elevation),
    ],
)

PositionOffsetLLV = Sequence("PositionOffsetLLV", [_f("offsetLL", PositionOffsetLL), _opt("offsetV", VerticalOffset)])

# --- vehicle data --------------------------------------------------------------------------------------------------

TransmissionState = Enumerated(
    "TransmissionState",
    ["neutral", "park", "forwardGears", "reverseGears", "reserved1", "reserved2", "reserved3", "unavailable"],
)

PositionalAccuracy = Sequence(
    "PositionalAccuracy",
    [
        _f("semiMajor", Integer("SemiMajorAxisAccuracy", 0, 255)),
        _f("semiMinor", Integer("SemiMinorAxisAccuracy", 0, 255)),
        _f("orientation", Integer("SemiMajorAxisOrientation", 0, 65535)),
    ],
)

MotionConfidenceSet = Sequence(
    "MotionConfidenceSet",
    [
        _opt(
            "speedCfd",
            Enumerated(
                "SpeedConfidence",
                ["unavailable", "prec100ms", "prec10ms", "prec5ms", "prec1ms", "prec0-1ms", "prec0-05ms", "prec0-01ms"],
            ),
        ),
        _opt(
            "headingCfd",
            Enumerated(
                "HeadingConfidence",
                [
                    "unavailable",
                    "prec10deg",
                    "prec05deg",
                    "prec01deg",
                    "prec0-1deg",
                    "prec0-05deg",
                    "prec0-01deg",
                    "prec0-0125deg",
                ],
            ),
        ),
        _opt(
            "steerCfd",
            Enumerated("SteeringWheelAngleConfidence", ["unavailable", "prec2deg", "prec1deg", "prec0-02deg"]),
        ),
    ],
)

AccelerationSet4Way = Sequence(
    "AccelerationSet4Way",
    [_f("long", Acceleration), _f("lat", Acceleration), _f("vert", VerticalAcceleration), _f("yaw", YawRate)],
)

_ASSIST = ["unavailable", "off", "on", "engaged"]
BrakeSystemStatus = Sequence(
    "BrakeSystemStatus",
    [
        _opt("brakePadel", Enumerated("BrakePedalStatus", ["unavailable", "off", "on"])),
        # bits: unavailable, leftFront, leftRear, rightFront, rightRear
        _opt("wheelBrakes", BitString("BrakeAppliedStatus", Size(5, 5))),
        _opt("traction", Enumerated("TractionControlStatus", _ASSIST)),
        _opt("abs", Enumerated("AntiLockBrakeStatus", _ASSIST)),
        _opt("scs", Enumerated("StabilityControlStatus", _ASSIST)),
        _opt("brakeBoost", Enumerated("BrakeBoostApplied", ["unavailable", "off", "on"])),
        _opt("auxBrakes", Enumerated("AuxiliaryBrakeStatus", ["unavailable", "off", "on", "reserved"])),
    ],
)

VehicleSize = Sequence(
    "VehicleSize",
    [
        _f("width", Integer("VehicleWidth", 0, 1023)),
        _f("length", Integer("VehicleLength", 0, 4095)),
        _opt("height", Integer("VehicleHeight", 0, 127)),
    ],
)

VehicleClassification = Sequence(
    "VehicleClassification",
    [_f("classification", Integer("BasicVehicleClass", 0, 255)), _opt("fuelType", Integer("FuelType", 0, 15))],
    extensible=True,
)

PathHistoryPoint = Sequence(
    "PathHistoryPoint",
    [
        _f("llvOffset", PositionOffsetLLV),
        _f("timeOffset", TimeOffset),
        _opt("speed", Speed),
        _opt("posAccuracy", PositionConfidenceSet),
        _opt("heading", CoarseHeading),
    ],
    extensible=True,
)

DDateTime = Sequence(
    "DDateTime",
    [
        _opt("year", Integer("DYear", 0, 4095)),
        _opt("month", Integer("DMonth", 0, 12)),
        _opt("day", Integer("DDay", 0, 31)),
        _opt("hour", Integer("DHour", 0, 31)),
        _opt("minute", Integer("DMinute", 0, 60)),
        _opt("second", DSecond),
        _opt("offset", Integer("DTimeOffset", -840, 840)),
    ],
)

FullPositionVector = Sequence(
    "FullPositionVector",
    [
        _opt("utcTime", DDateTime),
        _f("pos", Position3D),
        _opt("heading", Heading),
        _opt("transmission", TransmissionState),
        _opt("speed", Speed),
        _opt("posAccuracy", PositionConfidenceSet),
        _opt("posConfidence", PositionConfidenceSet),
        _opt("timeConfidence", TimeConfidence),
        _opt("motionCfd", MotionConfidenceSet),
    ],
    extensible=True,
)

PathHistory = Sequence(
    "PathHistory",
    [
        _opt("initialPosition", FullPositionVector),
        _opt("currGNSSstatus", BitString("GNSSstatus", Size(8, 8))),
        _f("crumbData", SequenceOf("PathHistoryPointList", PathHistoryPoint, Size(1, 23))),
    ],
    extensible=True,
)

PathPrediction = Sequence(
    "PathPrediction",
    [_f("radiusOfCurve", Integer("RadiusOfCurvature", -32767, 32767)), _f("confidence", Confidence)],
    extensible=True,
)

VehicleSafetyExtensions = Sequence(
    "VehicleSafetyExtensions",
    [
        _opt("events", BitString("VehicleEventFlags", Size(13, 13, extensible=True))),
        _opt("pathHistory", PathHistory),
        _opt("pathPrediction", PathPrediction),
        _opt("lights", BitString("ExteriorLights", Size(9, 9, extensible=True))),
    ],
    extensible=True,
)

VehicleEmergencyExtensions = Sequence(
    "VehicleEmergencyExtensions",
    [
        _opt(
            "responseType",
            Enumerated(
                "ResponseType",
                [
                    "notInUseOrNotEquipped",
                    "emergency",
                    "nonEmergency",
                    "pursuit",
                    "stationary",
                    "slowMoving",
                    "stopAndGoMovement",
                ],
                extensions=[],
            ),
        ),
        _opt("sirenUse", Enumerated("SirenInUse", ["unavailable", "notInUse", "inUse", "reserved"])),
        _opt(
            "lightsUse",
            Enumerated(
                "LightbarInUse",
                [
                    "unavailable",
                    "notInUse",
                    "inUse",
                    "yellowCautionLights",
                    "schooldBusLights",
                    "arrowSignsActive",
                    "slowMovingVehicle",
                    "freqStops",
                ],
            ),
        ),
    ],
    extensible=True,
)

BasicSafetyMessage = Sequence(
    "BasicSafetyMessage",
    [
        _f("msgCnt", MsgCount),
        _f("id", Identifier),
        _f("secMark", DSecond),
        _opt("timeConfidence", TimeConfidence),
        _f("pos", Position3D),
        _opt("posAccuracy", PositionalAccuracy),
        _opt("posConfidence", PositionConfidenceSet),
        _f("transmission", TransmissionState),
        _f("speed", Speed),
        _f("heading", Heading),
        _opt("angle", SteeringWheelAngle),
        _opt("motionCfd", MotionConfidenceSet),
        _f("accelSet", AccelerationSet4Way),
        _f("brakes", BrakeSystemStatus),
        _f("size", VehicleSize),
        _f("vehicleClass", VehicleClassification),
        _opt("safetyExt", VehicleSafetyExtensions),
        _opt("emergencyExt", VehicleEmergencyExtensions),
    ],
    extensible=True,
)

# --- RSM -----------------------------------------------------------------------------------------------------------

ParticipantData = Sequence(
    "ParticipantData",
    [
        _f("ptcType", Enumerated("ParticipantType", ["unknown", "motor", "non-motor", "pedestrian", "rsu"], [])),
        _f("ptcId", Integer("ptcId", 0, 65535)),
        _f(
            "source",
            Enumerated(
                "SourceType",
                ["unknown", "selfinfo", "v2x", "video", "microwaveRadar", "loop", "lidar", "integrated"],
                [],
            ),
        ),
        _opt("id", Identifier),
        _f("secMark", DSecond),
        _f("pos", PositionOffsetLLV),
        _f("posConfidence", PositionConfidenceSet),
        _opt("transmission", TransmissionState),
        _f("speed", Speed),
        _f("heading", Heading),
        _opt("angle", SteeringWheelAngle),
        _opt("motionCfd", MotionConfidenceSet),
        _opt("accelSet", AccelerationSet4Way),
        _f("size", VehicleSize),
        _opt("vehicleClass", VehicleClassification),
    ],
    extensible=True,
)

RoadsideSafetyMessage = Sequence(
    "RoadsideSafetyMessage",
    [
        _f("msgCnt", MsgCount),
        _f("id", Identifier),
        _f("refPos", Position3D),
        _f("participants", SequenceOf("ParticipantList", ParticipantData, Size(1, 16))),
    ],
    extensible=True,
)

# --- RSI -----------------------------------------------------------------------------------------------------------

PathPointList = SequenceOf("PathPointList", PositionOffsetLLV, Size(1, 32))

ReferencePath = Sequence("ReferencePath", [_f("activePath", PathPointList), _f("pathRadius", Radius)])

ReferenceLink = Sequence(
    "ReferenceLink",
    [
        _f("upstreamNodeId", NodeReferenceID),
        _f("downstreamNodeId", NodeReferenceID),
        _opt("referenceLanes", BitString("ReferenceLanes", Size(16, 16))),
    ],
)

Description = Choice(
    "Description",
    [("textString", IA5String("textString", Size(1, 512))), ("textGB2312", OctetString("textGB2312", Size(2, 512)))],
    extensible=True,
)

RSITimeDetails = Sequence(
    "RSITimeDetails",
    [_opt("startTime", MinuteOfTheYear), _opt("endTime", MinuteOfTheYear), _opt("endTimeConfidence", TimeConfidence)],
)

RTEData = Sequence(
    "RTEData",
    [
        _f("rteId", Integer("rteId", 0, 255)),
        _f("eventType", Integer("EventType", 0, 65535)),
        _f(
            "eventSource",
            Enumerated(
                "EventSource", ["unknown", "police", "government", "meteorological", "internet", "detection"], []
            ),
        ),
        _opt("eventPos", PositionOffsetLLV),
        _opt("eventRadius", Radius),
        _opt("description", Description),
        _opt("timeDetails", RSITimeDetails),
        _opt("priority", OctetString("RSIPriority", Size(1, 1))),
        _opt("referencePaths", SequenceOf("ReferencePathList", ReferencePath, Size(1, 8))),
        _opt("referenceLinks", SequenceOf("ReferenceLinkList", ReferenceLink, Size(1, 16))),
        _opt("eventConfidence", Confidence),
    ],
    extensible=True,
)

RTSData = Sequence(
    "RTSData",
    [
        _f("rtsId", Integer("rtsId", 0, 255)),
        _f("signType", Integer("SignType", 0, 65535)),
        _opt("signPos", PositionOffsetLLV),
        _opt("description", Description),
        _opt("timeDetails", RSITimeDetails),
        _opt("priority", OctetString("RSIPriority", Size(1, 1))),
        _opt("referencePaths", SequenceOf("ReferencePathList", ReferencePath, Size(1, 8))),
        _opt("referenceLinks", SequenceOf("ReferenceLinkList", ReferenceLink, Size(1, 16))),
    ],
    extensible=True,
)

RoadSideInformation = Sequence(
    "RoadSideInformation",
    [
        _f("msgCnt", MsgCount),
        _opt("moy", MinuteOfTheYear),
        _f("id", Identifier),
        _f("refPos", Position3D),
        _opt("rtes", SequenceOf("RTEList", RTEData, Size(1, 8))),
        _opt("rtss", SequenceOf("RTSList", RTSData, Size(1, 16))),
    ],
    extensible=True,
)

# --- SPAT ----------------------------------------------------------------------------------------------------------

LightState = Enumerated(
    "LightState",
    [
        "unavailable",
        "dark",
        "flashing-red",
        "red",
        "flashing-green",
        "permissive-green",
        "protected-green",
        "yellow",
        "flashing-yellow",
    ],
    [],
)

TimeCountingDown = Sequence(
    "TimeCountingDown",
    [
        _f("startTime", TimeMark),
        _opt("minEndTime", TimeMark),
        _opt("maxEndTime", TimeMark),
        _f("likelyEndTime", TimeMark),
        _opt("timeConfidence", Confidence),
        _opt("nextStartTime", TimeMark),
        _opt("nextDuration", TimeMark),
    ],
    extensible=True,
)

UTCTiming = Sequence(
    "UTCTiming",
    [
        _f("startUTCTime", TimeMark),
        _opt("minEndUTCTime", TimeMark),
        _opt("maxEndUTCTime", TimeMark),
        _f("likelyEndUTCTime", TimeMark),
        _opt("timeConfidence", Confidence),
        _opt("nextStartUTCTime", TimeMark),
        _opt("nextEndUTCTime", TimeMark),
    ],
    extensible=True,
)

PhaseState = Sequence(
    "PhaseState",
    [
        _f("light", LightState),
        _opt("timing", Choice("TimeChangeDetails", [("counting", TimeCountingDown), ("utcTiming", UTCTiming)])),
    ],
    extensible=True,
)

Phase = Sequence(
    "Phase",
    [_f("id", PhaseID), _f("phaseStates", SequenceOf("PhaseStateList", PhaseState, Size(1, 16)))],
)

IntersectionState = Sequence(
    "IntersectionState",
    [
        _f("intersectionId", NodeReferenceID),
        _f("status", BitString("IntersectionStatusObject", Size(16, 16))),
        _opt("moy", MinuteOfTheYear),
        _opt("timeStamp", DSecond),
        _opt("timeConfidence", TimeConfidence),
        _f("phases", SequenceOf("PhaseList", Phase, Size(1, 16))),
    ],
    extensible=True,
)

SPAT = Sequence(
    "SPAT",
    [
        _f("msgCnt", MsgCount),
        _opt("moy", MinuteOfTheYear),
        _opt("timeStamp", DSecond),
        _opt("name", DescriptiveName),
        _f("intersections", SequenceOf("IntersectionStateList", IntersectionState, Size(1, 32))),
    ],
    extensible=True,
)

# --- MAP -----------------------------------------------------------------------------------------------------------

RegulatorySpeedLimit = Sequence(
    "RegulatorySpeedLimit",
    [
        _f(
            "type",
            Enumerated(
                "SpeedLimitType",
                [
                    "unknown",
                    "maxSpeedInSchoolZone",
                    "maxSpeedInSchoolZoneWhenChildrenArePresent",
                    "maxSpeedInConstructionZone",
                    "vehicleMinSpeed",
                    "vehicleMaxSpeed",
                    "vehicleNightMaxSpeed",
                    "truckMinSpeed",
                    "truckMaxSpeed",
                    "truckNightMaxSpeed",
                    "vehiclesWithTrailersMinSpeed",
                    "vehiclesWithTrailersMaxSpeed",
                    "vehiclesWithTrailersNightMaxSpeed",
                ],
                [],
            ),
        ),
        _f("speed", Speed),
    ],
)
SpeedLimitList = SequenceOf("SpeedLimitList", RegulatorySpeedLimit, Size(1, 9))

RoadPoint = Sequence("RoadPoint", [_f("posOffset", PositionOffsetLLV)], extensible=True)
PointList = SequenceOf("PointList", RoadPoint, Size(2, 31))

AllowedManeuvers = BitString("AllowedManeuvers", Size(12, 12))

Movement = Sequence("Movement", [_f("remoteIntersection", NodeReferenceID), _opt("phaseId", PhaseID)])

Connection = Sequence(
    "Connection",
    [
        _f("remoteIntersection", NodeReferenceID),
        _opt(
            "connectingLane",
            Sequence("ConnectingLane", [_f("lane", LaneID), _opt("maneuver", AllowedManeuvers)]),
        ),
        _opt("phaseId", PhaseID),
    ],
)


def _lane_bits(name: str) -> BitString:
    return BitString(name, Size(16, 16))


LaneAttributes = Sequence(
    "LaneAttributes",
    [
        _opt("shareWith", BitString("LaneSharing", Size(10, 10))),
        _f(
            "laneType",
            Choice(
                "LaneTypeAttributes",
                [
                    ("vehicle", BitString("LaneAttributes-Vehicle", Size(8, 8, extensible=True))),
                    ("crosswalk", _lane_bits("LaneAttributes-Crosswalk")),
                    ("bikeLane", _lane_bits("LaneAttributes-Bike")),
                    ("sidewalk", _lane_bits("LaneAttributes-Sidewalk")),
                    ("median", _lane_bits("LaneAttributes-Barrier")),
                    ("striping", _lane_bits("LaneAttributes-Striping")),
                    ("trackedVehicle", _lane_bits("LaneAttributes-TrackedVehicle")),
                    ("parking", _lane_bits("LaneAttributes-Parking")),
                ],
                extensible=True,
            ),
        ),
    ],
)

Lane = Sequence(
    "Lane",
    [
        _f("laneID", LaneID),
        _opt("laneWidth", LaneWidth),
        _opt("laneAttributes", LaneAttributes),
        _opt("maneuvers", AllowedManeuvers),
        _opt("connectsTo", SequenceOf("ConnectsToList", Connection, Size(1, 16))),
        _opt("speedLimits", SpeedLimitList),
        _opt("points", PointList),
    ],
    extensible=True,
)

Link = Sequence(
    "Link",
    [
        _opt("name", DescriptiveName),
        _f("upstreamNodeId", NodeReferenceID),
        _opt("speedLimits", SpeedLimitList),
        _f("linkWidth", LaneWidth),
        _opt("points", PointList),
        _opt("movements", SequenceOf("MovementList", Movement, Size(1, 32))),
        _opt("lanes", SequenceOf("LaneList", Lane, Size(1, 32))),
    ],
    extensible=True,
)

Node = Sequence(
    "Node",
    [
        _opt("name", DescriptiveName),
        _f("id", NodeReferenceID),
        _f("refPos", Position3D),
        _opt("inLinks", SequenceOf("LinkList", Link, Size(1, 32))),
    ],
    extensible=True,
)

MapData = Sequence(
    "MapData",
    [
        _f("msgCnt", MsgCount),
        _opt("timeStamp", MinuteOfTheYear),
        _f("nodes", SequenceOf("NodeList", Node, Size(1, 63))),
    ],
    extensible=True,
)

# --- the frame -----------------------------------------------------------------------------------------------------

MessageFrame = Choice(
    "MessageFrame",
    [
        ("bsmFrame", BasicSafetyMessage),
        ("mapFrame", MapData),
        ("rsmFrame", RoadsideSafetyMessage),
        ("spatFrame", SPAT),
        ("rsiFrame", RoadSideInformation),
    ],
    extensible=True,
)

FRAME_NAMES: Final = {"bsmFrame": "BSM", "mapFrame": "MAP", "rsmFrame": "RSM", "spatFrame": "SPAT", "rsiFrame": "RSI"}
"""CHOICE alternative -> the message's short name."""


def decode_frame(data: bytes) -> tuple[str | int, Any]:
    """Decode one MessageFrame that fills `data` exactly: (alternative, value)."""
    value: tuple[str | int, Any] = MessageFrame.decode(data)
    return value


def decode_frame_prefix(data: bytes, offset: int = 0) -> tuple[tuple[str | int, Any], int]:
    """Decode the MessageFrame starting at octet `offset`: ((alternative, value), octets used)."""
    value, used = MessageFrame.decode_prefix(data, offset)
    return value, used


def encode_frame(frame: tuple[str | int, Any]) -> bytes:
    """Encode a MessageFrame (as `decode_frame` returns it)."""
    return MessageFrame.encode(frame)

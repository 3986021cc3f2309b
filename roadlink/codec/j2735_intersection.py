"""SAE J2735 SPAT (messageId 19) and MapData (messageId 18), described for the UPER engine.

These are the ISO TS 19091 types that J2735 (2016 and later) and ETSI SPATEM / MAPEM share. The structure was
learnt from the public facts and the BSD-licensed ISO TS 19091 module in pycrate (read, not copied or imported);
the ranges are J2735's (see `j2735_common`). Checked bit for bit on the CARMA and jpo-ode captures.

Everything is described down to the leaves except regional extensions, whose content stays `Raw` octets, and
extension additions (all of these types are extensible but none has additions yet), which are kept as unknown
additions, so a newer sender's content still re-encodes byte for byte.
"""

from __future__ import annotations

from roadlink.codec.j2735_common import (
    DescriptiveName,
    DSecond,
    IntersectionReferenceID,
    IntersectionStatusObject,
    LaneID,
    Latitude,
    Longitude,
    MinuteOfTheYear,
    MsgCount,
    Position3D,
    RegionalExtension,
    RestrictionClassID,
    SignalGroupID,
    TimeMark,
    Velocity,
    ZoneLength,
    field,
    optional,
    regional,
)
from roadlink.codec.uper import (
    BitString,
    Boolean,
    Choice,
    Enumerated,
    IA5String,
    Integer,
    Sequence,
    SequenceOf,
    Size,
)

__all__ = [
    "MAP_MESSAGE_ID",
    "SPAT",
    "SPAT_MESSAGE_ID",
    "GenericLane",
    "IntersectionGeometry",
    "IntersectionState",
    "MapData",
    "MovementEvent",
    "MovementState",
]

MAP_MESSAGE_ID = 18
SPAT_MESSAGE_ID = 19

# --- SPAT ----------------------------------------------------------------------------------------------------------

MovementPhaseState = Enumerated(
    "MovementPhaseState",
    [
        "unavailable",
        "dark",
        "stop-Then-Proceed",
        "stop-And-Remain",
        "pre-Movement",
        "permissive-Movement-Allowed",
        "protected-Movement-Allowed",
        "permissive-clearance",
        "protected-clearance",
        "caution-Conflicting-Traffic",
    ],
)

TimeChangeDetails = Sequence(
    "TimeChangeDetails",
    [
        optional("startTime", TimeMark),
        field("minEndTime", TimeMark),
        optional("maxEndTime", TimeMark),
        optional("likelyTime", TimeMark),
        optional("confidence", Integer("TimeIntervalConfidence", 0, 15)),
        optional("nextTime", TimeMark),
    ],
)

AdvisorySpeed = Sequence(
    "AdvisorySpeed",
    [
        field("type", Enumerated("AdvisorySpeedType", ["none", "greenwave", "ecoDrive", "transit"], extensions=[])),
        optional("speed", Integer("SpeedAdvice", 0, 500)),
        optional(
            "confidence",
            Enumerated(
                "SpeedConfidence",
                ["unavailable", "prec100ms", "prec10ms", "prec5ms", "prec1ms", "prec0-1ms", "prec0-05ms", "prec0-01ms"],
            ),
        ),
        optional("distance", ZoneLength),
        optional("class", RestrictionClassID),
        regional(),
    ],
    extensible=True,
)

MovementEvent = Sequence(
    "MovementEvent",
    [
        field("eventState", MovementPhaseState),
        optional("timing", TimeChangeDetails),
        optional("speeds", SequenceOf("AdvisorySpeedList", AdvisorySpeed, Size(1, 16))),
        regional(),
    ],
    extensible=True,
)

ConnectionManeuverAssist = Sequence(
    "ConnectionManeuverAssist",
    [
        field("connectionID", Integer("LaneConnectionID", 0, 255)),
        optional("queueLength", ZoneLength),
        optional("availableStorageLength", ZoneLength),
        optional("waitOnStop", Boolean("WaitOnStopline")),
        optional("pedBicycleDetect", Boolean("PedestrianBicycleDetect")),
        regional(),
    ],
    extensible=True,
)
ManeuverAssistList = SequenceOf("ManeuverAssistList", ConnectionManeuverAssist, Size(1, 16))

MovementState = Sequence(
    "MovementState",
    [
        optional("movementName", DescriptiveName),
        field("signalGroup", SignalGroupID),
        field("state-time-speed", SequenceOf("MovementEventList", MovementEvent, Size(1, 16))),
        optional("maneuverAssistList", ManeuverAssistList),
        regional(),
    ],
    extensible=True,
)

IntersectionState = Sequence(
    "IntersectionState",
    [
        optional("name", DescriptiveName),
        field("id", IntersectionReferenceID),
        field("revision", MsgCount),
        field("status", IntersectionStatusObject),
        optional("moy", MinuteOfTheYear),
        optional("timeStamp", DSecond),
        optional("enabledLanes", SequenceOf("EnabledLaneList", LaneID, Size(1, 16))),
        field("states", SequenceOf("MovementList", MovementState, Size(1, 255))),
        optional("maneuverAssistList", ManeuverAssistList),
        regional(),
    ],
    extensible=True,
)

SPAT = Sequence(
    "SPAT",
    [
        optional("timeStamp", MinuteOfTheYear),
        optional("name", DescriptiveName),
        field("intersections", SequenceOf("IntersectionStateList", IntersectionState, Size(1, 32))),
        regional(),
    ],
    extensible=True,
)

# --- MapData: lanes ------------------------------------------------------------------------------------------------

SpeedLimitType = Enumerated(
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
    extensions=[],
)
RegulatorySpeedLimit = Sequence("RegulatorySpeedLimit", [field("type", SpeedLimitType), field("speed", Velocity)])
SpeedLimitList = SequenceOf("SpeedLimitList", RegulatorySpeedLimit, Size(1, 9))

AllowedManeuvers = BitString("AllowedManeuvers", Size(12, 12))
"""bit 0 straight, 1 left, 2 right, 3 U-turn, 4 left on red, 5 right on red, 6 lane change, 7 no stopping,
8 yield always, 9 go with halt, 10 caution, 11 reserved."""


def _lane_bits(name: str, size: int = 16) -> BitString:
    return BitString(name, Size(size, size))


LaneTypeAttributes = Choice(
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
)

LaneAttributes = Sequence(
    "LaneAttributes",
    [
        field("directionalUse", _lane_bits("LaneDirection", 2)),  # bit 0 ingressPath, bit 1 egressPath
        field("sharedWith", _lane_bits("LaneSharing", 10)),
        field("laneType", LaneTypeAttributes),
        optional("regional", RegionalExtension),
    ],
)


def _xy(name: str, bits: int) -> Sequence:
    offset = Integer(f"Offset-B{bits}", -(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return Sequence(name, [field("x", offset), field("y", offset)])


NodeOffsetPointXY = Choice(
    "NodeOffsetPointXY",
    [
        ("node-XY1", _xy("Node-XY-20b", 10)),
        ("node-XY2", _xy("Node-XY-22b", 11)),
        ("node-XY3", _xy("Node-XY-24b", 12)),
        ("node-XY4", _xy("Node-XY-26b", 13)),
        ("node-XY5", _xy("Node-XY-28b", 14)),
        ("node-XY6", _xy("Node-XY-32b", 16)),
        ("node-LatLon", Sequence("Node-LLmD-64b", [field("lon", Longitude), field("lat", Latitude)])),
        ("regional", RegionalExtension),
    ],
)
"""x east, y north of the previous node (the reference point for the first), 1 cm."""

NodeAttributeXY = Enumerated(
    "NodeAttributeXY",
    [
        "reserved",
        "stopLine",
        "roundedCapStyleA",
        "roundedCapStyleB",
        "mergePoint",
        "divergePoint",
        "downstreamStopLine",
        "downstreamStartNode",
        "closedToTraffic",
        "safeIsland",
        "curbPresentAtStepOff",
        "hydrantPresent",
    ],
    extensions=[],
)

SegmentAttributeXY = Enumerated(
    "SegmentAttributeXY",
    [
        "reserved",
        "doNotBlock",
        "whiteLine",
        "mergingLaneLeft",
        "mergingLaneRight",
        "curbOnLeft",
        "curbOnRight",
        "loadingzoneOnLeft",
        "loadingzoneOnRight",
        "turnOutPointOnLeft",
        "turnOutPointOnRight",
        "adjacentParkingOnLeft",
        "adjacentParkingOnRight",
        "adjacentBikeLaneOnLeft",
        "adjacentBikeLaneOnRight",
        "sharedBikeLane",
        "bikeBoxInFront",
        "transitStopOnLeft",
        "transitStopOnRight",
        "transitStopInLane",
        "sharedWithTrackedVehicle",
        "safeIsland",
        "lowCurbsPresent",
        "rumbleStripPresent",
        "audibleSignalingPresent",
        "adaptiveTimingPresent",
        "rfSignalRequestPresent",
        "partialCurbIntrusion",
        "taperToLeft",
        "taperToRight",
        "taperToCenterLine",
        "parallelParking",
        "headInParking",
        "freeParking",
        "timeRestrictionsOnParking",
        "costToPark",
        "midBlockCurbPresent",
        "unEvenPavementPresent",
    ],
    extensions=[],
)
SegmentAttributeXYList = SequenceOf("SegmentAttributeXYList", SegmentAttributeXY, Size(1, 8))

RoadwayCrownAngle = Integer("RoadwayCrownAngle", -128, 127)
LaneDataAttribute = Choice(
    "LaneDataAttribute",
    [
        ("pathEndPointAngle", Integer("DeltaAngle", -150, 150)),
        ("laneCrownPointCenter", RoadwayCrownAngle),
        ("laneCrownPointLeft", RoadwayCrownAngle),
        ("laneCrownPointRight", RoadwayCrownAngle),
        ("laneAngle", Integer("MergeDivergeNodeAngle", -180, 180)),
        ("speedLimits", SpeedLimitList),
        ("regional", SequenceOf("RegionalExtensions", RegionalExtension, Size(1, 4))),
    ],
    extensible=True,
)

OffsetB10 = Integer("Offset-B10", -512, 511)
NodeAttributeSetXY = Sequence(
    "NodeAttributeSetXY",
    [
        optional("localNode", SequenceOf("NodeAttributeXYList", NodeAttributeXY, Size(1, 8))),
        optional("disabled", SegmentAttributeXYList),
        optional("enabled", SegmentAttributeXYList),
        optional("data", SequenceOf("LaneDataAttributeList", LaneDataAttribute, Size(1, 8))),
        optional("dWidth", OffsetB10),  # 1 cm
        optional("dElevation", OffsetB10),  # 10 cm
        regional(),
    ],
    extensible=True,
)

NodeXY = Sequence(
    "NodeXY",
    [field("delta", NodeOffsetPointXY), optional("attributes", NodeAttributeSetXY)],
    extensible=True,
)

DrivenLineOffset = Choice(
    "DrivenLineOffset",
    [("small", Integer("DrivenLineOffsetSm", -2047, 2047)), ("large", Integer("DrivenLineOffsetLg", -32767, 32767))],
)
ScaleB12 = Integer("Scale-B12", -2048, 2047)
ComputedLane = Sequence(
    "ComputedLane",
    [
        field("referenceLaneId", LaneID),
        field("offsetXaxis", DrivenLineOffset),
        field("offsetYaxis", DrivenLineOffset),
        optional("rotateXY", Integer("Angle", 0, 28800)),
        optional("scaleXaxis", ScaleB12),
        optional("scaleYaxis", ScaleB12),
        regional(),
    ],
    extensible=True,
)

NodeListXY = Choice(
    "NodeListXY",
    [("nodes", SequenceOf("NodeSetXY", NodeXY, Size(2, 63))), ("computed", ComputedLane)],
    extensible=True,
)

Connection = Sequence(
    "Connection",
    [
        field(
            "connectingLane",
            Sequence("ConnectingLane", [field("lane", LaneID), optional("maneuver", AllowedManeuvers)]),
        ),
        optional("remoteIntersection", IntersectionReferenceID),
        optional("signalGroup", SignalGroupID),
        optional("userClass", RestrictionClassID),
        optional("connectionID", Integer("LaneConnectionID", 0, 255)),
    ],
)

ApproachID = Integer("ApproachID", 0, 15)
GenericLane = Sequence(
    "GenericLane",
    [
        field("laneID", LaneID),
        optional("name", DescriptiveName),
        optional("ingressApproach", ApproachID),
        optional("egressApproach", ApproachID),
        field("laneAttributes", LaneAttributes),
        optional("maneuvers", AllowedManeuvers),
        field("nodeList", NodeListXY),
        optional("connectsTo", SequenceOf("ConnectsToList", Connection, Size(1, 16))),
        optional("overlays", SequenceOf("OverlayLaneList", LaneID, Size(1, 5))),
        regional(),
    ],
    extensible=True,
)

# --- MapData: intersections, road segments and the message ---------------------------------------------------------

LaneWidth = Integer("LaneWidth", 0, 32767)
"""1 cm."""

IntersectionGeometry = Sequence(
    "IntersectionGeometry",
    [
        optional("name", DescriptiveName),
        field("id", IntersectionReferenceID),
        field("revision", MsgCount),
        field("refPoint", Position3D),
        optional("laneWidth", LaneWidth),
        optional("speedLimits", SpeedLimitList),
        field("laneSet", SequenceOf("LaneList", GenericLane, Size(1, 255))),
        optional(
            "preemptPriorityData",
            SequenceOf(
                "PreemptPriorityList",
                Sequence("SignalControlZone", [field("zone", RegionalExtension)], extensible=True),
                Size(1, 32),
            ),
        ),
        regional(),
    ],
    extensible=True,
)

RoadSegment = Sequence(
    "RoadSegment",
    [
        optional("name", DescriptiveName),
        field(
            "id",
            Sequence(
                "RoadSegmentReferenceID",
                [
                    optional("region", Integer("RoadRegulatorID", 0, 65535)),
                    field("id", Integer("RoadSegmentID", 0, 65535)),
                ],
            ),
        ),
        field("revision", MsgCount),
        field("refPoint", Position3D),
        optional("laneWidth", LaneWidth),
        optional("speedLimits", SpeedLimitList),
        field("roadLaneSet", SequenceOf("RoadLaneSetList", GenericLane, Size(1, 255))),
        regional(),
    ],
    extensible=True,
)

_TEXT = IA5String("IA5String", Size(1, 255))
DataParameters = Sequence(
    "DataParameters",
    [
        optional("processMethod", _TEXT),
        optional("processAgency", _TEXT),
        optional("lastCheckedDate", _TEXT),
        optional("geoidUsed", _TEXT),
    ],
    extensible=True,
)

RestrictionAppliesTo = Enumerated(
    "RestrictionAppliesTo",
    [
        "none",
        "equippedTransit",
        "equippedTaxis",
        "equippedOther",
        "emissionCompliant",
        "equippedBicycle",
        "weightCompliant",
        "heightCompliant",
        "pedestrians",
        "slowMovingPersons",
        "wheelchairUsers",
        "visualDisabilities",
        "audioDisabilities",
        "otherUnknownDisabilities",
    ],
    extensions=[],
)
RestrictionClassAssignment = Sequence(
    "RestrictionClassAssignment",
    [
        field("id", RestrictionClassID),
        field(
            "users",
            SequenceOf(
                "RestrictionUserTypeList",
                Choice(
                    "RestrictionUserType",
                    [
                        ("basicType", RestrictionAppliesTo),
                        ("regional", SequenceOf("RegionalExtensions", RegionalExtension, Size(1, 4))),
                    ],
                    extensible=True,
                ),
                Size(1, 16),
            ),
        ),
    ],
)

LayerType = Enumerated(
    "LayerType",
    [
        "none",
        "mixedContent",
        "generalMapData",
        "intersectionData",
        "curveData",
        "roadwaySectionData",
        "parkingAreaData",
        "sharedLaneData",
    ],
    extensions=[],
)

MapData = Sequence(
    "MapData",
    [
        optional("timeStamp", MinuteOfTheYear),
        field("msgIssueRevision", MsgCount),
        optional("layerType", LayerType),
        optional("layerID", Integer("LayerID", 0, 100)),
        optional("intersections", SequenceOf("IntersectionGeometryList", IntersectionGeometry, Size(1, 32))),
        optional("roadSegments", SequenceOf("RoadSegmentList", RoadSegment, Size(1, 32))),
        optional("dataParameters", DataParameters),
        optional("restrictionList", SequenceOf("RestrictionClassList", RestrictionClassAssignment, Size(1, 254))),
        regional(),
    ],
    extensible=True,
)

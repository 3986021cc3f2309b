"""SAE J2735 SignalRequestMessage (SRM, messageId 29) and SignalStatusMessage (SSM, messageId 30).

These are ISO TS 19091 types that J2735 and ETSI SREM / SSEM share. The structure was learnt from the public
facts and the BSD-licensed ISO TS 19091 module in pycrate (read, not copied or imported); the ranges are
J2735's (see `j2735_common`). Checked bit for bit on the jpo-ode SRM and SSM captures and their asn1_codec
decodes, which carry the mandatory parts, a request with in- and outbound lanes, a requestor with a station id,
role and position, and a granted status.

Regional extensions keep their content as Raw octets; extension additions (none are defined) are kept as unknown
additions, so both messages re-encode byte for byte.
"""

from __future__ import annotations

from roadlink.codec.j2735_common import (
    BasicVehicleRole,
    DescriptiveName,
    DSecond,
    Heading,
    IntersectionReferenceID,
    LaneID,
    MinuteOfTheYear,
    MsgCount,
    Position3D,
    RegionalExtension,
    Speed,
    TemporaryID,
    field,
    optional,
    regional,
)
from roadlink.codec.uper import BitString, Choice, Enumerated, Integer, Sequence, SequenceOf, Size

__all__ = ["SRM_MESSAGE_ID", "SSM_MESSAGE_ID", "SignalRequestMessage", "SignalStatusMessage"]

SRM_MESSAGE_ID = 29
SSM_MESSAGE_ID = 30

RequestID = Integer("RequestID", 0, 255)
DSecondDuration = Integer("DSecond", 0, 65535)
"""duration: ms."""

IntersectionAccessPoint = Choice(
    "IntersectionAccessPoint",
    [("lane", LaneID), ("approach", Integer("ApproachID", 0, 15)), ("connection", Integer("LaneConnectionID", 0, 255))],
    extensible=True,
)

VehicleID = Choice("VehicleID", [("entityID", TemporaryID), ("stationID", Integer("StationID", 0, 4294967295))])

RequestSubRole = Enumerated(
    "RequestSubRole", ["requestSubRoleUnKnown", *(f"requestSubRole{i}" for i in range(1, 15)), "requestSubRoleReserved"]
)
RequestImportanceLevel = Enumerated(
    "RequestImportanceLevel",
    [
        "requestImportanceLevelUnKnown",
        *(f"requestImportanceLevel{i}" for i in range(1, 15)),
        "requestImportanceReserved",
    ],
)
VehicleType = Enumerated(
    "VehicleType",
    [
        "none",
        "unknown",
        "special",
        "moto",
        "car",
        "carOther",
        "bus",
        "axleCnt2",
        "axleCnt3",
        "axleCnt4",
        "axleCnt4Trailer",
        "axleCnt5Trailer",
        "axleCnt6Trailer",
        "axleCnt5MultiTrailer",
        "axleCnt6MultiTrailer",
        "axleCnt7MultiTrailer",
    ],
    extensions=[],
)

RequestorType = Sequence(
    "RequestorType",
    [
        field("role", BasicVehicleRole),
        optional("subrole", RequestSubRole),
        optional("request", RequestImportanceLevel),
        optional("iso3883", Integer("Iso3833VehicleType", 0, 255)),
        optional("hpmsType", VehicleType),
        optional("regional", RegionalExtension),
    ],
    extensible=True,
)

TransmissionState = Enumerated(
    "TransmissionState",
    ["neutral", "park", "forwardGears", "reverseGears", "reserved1", "reserved2", "reserved3", "unavailable"],
)

TransmissionAndSpeed = Sequence(
    "TransmissionAndSpeed",
    [
        field(
            "transmisson",  # sic: the standard's spelling, which the reference decodes use
            Enumerated(
                "TransmissionState",
                [
                    "neutral",
                    "park",
                    "forwardGears",
                    "reverseGears",
                    "reserved1",
                    "reserved2",
                    "reserved3",
                    "unavailable",
                ],
            ),
        ),
        field("speed", Speed),
    ],
)

RequestorPositionVector = Sequence(
    "RequestorPositionVector",
    [field("position", Position3D), optional("heading", Heading), optional("speed", TransmissionAndSpeed)],
    extensible=True,
)

RequestorDescription = Sequence(
    "RequestorDescription",
    [
        field("id", VehicleID),
        optional("type", RequestorType),
        optional("position", RequestorPositionVector),
        optional("name", DescriptiveName),
        optional("routeName", DescriptiveName),
        optional("transitStatus", BitString("TransitVehicleStatus", Size(8, 8))),
        optional(
            "transitOccupancy",
            Enumerated(
                "TransitVehicleOccupancy",
                [
                    "occupancyUnknown",
                    "occupancyEmpty",
                    "occupancyVeryLow",
                    "occupancyLow",
                    "occupancyMed",
                    "occupancyHigh",
                    "occupancyNearlyFull",
                    "occupancyFull",
                ],
            ),
        ),
        optional("transitSchedule", Integer("DeltaTime", -122, 121)),  # 10 s
        regional(),
    ],
    extensible=True,
)

SignalRequest = Sequence(
    "SignalRequest",
    [
        field("id", IntersectionReferenceID),
        field("requestID", RequestID),
        field(
            "requestType",
            Enumerated(
                "PriorityRequestType",
                ["priorityRequestTypeReserved", "priorityRequest", "priorityRequestUpdate", "priorityCancellation"],
                extensions=[],
            ),
        ),
        field("inBoundLane", IntersectionAccessPoint),
        optional("outBoundLane", IntersectionAccessPoint),
        regional(),
    ],
    extensible=True,
)

SignalRequestPackage = Sequence(
    "SignalRequestPackage",
    [
        field("request", SignalRequest),
        optional("minute", MinuteOfTheYear),
        optional("second", DSecond),
        optional("duration", DSecondDuration),
        regional(),
    ],
    extensible=True,
)

SignalRequestMessage = Sequence(
    "SignalRequestMessage",
    [
        optional("timeStamp", MinuteOfTheYear),
        field("second", DSecond),
        optional("sequenceNumber", MsgCount),
        optional("requests", SequenceOf("SignalRequestList", SignalRequestPackage, Size(1, 32))),
        field("requestor", RequestorDescription),
        regional(),
    ],
    extensible=True,
)

SignalRequesterInfo = Sequence(
    "SignalRequesterInfo",
    [
        field("id", VehicleID),
        field("request", RequestID),
        field("sequenceNumber", MsgCount),
        optional("role", BasicVehicleRole),
        optional("typeData", RequestorType),
    ],
    extensible=True,
)

PrioritizationResponseStatus = Enumerated(
    "PrioritizationResponseStatus",
    [
        "unknown",
        "requested",
        "processing",
        "watchOtherTraffic",
        "granted",
        "rejected",
        "maxPresence",
        "reserviceLocked",
    ],
    extensions=[],
)

SignalStatusPackage = Sequence(
    "SignalStatusPackage",
    [
        optional("requester", SignalRequesterInfo),
        field("inboundOn", IntersectionAccessPoint),
        optional("outboundOn", IntersectionAccessPoint),
        optional("minute", MinuteOfTheYear),
        optional("second", DSecond),
        optional("duration", DSecondDuration),
        field("status", PrioritizationResponseStatus),
        regional(),
    ],
    extensible=True,
)

SignalStatus = Sequence(
    "SignalStatus",
    [
        field("sequenceNumber", MsgCount),
        field("id", IntersectionReferenceID),
        field("sigStatus", SequenceOf("SignalStatusPackageList", SignalStatusPackage, Size(1, 32))),
        regional(),
    ],
    extensible=True,
)

SignalStatusMessage = Sequence(
    "SignalStatusMessage",
    [
        optional("timeStamp", MinuteOfTheYear),
        field("second", DSecond),
        optional("sequenceNumber", MsgCount),
        field("status", SequenceOf("SignalStatusList", SignalStatus, Size(1, 32))),
        regional(),
    ],
    extensible=True,
)

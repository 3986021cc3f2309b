"""SAE J2735 TravelerInformation (TIM, messageId 31), described for the UPER engine.

Written from the public field facts (see the interop notes: msgCnt, timeStamp?, packetID?, urlB?,
dataFrames[1..8] of TravelerDataFrame{frameType, msgId, startYear?, startTime, durationTime, priority,
regions[1..16] of GeographicalPath, content of ITIS codes / text}); no J2735 ASN.1 text is used or kept here.
The node lists and the lane geometry types are the ISO TS 19091 ones already described for MapData.

The four SSP index components of a data frame keep the 2016 / 2020 names (notUsed, notUsed1..3; 2024 renames
them doNotUse1..4, as the jpo-ode reference decode does). Checked bit for bit on two real TIMs (asn1_codec's,
with a node-LL path, and jpo-ode's, with a node-XY path of absolute lat/lon nodes). A GeographicalPath described
by an oldRegion (ValidRegion) is not described: such a TIM does not decode.
"""

from __future__ import annotations

from roadlink.codec.j2735_common import (
    DescriptiveName,
    Latitude,
    Longitude,
    MinuteOfTheYear,
    MsgCount,
    Position3D,
    RegionalExtension,
    field,
    optional,
    regional,
)
from roadlink.codec.j2735_intersection import (
    LaneDataAttribute,
    LaneWidth,
    NodeAttributeXY,
    NodeListXY,
    SegmentAttributeXY,
)
from roadlink.codec.uper import (
    BitString,
    Boolean,
    Choice,
    Enumerated,
    IA5String,
    Integer,
    OctetString,
    Sequence,
    SequenceOf,
    Size,
    Undescribed,
)

__all__ = ["TIM_MESSAGE_ID", "TravelerDataFrame", "TravelerInformation"]

TIM_MESSAGE_ID = 31

HeadingSlice = BitString("HeadingSlice", Size(16, 16))
"""16 sectors of 22.5 deg, bit 0 = from 0 to 22.5 deg."""
SSPindex = Integer("SSPindex", 0, 31)

# --- node lists in lat/lon offsets ---------------------------------------------------------------------------------


def _ll(name: str, bits: int) -> Sequence:
    offset = Integer(f"OffsetLL-B{bits}", -(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return Sequence(name, [field("lon", offset), field("lat", offset)])


NodeOffsetPointLL = Choice(
    "NodeOffsetPointLL",
    [
        ("node-LL1", _ll("Node-LL-24B", 12)),
        ("node-LL2", _ll("Node-LL-28B", 14)),
        ("node-LL3", _ll("Node-LL-32B", 16)),
        ("node-LL4", _ll("Node-LL-36B", 18)),
        ("node-LL5", _ll("Node-LL-44B", 22)),
        ("node-LL6", _ll("Node-LL-48B", 24)),
        ("node-LatLon", Sequence("Node-LLmD-64b", [field("lon", Longitude), field("lat", Latitude)])),
        ("regional", RegionalExtension),
    ],
)
"""lon / lat offsets from the previous node (the anchor for the first), 1e-7 deg."""

OffsetB10 = Integer("Offset-B10", -512, 511)
NodeAttributeSetLL = Sequence(
    "NodeAttributeSetLL",
    [
        optional("localNode", SequenceOf("NodeAttributeLLList", NodeAttributeXY, Size(1, 8))),
        optional("disabled", SequenceOf("SegmentAttributeLLList", SegmentAttributeXY, Size(1, 8))),
        optional("enabled", SequenceOf("SegmentAttributeLLList", SegmentAttributeXY, Size(1, 8))),
        optional("data", SequenceOf("LaneDataAttributeList", LaneDataAttribute, Size(1, 8))),
        optional("dWidth", OffsetB10),
        optional("dElevation", OffsetB10),
        regional(),
    ],
    extensible=True,
)

NodeLL = Sequence(
    "NodeLL",
    [field("delta", NodeOffsetPointLL), optional("attributes", NodeAttributeSetLL)],
    extensible=True,
)
NodeListLL = Choice("NodeListLL", [("nodes", SequenceOf("NodeSetLL", NodeLL, Size(2, 63)))], extensible=True)

OffsetSystem = Sequence(
    "OffsetSystem",
    [
        optional("scale", Integer("Zoom", 0, 15)),
        field("offset", Choice("offset", [("xy", NodeListXY), ("ll", NodeListLL)])),
    ],
)

# --- regions -------------------------------------------------------------------------------------------------------

Circle = Sequence(
    "Circle",
    [
        field("center", Position3D),
        field("radius", Integer("Radius-B12", 0, 4095)),
        field(
            "units",
            Enumerated(
                "DistanceUnits",
                ["centimeter", "cm2-5", "decimeter", "meter", "kilometer", "foot", "yard", "mile"],
            ),
        ),
    ],
)

Extent = Enumerated(
    "Extent",
    [
        "useInstantlyOnly",
        "useFor3meters",
        "useFor10meters",
        "useFor50meters",
        "useFor100meters",
        "useFor500meters",
        "useFor1000meters",
        "useFor5000meters",
        "useFor10000meters",
        "useFor50000meters",
        "useFor100000meters",
        "useFor500000meters",
        "useFor1000000meters",
        "useFor5000000meters",
        "useFor10000000meters",
        "forever",
    ],
)

GeometricProjection = Sequence(
    "GeometricProjection",
    [
        field("direction", HeadingSlice),
        optional("extent", Extent),
        optional("laneWidth", LaneWidth),
        field("circle", Circle),
        regional(),
    ],
    extensible=True,
)

GeographicalPath = Sequence(
    "GeographicalPath",
    [
        optional("name", DescriptiveName),
        optional(
            "id",
            Sequence(
                "RoadSegmentReferenceID",
                [
                    optional("region", Integer("RoadRegulatorID", 0, 65535)),
                    field("id", Integer("RoadSegmentID", 0, 65535)),
                ],
            ),
        ),
        optional("anchor", Position3D),
        optional("laneWidth", LaneWidth),
        optional("directionality", Enumerated("DirectionOfUse", ["unavailable", "forward", "reverse", "both"])),
        optional("closedPath", Boolean("closedPath")),
        optional("direction", HeadingSlice),
        optional(
            "description",
            Choice(
                "description",
                [
                    ("path", OffsetSystem),
                    ("geometry", GeometricProjection),
                    ("oldRegion", Undescribed("ValidRegion")),
                ],
                extensible=True,
            ),
        ),
        regional(),
    ],
    extensible=True,
)

# --- content -------------------------------------------------------------------------------------------------------

ITIScodes = Integer("ITIScodes", 0, 65535)


def _itis_list(name: str, count: int, text: IA5String) -> SequenceOf:
    item = Choice("item", [("itis", ITIScodes), ("text", text)])
    return SequenceOf(name, Sequence("SEQUENCE", [field("item", item)]), Size(1, count))


_PHRASE = IA5String("ITIStextPhrase", Size(1, 16))

TravelerDataFrameContent = Choice(
    "content",
    [
        ("advisory", _itis_list("ITIScodesAndText", 100, IA5String("ITIStext", Size(1, 500)))),
        ("workZone", _itis_list("WorkZone", 16, _PHRASE)),
        ("genericSign", _itis_list("GenericSignage", 16, _PHRASE)),
        ("speedLimit", _itis_list("SpeedLimit", 16, _PHRASE)),
        ("exitService", _itis_list("ExitService", 16, _PHRASE)),
    ],
)

MUTCDCode = Enumerated(
    "MUTCDCode",
    ["none", "regulatory", "warning", "maintenance", "motoristService", "guide", "rec"],
    extensions=[],
)

RoadSignID = Sequence(
    "RoadSignID",
    [
        field("position", Position3D),
        field("viewAngle", HeadingSlice),
        optional("mutcdCode", MUTCDCode),
        optional("crc", OctetString("MsgCRC", Size(2, 2))),
    ],
)

TravelerDataFrame = Sequence(
    "TravelerDataFrame",
    [
        field("notUsed", SSPindex),
        field(
            "frameType",
            Enumerated("TravelerInfoType", ["unknown", "advisory", "roadSignage", "commercialSignage"], extensions=[]),
        ),
        field(
            "msgId",
            Choice(
                "msgId",
                [("furtherInfoID", OctetString("FurtherInfoID", Size(2, 2))), ("roadSignID", RoadSignID)],
            ),
        ),
        optional("startYear", Integer("DYear", 0, 4095)),
        field("startTime", MinuteOfTheYear),
        field("durationTime", Integer("MinutesDuration", 0, 32000)),  # minutes; 32000 = indefinite
        field("priority", Integer("SignPriority", 0, 7)),
        field("notUsed1", SSPindex),
        field("regions", SequenceOf("regions", GeographicalPath, Size(1, 16))),
        field("notUsed2", SSPindex),
        field("notUsed3", SSPindex),
        field("content", TravelerDataFrameContent),
        optional("url", IA5String("URL-Short", Size(1, 15))),
    ],
    extensible=True,
)

TravelerInformation = Sequence(
    "TravelerInformation",
    [
        field("msgCnt", MsgCount),
        optional("timeStamp", MinuteOfTheYear),
        optional("packetID", OctetString("UniqueMSGID", Size(9, 9))),
        optional("urlB", IA5String("URL-Base", Size(1, 45))),
        field("dataFrames", SequenceOf("TravelerDataFrameList", TravelerDataFrame, Size(1, 8))),
        regional(),
    ],
    extensible=True,
)

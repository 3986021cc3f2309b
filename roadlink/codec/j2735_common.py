"""SAE J2735 common data elements and frames shared by several messages, described for the UPER engine.

Written from the public field facts (units, ranges, component order; see the interop notes) and checked bit for
bit against real captures and their reference decodes; no J2735 ASN.1 text is used or kept here. Component names
follow the reference decodes, so a decoded message reads like its XER twin.

The value ranges are J2735's (2016 and later). Two differ from the ISO TS 19091 copy of the same types (pycrate's
ITS_IS): Longitude starts at -1799999999 here, not -1800000000, which shifts every encoded longitude by one, and
TimeMark ends at 36111 (J2735-2020 and later: 36111 unavailable, 36000..36009 leap-second tenths), not 36001; both
are the same width on the wire.
"""

from __future__ import annotations

from roadlink.codec.uper import (
    AsnType,
    BitString,
    Enumerated,
    Field,
    IA5String,
    Integer,
    OctetString,
    OpenType,
    Sequence,
    SequenceOf,
    Size,
)

__all__ = [
    "BasicVehicleRole",
    "DSecond",
    "DescriptiveName",
    "Elevation",
    "Heading",
    "IntersectionReferenceID",
    "IntersectionStatusObject",
    "LaneID",
    "Latitude",
    "Longitude",
    "MinuteOfTheYear",
    "MsgCount",
    "Position3D",
    "PositionalAccuracy",
    "RegionalExtension",
    "RestrictionClassID",
    "SignalGroupID",
    "Speed",
    "TemporaryID",
    "TimeMark",
    "Velocity",
    "ZoneLength",
    "field",
    "optional",
    "regional",
]


def field(name: str, t: AsnType) -> Field:
    """A mandatory SEQUENCE component."""
    return Field(name, t)


def optional(name: str, t: AsnType) -> Field:
    """An OPTIONAL SEQUENCE component."""
    return Field(name, t, optional=True)


MsgCount = Integer("MsgCount", 0, 127)
TemporaryID = OctetString("TemporaryID", Size(4, 4))
DSecond = Integer("DSecond", 0, 65535)
"""ms within the UTC minute; 60000..60999 leap second, 65535 unavailable."""
MinuteOfTheYear = Integer("MinuteOfTheYear", 0, 527040)
"""minutes since Jan 1 00:00 UTC; 527040 unavailable."""
TimeMark = Integer("TimeMark", 0, 36111)
"""0.1 s within the UTC hour."""
Latitude = Integer("Latitude", -900000000, 900000001)
"""1e-7 deg; 900000001 unavailable."""
Longitude = Integer("Longitude", -1799999999, 1800000001)
"""1e-7 deg; 1800000001 unavailable."""
Elevation = Integer("Elevation", -4096, 61439)
"""0.1 m; -4096 unavailable."""
Speed = Integer("Speed", 0, 8191)
"""0.02 m/s; 8191 unavailable."""
Velocity = Integer("Velocity", 0, 8191)
"""0.02 m/s; 8191 unavailable."""
Heading = Integer("Heading", 0, 28800)
"""0.0125 deg; 28800 unavailable."""
LaneID = Integer("LaneID", 0, 255)
SignalGroupID = Integer("SignalGroupID", 0, 255)
RestrictionClassID = Integer("RestrictionClassID", 0, 255)
ZoneLength = Integer("ZoneLength", 0, 10000)
"""1 m."""
DescriptiveName = IA5String("DescriptiveName", Size(1, 63))

RegionalExtension = Sequence(
    "RegionalExtension",
    [field("regionId", Integer("RegionId", 0, 255)), field("regExtValue", OpenType("regExtValue"))],
)
"""A regional extension: its content is kept as Raw octets (re-encoded verbatim)."""


def regional(name: str = "regional") -> Field:
    """The usual OPTIONAL ``regional SEQUENCE (SIZE(1..4)) OF RegionalExtension`` component."""
    return optional(name, SequenceOf("RegionalExtensions", RegionalExtension, Size(1, 4)))


PositionalAccuracy = Sequence(
    "PositionalAccuracy",
    [
        field("semiMajor", Integer("SemiMajorAxisAccuracy", 0, 255)),
        field("semiMinor", Integer("SemiMinorAxisAccuracy", 0, 255)),
        field("orientation", Integer("SemiMajorAxisOrientation", 0, 65535)),
    ],
)
"""Semi-axes 0.05 m (255 unavailable); orientation 360/65535 deg (65535 unavailable)."""

Position3D = Sequence(
    "Position3D",
    [field("lat", Latitude), field("long", Longitude), optional("elevation", Elevation), regional()],
    extensible=True,
)

IntersectionReferenceID = Sequence(
    "IntersectionReferenceID",
    [optional("region", Integer("RoadRegulatorID", 0, 65535)), field("id", Integer("IntersectionID", 0, 65535))],
)

IntersectionStatusObject = BitString("IntersectionStatusObject", Size(16, 16))

# The role a vehicle reports (BSM Part II special vehicle data, SRM requestor).
BasicVehicleRole = Enumerated(
    "BasicVehicleRole",
    [
        "basicVehicle",
        "publicTransport",
        "specialTransport",
        "dangerousGoods",
        "roadWork",
        "roadRescue",
        "emergency",
        "safetyCar",
        "none-unknown",
        "truck",
        "motorcycle",
        "roadSideSource",
        "police",
        "fire",
        "ambulance",
        "dot",
        "transit",
        "slowMoving",
        "stopNgo",
        "cyclist",
        "pedestrian",
        "nonMotorized",
        "military",
    ],
    extensions=[],
)

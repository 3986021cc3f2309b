"""SAE J2735 / J3224 SensorDataSharingMessage (SDSM, messageId 41), described for the UPER engine.

Written from the public field facts (see the interop notes: msgCnt, sourceID, equipmentType, sDSMTimeStamp
(DDateTime), refPos, refPosXYConf, refPosElConf?, objects[1..256] of {detObjCommon, detObjOptData?}); no
J2735 / J3224 ASN.1 text is used or kept here. Component names follow the reference decodes.

How far each part is proven: the message preamble, DDateTime, refPos, refPosXYConf and a detected VRU's
common data (objType, objTypeCfd, objectID, measurementTime, timeConfidence, pos, posConfidence, speed,
speedConfidence, heading, headingConf) are checked bit for bit on the jpo-ode capture and its asn1_codec decode.
The optional components (offsetZ, speedZ, accel4way and their confidences, and the vehicle / VRU / obstacle
data of detObjOptData) are the types as publicly described; no capture carries them.

The capture settles three preambles: the message's is one bit (refPosElConf present, so no extension marker),
PositionOffsetXYZ's one bit (offsetZ), and DetectedObjectData + DetectedObjectCommonData take nine bits together:
detObjOptData present, then the extension marker and the seven optional components of the common data. (Whether
the marker sits on the object or on its common data cannot be told from this capture; it is put on the common
data, the type with the optional components that later editions add to.)

Units: pos offsets 0.1 m east / north / up of refPos; measurementTime ms relative to sDSMTimeStamp; speed 0.02
m/s; heading 0.0125 deg; objTypeCfd percent (0..101); obstacle and vehicle sizes as in the BSM (1 cm) or 0.1 m
(obstacle SizeValue).
"""

from __future__ import annotations

from roadlink.codec.j2735_common import (
    DSecond,
    Heading,
    MsgCount,
    Position3D,
    PositionalAccuracy,
    Speed,
    TemporaryID,
    field,
    optional,
)
from roadlink.codec.j2735_motion import AccelerationSet4Way, BasicVehicleClass, ExteriorLights, VehicleSize
from roadlink.codec.j2735_psm import PersonalDeviceUserType, PropelledInformation
from roadlink.codec.uper import Choice, Enumerated, Integer, Sequence, SequenceOf, Size

__all__ = [
    "SDSM_MESSAGE_ID",
    "DDateTime",
    "DetectedObjectCommonData",
    "DetectedObjectData",
    "SensorDataSharingMessage",
]

SDSM_MESSAGE_ID = 41

DDateTime = Sequence(
    "DDateTime",
    [
        optional("year", Integer("DYear", 0, 4095)),
        optional("month", Integer("DMonth", 0, 12)),
        optional("day", Integer("DDay", 0, 31)),
        optional("hour", Integer("DHour", 0, 31)),
        optional("minute", Integer("DMinute", 0, 60)),
        optional("second", DSecond),
        optional("offset", Integer("DOffset", -840, 840)),  # minutes from UTC
    ],
)
"""0 means unavailable for year, month, day; 31 for hour; 60 for minute; 65535 for second."""

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
PositionConfidence = Enumerated(
    "PositionConfidence",
    [
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
    ],
)
TimeConfidence = Enumerated(
    "TimeConfidence",
    [
        "unavailable",
        "time-100-000",
        "time-050-000",
        "time-020-000",
        "time-010-000",
        "time-002-000",
        "time-001-000",
        "time-000-500",
        "time-000-200",
        "time-000-100",
        "time-000-050",
        "time-000-020",
        "time-000-010",
        "time-000-005",
        "time-000-002",
        "time-000-001",
        "time-000-000-5",
        "time-000-000-2",
        "time-000-000-1",
        "time-000-000-05",
        "time-000-000-02",
        "time-000-000-01",
        "time-000-000-005",
        "time-000-000-002",
        "time-000-000-001",
        "time-000-000-000-5",
        "time-000-000-000-2",
        "time-000-000-000-1",
        "time-000-000-000-05",
        "time-000-000-000-02",
        "time-000-000-000-01",
        "time-000-000-000-005",
        "time-000-000-000-002",
        "time-000-000-000-001",
        "time-000-000-000-000-5",
        "time-000-000-000-000-2",
        "time-000-000-000-000-1",
        "time-000-000-000-000-05",
        "time-000-000-000-000-02",
        "time-000-000-000-000-01",
    ],
)
SpeedConfidence = Enumerated(
    "SpeedConfidence",
    ["unavailable", "prec100ms", "prec10ms", "prec5ms", "prec1ms", "prec0-1ms", "prec0-05ms", "prec0-01ms"],
)
HeadingConfidence = Enumerated(
    "HeadingConfidence",
    ["unavailable", "prec10deg", "prec05deg", "prec01deg", "prec0-1deg", "prec0-05deg", "prec0-01deg", "prec0-0125deg"],
)
AccelerationConfidence = Enumerated(
    "AccelerationConfidence",
    [
        "unavailable",
        "accl-100-00",
        "accl-010-00",
        "accl-005-00",
        "accl-001-00",
        "accl-000-10",
        "accl-000-05",
        "accl-000-01",
    ],
)
YawRateConfidence = Enumerated(
    "YawRateConfidence",
    [
        "unavailable",
        "degSec-100-00",
        "degSec-010-00",
        "degSec-005-00",
        "degSec-001-00",
        "degSec-000-10",
        "degSec-000-05",
        "degSec-000-01",
    ],
)
SizeValueConfidence = Enumerated(
    "SizeValueConfidence",
    [
        "unavailable",
        "size-100-00",
        "size-050-00",
        "size-020-00",
        "size-010-00",
        "size-005-00",
        "size-002-00",
        "size-001-00",
        "size-000-50",
        "size-000-20",
        "size-000-10",
        "size-000-05",
        "size-000-02",
        "size-000-01",
    ],
)

ObjectDistance = Integer("ObjectDistance", -32767, 32767)
"""0.1 m."""
ClassificationConfidence = Integer("ClassificationConfidence", 0, 101)
"""percent; 101 unavailable."""

PositionOffsetXYZ = Sequence(
    "PositionOffsetXYZ",
    [field("offsetX", ObjectDistance), field("offsetY", ObjectDistance), optional("offsetZ", ObjectDistance)],
)

DetectedObjectCommonData = Sequence(
    "DetectedObjectCommonData",
    [
        field("objType", Enumerated("ObjectType", ["unknown", "vehicle", "vru", "animal"], extensions=[])),
        field("objTypeCfd", ClassificationConfidence),
        field("objectID", Integer("ObjectID", 0, 65535)),
        field("measurementTime", Integer("MeasurementTimeOffset", -1500, 1500)),
        field("timeConfidence", TimeConfidence),
        field("pos", PositionOffsetXYZ),
        field(
            "posConfidence",
            Sequence(
                "PositionConfidenceSet", [field("pos", PositionConfidence), field("elevation", ElevationConfidence)]
            ),
        ),
        field("speed", Speed),
        field("speedConfidence", SpeedConfidence),
        optional("speedZ", Speed),
        optional("speedConfidenceZ", SpeedConfidence),
        field("heading", Heading),
        field("headingConf", HeadingConfidence),
        optional("accel4way", AccelerationSet4Way),
        optional("accCfdX", AccelerationConfidence),
        optional("accCfdY", AccelerationConfidence),
        optional("accCfdZ", AccelerationConfidence),
        optional("accCfdYaw", YawRateConfidence),
    ],
    extensible=True,
)

_PITCH_RATE_CONFIDENCE = Enumerated(
    "PitchRateConfidence",
    [
        "unavailable",
        "degSec-100-00",
        "degSec-010-00",
        "degSec-005-00",
        "degSec-001-00",
        "degSec-000-10",
        "degSec-000-05",
        "degSec-000-01",
    ],
)
DetectedVehicleData = Sequence(
    "DetectedVehicleData",
    [
        optional("lights", ExteriorLights),
        optional(
            "vehAttitude",
            Sequence(
                "Attitude",
                [
                    field("pitch", Integer("PitchDetected", -7200, 7200)),
                    field("roll", Integer("RollDetected", -14400, 14400)),
                    field("yaw", Integer("YawDetected", -14400, 14400)),
                ],
            ),
        ),
        optional(
            "vehAttitudeConfidence",
            Sequence(
                "AttitudeConfidence",
                [
                    field("pitchConfidence", HeadingConfidence),
                    field("rollConfidence", HeadingConfidence),
                    field("yawConfidence", HeadingConfidence),
                ],
            ),
        ),
        optional(
            "vehAngVel",
            Sequence(
                "AngularVelocity",
                [
                    field("pitchRate", Integer("PitchRate", -32767, 32767)),
                    field("rollRate", Integer("RollRate", -32767, 32767)),
                ],
            ),
        ),
        optional(
            "vehAngVelConfidence",
            Sequence(
                "AngularVelocityConfidence",
                [
                    optional("pitchRateConfidence", _PITCH_RATE_CONFIDENCE),
                    optional("rollRateConfidence", _PITCH_RATE_CONFIDENCE),
                ],
            ),
        ),
        optional("size", VehicleSize),
        optional("height", Integer("VehicleHeight", 0, 127)),
        optional(
            "vehicleSizeConfidence",
            Sequence(
                "VehicleSizeConfidence",
                [
                    field("vehicleWidthConfidence", SizeValueConfidence),
                    field("vehicleLengthConfidence", SizeValueConfidence),
                    optional("vehicleHeightConfidence", SizeValueConfidence),
                ],
            ),
        ),
        optional("vehicleClass", BasicVehicleClass),
        optional("classConf", ClassificationConfidence),
    ],
    extensible=True,
)

DetectedVRUData = Sequence(
    "DetectedVRUData",
    [
        optional("basicType", PersonalDeviceUserType),
        optional("propulsion", PropelledInformation),
        optional(
            "attachment",
            Enumerated(
                "Attachment",
                [
                    "unavailable",
                    "stroller",
                    "bicycleTrailer",
                    "cart",
                    "wheelchair",
                    "otherWalkAssistAttachments",
                    "pet",
                ],
                extensions=[],
            ),
        ),
        optional("radius", Integer("AttachmentRadius", 0, 200)),
    ],
    extensible=True,
)

SizeValue = Integer("SizeValue", 0, 1023)
"""0.1 m."""
DetectedObstacleData = Sequence(
    "DetectedObstacleData",
    [
        field(
            "obstSize",
            Sequence(
                "ObstacleSize", [field("width", SizeValue), field("length", SizeValue), optional("height", SizeValue)]
            ),
        ),
        field(
            "obstSizeConfidence",
            Sequence(
                "ObstacleSizeConfidence",
                [
                    field("widthConfidence", SizeValueConfidence),
                    field("lengthConfidence", SizeValueConfidence),
                    optional("heightConfidence", SizeValueConfidence),
                ],
            ),
        ),
    ],
    extensible=True,
)

DetectedObjectOptionalData = Choice(
    "DetectedObjectOptionalData",
    [("detVeh", DetectedVehicleData), ("detVRU", DetectedVRUData), ("detObst", DetectedObstacleData)],
    extensible=True,
)

DetectedObjectData = Sequence(
    "DetectedObjectData",
    [field("detObjCommon", DetectedObjectCommonData), optional("detObjOptData", DetectedObjectOptionalData)],
)

SensorDataSharingMessage = Sequence(
    "SensorDataSharingMessage",
    [
        field("msgCnt", MsgCount),
        field("sourceID", TemporaryID),
        field("equipmentType", Enumerated("EquipmentType", ["unknown", "rsu", "obu", "vru"], extensions=[])),
        field("sDSMTimeStamp", DDateTime),
        field("refPos", Position3D),
        field("refPosXYConf", PositionalAccuracy),
        optional("refPosElConf", ElevationConfidence),
        field("objects", SequenceOf("DetectedObjectList", DetectedObjectData, Size(1, 256))),
    ],
)

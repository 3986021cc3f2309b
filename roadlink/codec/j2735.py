"""SAE J2735 MessageFrame and BasicSafetyMessage, described for the UPER engine.

Written from the public field facts (units, ranges, component order; see the interop notes) and checked bit for
bit against real captures and their reference decodes; no J2735 ASN.1 text is used or kept here. Component names
follow the reference decodes, so a decoded frame reads like its XER twin.

What is described: MessageFrame (messageId + open-type value), BasicSafetyMessage with BSMcoreData in full, and
Part II: VehicleSafetyExtensions (events, pathHistory with currGNSSstatus and crumbData, pathPrediction, lights)
and SupplementalVehicleExtensions (classification, classDetails, vehicleData, weatherReport, weatherProbe).
The frame also carries SPAT and MapData (`j2735_intersection`), SRM and SSM
(`j2735_signal_request`), the TIM (`j2735_tim`), the PSM (`j2735_psm`) and the SDSM (`j2735_sdsm`).
What is kept as `Raw` octets, so that re-encoding reproduces them exactly: every other message type, Part II
content with another id (SpecialVehicleExtensions) or with parts described as `Undescribed` below (for example a
pathHistory initialPosition, or supplemental obstacle / status / speedProfile / theRTCM), regional extensions,
and extension additions that this description does not know.
"""

from __future__ import annotations

from typing import Any

from roadlink.codec.j2735_common import (
    BasicVehicleRole,
    DSecond,
    Elevation,
    Heading,
    Latitude,
    Longitude,
    MsgCount,
    PositionalAccuracy,
    Speed,
    TemporaryID,
    field,
    optional,
    regional,
)
from roadlink.codec.j2735_intersection import MAP_MESSAGE_ID, SPAT, SPAT_MESSAGE_ID, MapData
from roadlink.codec.j2735_motion import (
    AccelerationSet4Way,
    BasicVehicleClass,
    ExteriorLights,
    PathHistory,
    PathPrediction,
    SteeringWheelAngle,
    VehicleSize,
)
from roadlink.codec.j2735_psm import PSM_MESSAGE_ID, PersonalSafetyMessage
from roadlink.codec.j2735_sdsm import SDSM_MESSAGE_ID, SensorDataSharingMessage
from roadlink.codec.j2735_signal_request import (
    SRM_MESSAGE_ID,
    SSM_MESSAGE_ID,
    SignalRequestMessage,
    SignalStatusMessage,
)
from roadlink.codec.j2735_tim import TIM_MESSAGE_ID, TravelerInformation
from roadlink.codec.uper import (
    AsnType,
    BitString,
    Enumerated,
    Integer,
    OpenTypeBy,
    Sequence,
    SequenceOf,
    Size,
    Undescribed,
)

__all__ = [
    "BSM_MESSAGE_ID",
    "PART_II_SPECIAL",
    "PART_II_SUPPLEMENTAL",
    "PART_II_VEHICLE_SAFETY",
    "BasicSafetyMessage",
    "MessageFrame",
    "decode_frame",
    "encode_frame",
    "split_frames",
]

BSM_MESSAGE_ID = 20
PART_II_VEHICLE_SAFETY = 0
PART_II_SPECIAL = 1
PART_II_SUPPLEMENTAL = 2


_f = field
_opt = optional
_regional = regional

# --- common data elements only the BSM uses (the shared ones are in j2735_common) ----------------------------------

TransmissionState = Enumerated(
    "TransmissionState",
    ["neutral", "park", "forwardGears", "reverseGears", "reserved1", "reserved2", "reserved3", "unavailable"],
)

_ASSIST = ["unavailable", "off", "on", "engaged"]
BrakeSystemStatus = Sequence(
    "BrakeSystemStatus",
    [
        # bits: unavailable, leftFront, leftRear, rightFront, rightRear
        _f("wheelBrakes", BitString("BrakeAppliedStatus", Size(5, 5))),
        _f("traction", Enumerated("TractionControlStatus", _ASSIST)),
        _f("abs", Enumerated("AntiLockBrakeStatus", _ASSIST)),
        _f("scs", Enumerated("StabilityControlStatus", _ASSIST)),
        _f("brakeBoost", Enumerated("BrakeBoostApplied", ["unavailable", "off", "on"])),
        _f("auxBrakes", Enumerated("AuxiliaryBrakeStatus", ["unavailable", "off", "on", "reserved"])),
    ],
)

# --- BSM core ------------------------------------------------------------------------------------------------------

BSMcoreData = Sequence(
    "BSMcoreData",
    [
        _f("msgCnt", MsgCount),
        _f("id", TemporaryID),
        _f("secMark", DSecond),
        _f("lat", Latitude),
        _f("long", Longitude),
        _f("elev", Elevation),
        _f("accuracy", PositionalAccuracy),
        _f("transmission", TransmissionState),
        _f("speed", Speed),
        _f("heading", Heading),
        _f("angle", SteeringWheelAngle),
        _f("accelSet", AccelerationSet4Way),
        _f("brakes", BrakeSystemStatus),
        _f("size", VehicleSize),
    ],
)

# --- Part II: VehicleSafetyExtensions ------------------------------------------------------------------------------

VehicleSafetyExtensions = Sequence(
    "VehicleSafetyExtensions",
    [
        _opt("events", BitString("VehicleEventFlags", Size(13, 13, extensible=True))),
        _opt("pathHistory", PathHistory),
        _opt("pathPrediction", PathPrediction),
        _opt("lights", ExteriorLights),
    ],
    extensible=True,
)

# --- Part II: SupplementalVehicleExtensions ------------------------------------------------------------------------

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

VehicleClassification = Sequence(
    "VehicleClassification",
    [
        _opt("keyType", BasicVehicleClass),
        _opt("role", BasicVehicleRole),
        _opt("iso3883", Integer("Iso3833VehicleType", 0, 100)),
        _opt("hpmsType", VehicleType),
        _opt("vehicleType", Undescribed("VehicleGroupAffected")),
        _opt("responseEquip", Undescribed("IncidentResponseEquipment")),
        _opt("responderType", Undescribed("ResponderGroupAffected")),
        _opt("fuelType", Integer("FuelType", 0, 15)),
        _regional(),
    ],
    extensible=True,
)

VehicleData = Sequence(
    "VehicleData",
    [
        _opt("height", Integer("VehicleHeight", 0, 127)),
        _opt(
            "bumpers",
            Sequence(
                "BumperHeights",
                [_f("front", Integer("BumperHeight", 0, 127)), _f("rear", Integer("BumperHeight", 0, 127))],
            ),
        ),
        _opt("mass", Integer("VehicleMass", 0, 255)),
        _opt("trailerWeight", Integer("TrailerWeight", 0, 64255)),
    ],
    extensible=True,
)

WiperStatus = Enumerated(
    "WiperStatus",
    ["unavailable", "off", "intermittent", "low", "high", "washerInUse", "automaticPresent"],
    extensions=[],
)
WiperRate = Integer("WiperRate", 0, 127)

WeatherProbe = Sequence(
    "WeatherProbe",
    [
        _opt("airTemp", Integer("AmbientAirTemperature", 0, 191)),
        _opt("airPressure", Integer("AmbientAirPressure", 0, 255)),
        _opt(
            "rainRates",
            Sequence(
                "WiperSet",
                [
                    _f("statusFront", WiperStatus),
                    _f("rateFront", WiperRate),
                    _opt("statusRear", WiperStatus),
                    _opt("rateRear", WiperRate),
                ],
            ),
        ),
    ],
    extensible=True,
)

SupplementalVehicleExtensions = Sequence(
    "SupplementalVehicleExtensions",
    [
        _opt("classification", BasicVehicleClass),
        _opt("classDetails", VehicleClassification),
        _opt("vehicleData", VehicleData),
        _opt("weatherReport", Undescribed("WeatherReport")),
        _opt("weatherProbe", WeatherProbe),
        _opt("obstacle", Undescribed("ObstacleDetection")),
        _opt("status", Undescribed("DisabledVehicle")),
        _opt("speedProfile", Undescribed("SpeedProfile")),
        _opt("theRTCM", Undescribed("RTCMPackage")),
        _regional(),
    ],
    extensible=True,
)

# --- BSM and the frame ---------------------------------------------------------------------------------------------

PartIIcontent = Sequence(
    "PartIIcontent",
    [
        _f("partII-Id", Integer("PartII-Id", 0, 63)),
        _f(
            "partII-Value",
            OpenTypeBy(
                "partII-Value",
                "partII-Id",
                {PART_II_VEHICLE_SAFETY: VehicleSafetyExtensions, PART_II_SUPPLEMENTAL: SupplementalVehicleExtensions},
                lenient=True,
            ),
        ),
    ],
)

BasicSafetyMessage = Sequence(
    "BasicSafetyMessage",
    [
        _f("coreData", BSMcoreData),
        _opt("partII", SequenceOf("BSMpartIIExtension", PartIIcontent, Size(1, 8))),
        _regional(),
    ],
    extensible=True,
)

MESSAGES: dict[int, AsnType] = {
    MAP_MESSAGE_ID: MapData,
    SPAT_MESSAGE_ID: SPAT,
    BSM_MESSAGE_ID: BasicSafetyMessage,
    SRM_MESSAGE_ID: SignalRequestMessage,
    SSM_MESSAGE_ID: SignalStatusMessage,
    TIM_MESSAGE_ID: TravelerInformation,
    PSM_MESSAGE_ID: PersonalSafetyMessage,
    SDSM_MESSAGE_ID: SensorDataSharingMessage,
}
"""messageId -> the described message type; any other messageId's value stays Raw."""

MessageFrame = Sequence(
    "MessageFrame",
    [
        _f("messageId", Integer("DSRCmsgID", 0, 32767)),
        _f("value", OpenTypeBy("value", "messageId", MESSAGES)),
    ],
    extensible=True,
)


def decode_frame(data: bytes) -> dict[str, Any]:
    """Decode one MessageFrame that fills `data` exactly. A BSM's value is a dict, other messages' are Raw."""
    value: dict[str, Any] = MessageFrame.decode(data)
    return value


def encode_frame(frame: dict[str, Any]) -> bytes:
    """Encode a MessageFrame (as `decode_frame` returns it)."""
    return MessageFrame.encode(frame)


def split_frames(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """Decode a stream of MessageFrames concatenated without separators: [(offset, frame), ...].

    Each frame is decoded from where the previous one ended, rounded up to the octet (UPER pads every complete
    encoding to whole octets).
    """
    frames, offset = [], 0
    while offset < len(data):
        frame, used = MessageFrame.decode_prefix(data[offset : _frame_end(data, offset)])
        frames.append((offset, frame))
        offset += used
    return frames


def _frame_end(data: bytes, offset: int) -> int:
    """Where the frame at `offset` ends at the latest, read from its header, so each frame is decoded from its
    own octets and splitting stays linear in the stream length.

    The header is 16 bits (extension bit + messageId) followed by the open type's length determinant: one
    octet below 128, two octets with the top bits 10 below 16384. Anything else (an extended frame,
    fragmented lengths, a truncated header) falls back to the rest of the stream.
    """
    if offset + 3 > len(data) or data[offset] & 0x80:
        return len(data)
    first = data[offset + 2]
    if first < 0x80:
        return min(len(data), offset + 3 + first)
    if first < 0xC0 and offset + 4 <= len(data):
        return min(len(data), offset + 4 + (((first & 0x3F) << 8) | data[offset + 3]))
    return len(data)

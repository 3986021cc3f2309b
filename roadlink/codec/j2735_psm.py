"""SAE J2735 PersonalSafetyMessage (PSM, messageId 32), described for the UPER engine.

Written from the public field facts (see the interop notes: basicType, secMark, msgCnt, id, position, accuracy,
speed, heading, then the optional motion, crossing, cluster, worker, sizing, attachment and animal components);
no J2735 ASN.1 text is used or kept here. Component names follow the reference decodes.

How far each part is proven: the preamble (extension bit and 18 optional-component bits), basicType and every
mandatory component are checked bit for bit on the jpo-ode capture and its asn1_codec decode. The optional
components are the J2735 types as publicly described (the motion frames are the BSM's, proven on the BSM
captures); no capture carries them. A pathHistory with an initialPosition, or a regional extension's content,
is not described (an initialPosition does not decode; regional content stays Raw octets).
"""

from __future__ import annotations

from roadlink.codec.j2735_common import (
    DSecond,
    Heading,
    MsgCount,
    Position3D,
    PositionalAccuracy,
    TemporaryID,
    Velocity,
    field,
    optional,
    regional,
)
from roadlink.codec.j2735_motion import AccelerationSet4Way, PathHistory, PathPrediction
from roadlink.codec.uper import BitString, Boolean, Choice, Enumerated, Integer, Sequence, Size

__all__ = ["PSM_MESSAGE_ID", "PersonalDeviceUserType", "PersonalSafetyMessage", "PropelledInformation"]

PSM_MESSAGE_ID = 32

PersonalDeviceUserType = Enumerated(
    "PersonalDeviceUserType",
    ["unavailable", "aPEDESTRIAN", "aPEDALCYCLIST", "aPUBLICSAFETYWORKER", "anANIMAL"],
    extensions=[],
)

PropelledInformation = Choice(
    "PropelledInformation",
    [
        (
            "human",
            Enumerated(
                "HumanPropelledType",
                ["unavailable", "otherTypes", "onFoot", "skateboard", "pushOrKickScooter", "wheelchair"],
                extensions=[],
            ),
        ),
        (
            "animal",
            Enumerated(
                "AnimalPropelledType",
                ["unavailable", "otherTypes", "animalMounted", "animalDrawnCarriage"],
                extensions=[],
            ),
        ),
        (
            "motor",
            Enumerated(
                "MotorizedPropelledType",
                ["unavailable", "otherTypes", "wheelChair", "bicycle", "scooter", "selfBalancingDevice"],
                extensions=[],
            ),
        ),
    ],
    extensible=True,
)


def _flags(name: str, count: int) -> BitString:
    """A J2735 named-bit string of `count` bits, extensible (SIZE(count, ...))."""
    return BitString(name, Size(count, count, extensible=True))


PersonalDeviceUsageState = _flags("PersonalDeviceUsageState", 9)
"""unavailable, other, idle, listeningToAudio, typing, calling, playingGames, reading, viewing."""

NumberOfParticipantsInCluster = Enumerated(
    "NumberOfParticipantsInCluster", ["unavailable", "small", "medium", "large"], extensions=[]
)

PublicSafetyEventResponderWorkerType = Enumerated(
    "PublicSafetyEventResponderWorkerType",
    [
        "unavailable",
        "towOperater",
        "fireAndEMSWorker",
        "aDOTWorker",
        "lawEnforcement",
        "hazmatResponder",
        "animalControlWorker",
        "otherPersonnel",
    ],
    extensions=[],
)

Attachment = Enumerated(
    "Attachment",
    ["unavailable", "stroller", "bicycleTrailer", "cart", "wheelchair", "otherWalkAssistAttachments", "pet"],
    extensions=[],
)
AttachmentRadius = Integer("AttachmentRadius", 0, 200)
"""0.1 m."""

AnimalType = Enumerated("AnimalType", ["unavailable", "serviceUse", "pet", "farm"], extensions=[])

PersonalSafetyMessage = Sequence(
    "PersonalSafetyMessage",
    [
        field("basicType", PersonalDeviceUserType),
        field("secMark", DSecond),
        field("msgCnt", MsgCount),
        field("id", TemporaryID),
        field("position", Position3D),
        field("accuracy", PositionalAccuracy),
        field("speed", Velocity),
        field("heading", Heading),
        optional("accelSet", AccelerationSet4Way),
        optional("pathHistory", PathHistory),
        optional("pathPrediction", PathPrediction),
        optional("propulsion", PropelledInformation),
        optional("useState", PersonalDeviceUsageState),
        optional("crossRequest", Boolean("PersonalCrossingRequest")),
        optional("crossState", Boolean("PersonalCrossingInProgress")),
        optional("clusterSize", NumberOfParticipantsInCluster),
        optional("clusterRadius", Integer("PersonalClusterRadius", 0, 100)),  # 1 m
        optional("eventResponderType", PublicSafetyEventResponderWorkerType),
        optional("activityType", _flags("PublicSafetyAndRoadWorkerActivity", 6)),
        optional("activitySubType", _flags("PublicSafetyDirectingTrafficSubType", 7)),
        optional("assistType", _flags("PersonalAssistive", 6)),
        optional("sizing", _flags("UserSizeAndBehaviour", 5)),
        optional("attachment", Attachment),
        optional("attachmentRadius", AttachmentRadius),
        optional("animalType", AnimalType),
        regional(),
    ],
    extensible=True,
)

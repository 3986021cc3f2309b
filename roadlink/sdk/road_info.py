"""`RoadSideInfo`: traffic events and signs a roadside node passes on to the vehicles in their zone.

It is the SDK's view of CSAE RSI, J2735 TIM/RSA and ETSI DENM/IVIM as the v1 contract carries them: every
position is WGS84, every time is unix ms, and each event or sign says when it applies (`valid_from_unix_ms`,
`valid_until_unix_ms`; None = open). `event_type` and `sign_type` are codes of the book named by
`code_system` (GB/T 29100, GB 5768, ITIS, ETSI cause codes).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from google.protobuf.message import Message
from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import info_pb2

from roadlink.domain.errors import ValidationError
from roadlink.domain.perception import Provenance
from roadlink.domain.spatial import Position
from roadlink.wire.convert import position_from_proto, provenance_from_proto

__all__ = ["CodeSystem", "RoadEvent", "RoadPath", "RoadSideInfo", "RoadSign", "road_side_info_from_proto"]


class CodeSystem(enum.IntEnum):
    """Which code book an event or sign type comes from; values equal the v1 proto enum."""

    UNSPECIFIED = 0
    GBT_29100 = 1
    """GB/T 29100 traffic event codes (CSAE RSI eventType)."""
    GB_5768 = 2
    """GB 5768 road sign types (CSAE RSI signType)."""
    ITIS = 3
    """ITIS codes (J2735 TIM, RSA)."""
    ETSI_CAUSE = 4
    """ETSI causeCode * 256 + subCauseCode (DENM)."""


@dataclass(frozen=True, slots=True)
class RoadPath:
    """A path an event or sign applies to: points in travel order and the half-width around them, metres."""

    points: tuple[Position, ...]
    radius_m: float


@dataclass(frozen=True, slots=True)
class RoadEvent:
    """One traffic event (road works, accident, congestion, ...) at `position`, within `radius_m` metres.

    `priority` is 0..7 (higher is more urgent); `confidence` 0..1 (None = not sent).
    """

    event_id: int
    event_type: int
    code_system: CodeSystem
    position: Position | None = None
    radius_m: float | None = None
    description: str = ""
    priority: int = 0
    valid_from_unix_ms: int | None = None
    valid_until_unix_ms: int | None = None
    reference_paths: tuple[RoadPath, ...] = ()
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class RoadSign:
    """One traffic sign (speed limit, no overtaking, ...) at `position`; `priority` 0..7."""

    sign_id: int
    sign_type: int
    code_system: CodeSystem
    position: Position | None = None
    description: str = ""
    priority: int = 0
    valid_from_unix_ms: int | None = None
    valid_until_unix_ms: int | None = None
    reference_paths: tuple[RoadPath, ...] = ()


@dataclass(frozen=True, slots=True)
class RoadSideInfo:
    """Events and signs issued by `source_id` at `time_unix_ms` (`message_count` rolls over 0..127)."""

    source_id: str
    message_count: int
    time_unix_ms: int
    events: tuple[RoadEvent, ...] = ()
    signs: tuple[RoadSign, ...] = ()
    reference_position: Position | None = None
    provenance: Provenance | None = None

    @property
    def key(self) -> str:
        """Identity of this message: the node sends each one to a vehicle at most once."""
        return f"rsi:{self.source_id}:{self.message_count}:{self.time_unix_ms}"

    @property
    def valid_until_unix_ms(self) -> int | None:
        """The latest end of validity of its events and signs (None when any of them is open-ended)."""
        ends = [event.valid_until_unix_ms for event in self.events] + [sign.valid_until_unix_ms for sign in self.signs]
        known = [end for end in ends if end is not None]
        return max(known) if known and len(known) == len(ends) else None

    def valid_at(self, time_unix_ms: int) -> bool:
        """True when some event or sign still applies at `time_unix_ms` (or none has an end)."""
        end = self.valid_until_unix_ms
        return end is None or time_unix_ms < end


def _code_system(value: int, field: str) -> CodeSystem:
    try:
        return CodeSystem(value)
    except ValueError:
        raise ValidationError("unknown_enum_value", f"CodeSystem has no value {value}", field=field) from None


def _position(owner: Message, name: str) -> Position | None:
    return position_from_proto(getattr(owner, name)) if owner.HasField(name) else None


def _validity(validity: common_pb2.Validity) -> tuple[int | None, int | None]:
    start = validity.start_time_unix_ms if validity.HasField("start_time_unix_ms") else None
    end = validity.end_time_unix_ms if validity.HasField("end_time_unix_ms") else None
    return start, end


def _paths(paths: list[common_pb2.Path]) -> tuple[RoadPath, ...]:
    return tuple(RoadPath(tuple(position_from_proto(p) for p in path.points), path.radius_m) for path in paths)


def _event(message: info_pb2.RoadEvent, field: str) -> RoadEvent:
    start, end = _validity(message.validity)
    return RoadEvent(
        event_id=message.event_id,
        event_type=message.event_type,
        code_system=_code_system(message.code_system, f"{field}.code_system"),
        position=_position(message, "position"),
        radius_m=message.radius_m if message.HasField("radius_m") else None,
        description=message.description,
        priority=message.priority,
        valid_from_unix_ms=start,
        valid_until_unix_ms=end,
        reference_paths=_paths(list(message.reference_paths)),
        confidence=message.confidence if message.HasField("confidence") else None,
    )


def _sign(message: info_pb2.RoadSign, field: str) -> RoadSign:
    start, end = _validity(message.validity)
    return RoadSign(
        sign_id=message.sign_id,
        sign_type=message.sign_type,
        code_system=_code_system(message.code_system, f"{field}.code_system"),
        position=_position(message, "position"),
        description=message.description,
        priority=message.priority,
        valid_from_unix_ms=start,
        valid_until_unix_ms=end,
        reference_paths=_paths(list(message.reference_paths)),
    )


def road_side_info_from_proto(message: info_pb2.RoadSideInfo) -> RoadSideInfo:
    """Decode a v1 RoadSideInfo (raises `ValidationError` for a code system this SDK does not know)."""
    return RoadSideInfo(
        source_id=message.source_id,
        message_count=message.message_count,
        time_unix_ms=message.time_unix_ms,
        events=tuple(_event(e, f"events[{k}]") for k, e in enumerate(message.events)),
        signs=tuple(_sign(s, f"signs[{k}]") for k, s in enumerate(message.signs)),
        reference_position=_position(message, "reference_position"),
        provenance=provenance_from_proto(message.provenance) if message.HasField("provenance") else None,
    )

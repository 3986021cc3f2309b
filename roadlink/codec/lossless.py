"""Lossless air side <-> v1: every v1 message mapped from an air-side message carries that message.

`decode_v1(standard, uper, reference_unix_ms)` maps one air-side message (a J2735 or CSAE MessageFrame, an
ETSI PDU) to its v1 messages, as the mapping modules do, and sets `provenance.air_message` on each to the
original octets (`AirMessage`: standard, message id, UPER). The field survives protobuf serialization, the
gRPC uplink and storage, so any later holder of the v1 message can give the air side back its own octets.

`encode_v1(messages)` is the inverse: the v1 message(s) of one air-side message -> its octets. With an
air_message the original is the template:

    1. the air message is decoded and mapped again (against the v1 message's own times as reference clock);
       when that gives the same v1 content (provenance aside), the original octets are returned unchanged, so
       decode -> v1 -> protobuf -> encode is exact for every message, whatever v1 cannot represent;
    2. otherwise the v1 fields are laid over the decoded original (the mapping modules' `template`): CSAE
       BSM / RSM / SPAT / MAP / RSI, ETSI CAM / DENM and J2735 BSM keep every component v1 has no field for;
       J2735 SPaT and MapData are encoded from the v1 fields (their inverse mappings take no template); J2735
       PSM and SDSM have no inverse mapping and raise EncodeError when their v1 content was changed (a
       RoadSideInfo that came as a CSAE RSI or ETSI DENM is encoded in its own standard).

Without an air_message (data that never was an air-side message, e.g. the roadside node's own SPaT, MAP, RSI or
fused perception bound for vehicles) the message is encoded from its v1 fields alone, in the standard asked for
(a RoadSideInfo as J2735 TIM, CSAE RSI or ETSI DENM).

A SPaT holds several intersections: `decode_v1` gives one SignalPhaseAndTiming per intersection, each with the
same air_message, and `encode_v1` takes them all back (the first one's air_message is used).

Standards are "j2735", "csae53" and "etsi"; message ids are J2735 DSRCmsgID, the CSAE MessageFrame alternative
index, and ETSI messageID (see `AirMessage`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeAlias

from google.protobuf.message import Message
from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import info_pb2, map_pb2, perception_pb2, signal_pb2
from v2x.vehicle.v1 import vehicle_pb2

from roadlink.codec import csae, etsi, j2735
from roadlink.codec.csae_infrastructure import map_to_proto as csae_map_to_proto
from roadlink.codec.csae_infrastructure import proto_to_map as csae_proto_to_map
from roadlink.codec.csae_infrastructure import proto_to_rsi, rsi_to_proto
from roadlink.codec.csae_mapping import (
    bsm_to_vehicle_state as csae_bsm_to_vehicle_state,
)
from roadlink.codec.csae_mapping import (
    perception_frame_to_rsm,
    rsm_to_perception_frame,
    vehicle_state_to_bsm,
)
from roadlink.codec.csae_mapping import signals_to_spat as csae_signals_to_spat
from roadlink.codec.csae_mapping import spat_to_signals as csae_spat_to_signals
from roadlink.codec.errors import DecodeError, EncodeError
from roadlink.codec.etsi_mapping import (
    cam_to_vehicle_state,
    denm_to_road_side_info,
    road_side_info_to_denm,
    vehicle_state_to_cam,
)
from roadlink.codec.j2735_intersection import MAP_MESSAGE_ID, SPAT_MESSAGE_ID
from roadlink.codec.j2735_map import frame_to_map, proto_to_map
from roadlink.codec.j2735_mapping import frame_to_vehicle_state
from roadlink.codec.j2735_mapping import vehicle_state_to_bsm as j2735_vehicle_state_to_bsm
from roadlink.codec.j2735_perception import frame_to_perception
from roadlink.codec.j2735_psm import PSM_MESSAGE_ID
from roadlink.codec.j2735_road_info import road_side_info_to_tim
from roadlink.codec.j2735_sdsm import SDSM_MESSAGE_ID
from roadlink.codec.j2735_spat import signals_to_spat, spat_to_signals
from roadlink.codec.j2735_tim import TIM_MESSAGE_ID
from roadlink.domain.perception import AirMessage, PerceptionFrame, Provenance
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.vehicle import VehicleState
from roadlink.wire.convert import (
    frame_from_proto,
    frame_to_proto,
    signal_from_proto,
    signal_to_proto,
    vehicle_state_from_proto,
    vehicle_state_to_proto,
)

__all__ = [
    "CSAE_MESSAGE_IDS",
    "STANDARDS",
    "V1Message",
    "air_message_of",
    "decode_v1",
    "encode_v1",
    "with_air_message",
]

STANDARDS: Final = ("j2735", "csae53", "etsi")
CSAE_MESSAGE_IDS: Final = {"bsmFrame": 0, "mapFrame": 1, "rsmFrame": 2, "spatFrame": 3, "rsiFrame": 4}
"""CSAE MessageFrame alternative -> its index, the AirMessage.message_id of a CSAE message."""
_CSAE_ALTERNATIVES: Final = {v: k for k, v in CSAE_MESSAGE_IDS.items()}

Item: TypeAlias = VehicleState | PerceptionFrame | SignalPhaseAndTiming

V1Message: TypeAlias = (
    vehicle_pb2.VehicleState
    | perception_pb2.PerceptionFrame
    | signal_pb2.SignalPhaseAndTiming
    | map_pb2.MapData
    | info_pb2.RoadSideInfo
)
"""The v1 messages an air-side message maps to; each carries a provenance."""
_V1_TYPES: Final = (
    vehicle_pb2.VehicleState,
    perception_pb2.PerceptionFrame,
    signal_pb2.SignalPhaseAndTiming,
    map_pb2.MapData,
    info_pb2.RoadSideInfo,
)


# --- decode ---------------------------------------------------------------------------------------------------------


def air_message_of(standard: str, uper: bytes) -> AirMessage:
    """The AirMessage of a whole J2735/CSAE MessageFrame or ETSI PDU (its id read from the octets).

    Raises:
        DecodeError: an unknown standard or octets that are not a message of it.
    """
    if standard == "j2735":
        return AirMessage(standard, int(j2735.decode_frame(uper)["messageId"]), bytes(uper))
    if standard == "csae53":
        alternative, _ = csae.decode_frame(uper)
        return AirMessage(standard, _csae_id(alternative), bytes(uper))
    if standard == "etsi":
        return AirMessage(standard, etsi.decode_pdu(uper)[0], bytes(uper))
    raise DecodeError(f"unknown standard {standard!r}, expected one of {STANDARDS}")


def _csae_id(alternative: object) -> int:
    if not isinstance(alternative, str) or alternative not in CSAE_MESSAGE_IDS:
        raise DecodeError(f"CSAE MessageFrame alternative {alternative!r} is not supported")
    return CSAE_MESSAGE_IDS[alternative]


def with_air_message(item: Item, air: AirMessage) -> Item:
    """`item` with `air` in its provenance (a minimal provenance is made when it has none)."""
    provenance = item.provenance or Provenance(source_id=_source_id(item), source_time_unix_ms=item.time_unix_ms)
    return dataclasses.replace(item, provenance=dataclasses.replace(provenance, air_message=air))


def _source_id(item: Item) -> str:
    if isinstance(item, VehicleState):
        return item.temporary_id.hex()
    if isinstance(item, SignalPhaseAndTiming):
        return f"intersection:{item.intersection_id}"
    return item.source_id


def decode_v1(standard: str, uper: bytes, reference_unix_ms: int) -> list[V1Message]:
    """One air-side message -> its v1 messages, each carrying the original as `provenance.air_message`.

    `reference_unix_ms` resolves partial times (secMark, MinuteOfTheYear, TimeMark, generationDeltaTime).

    Raises:
        DecodeError: the octets are not a message of `standard`.
        ValidationError: the message does not map (e.g. "position_unavailable", "unsupported_message").
    """
    air = air_message_of(standard, uper)
    messages = _MAPPERS[standard](air, reference_unix_ms)
    for message in messages:
        _provenance(message).air_message.CopyFrom(_air_proto(air))
    return messages


def _air_proto(air: AirMessage) -> common_pb2.AirMessage:
    return common_pb2.AirMessage(standard=air.standard, message_id=air.message_id, uper=air.uper)


def _provenance(message: V1Message) -> common_pb2.Provenance:
    return message.provenance


def _items_to_proto(items: Sequence[Item], air: AirMessage) -> list[V1Message]:
    out: list[V1Message] = []
    for item in items:
        stamped = with_air_message(item, air)
        if isinstance(stamped, VehicleState):
            out.append(vehicle_state_to_proto(stamped))
        elif isinstance(stamped, SignalPhaseAndTiming):
            out.append(signal_to_proto(stamped))
        else:
            out.append(frame_to_proto(stamped))
    return out


def _unsupported(what: str) -> DecodeError:
    return DecodeError(f"{what} has no v1 mapping")


def _j2735_v1(air: AirMessage, reference_unix_ms: int) -> list[V1Message]:
    frame = j2735.decode_frame(air.uper)
    message_id = frame["messageId"]
    if message_id == j2735.BSM_MESSAGE_ID:
        return _items_to_proto([frame_to_vehicle_state(frame, reference_unix_ms)], air)
    if message_id == SPAT_MESSAGE_ID:
        return _items_to_proto(spat_to_signals(frame["value"], reference_unix_ms), air)
    if message_id in (PSM_MESSAGE_ID, SDSM_MESSAGE_ID):
        return _items_to_proto([frame_to_perception(frame, reference_unix_ms)], air)
    if message_id == MAP_MESSAGE_ID:
        return [frame_to_map(frame, reference_unix_ms)]
    raise _unsupported(f"J2735 messageId {message_id}")


def _csae_v1(air: AirMessage, reference_unix_ms: int) -> list[V1Message]:
    alternative, value = csae.decode_frame(air.uper)
    if alternative == "bsmFrame":
        return _items_to_proto([csae_bsm_to_vehicle_state(value, reference_unix_ms)], air)
    if alternative == "rsmFrame":
        return _items_to_proto([rsm_to_perception_frame(value, reference_unix_ms)], air)
    if alternative == "spatFrame":
        return _items_to_proto(csae_spat_to_signals(value, reference_unix_ms), air)
    if alternative == "mapFrame":
        return [csae_map_to_proto(value, reference_unix_ms)]
    if alternative == "rsiFrame":
        return [rsi_to_proto(value, reference_unix_ms)]
    raise _unsupported(f"CSAE {alternative}")


def _etsi_v1(air: AirMessage, reference_unix_ms: int) -> list[V1Message]:
    message_id, value = etsi.decode_pdu(air.uper)
    if message_id == etsi.CAM_MESSAGE_ID:
        return _items_to_proto([cam_to_vehicle_state(value, reference_unix_ms)], air)
    if message_id == etsi.DENM_MESSAGE_ID:
        return [denm_to_road_side_info(value)]
    raise _unsupported(f"ETSI messageID {message_id}")


_MAPPERS: Final[dict[str, Callable[[AirMessage, int], list[V1Message]]]] = {
    "j2735": _j2735_v1,
    "csae53": _csae_v1,
    "etsi": _etsi_v1,
}


# --- encode ---------------------------------------------------------------------------------------------------------


def encode_v1(messages: Message | Sequence[Message], standard: str | None = None) -> bytes:
    """v1 message(s) of one air-side message -> its octets (see the module docstring).

    `standard` is needed only for messages without an air_message; with one, the air_message's standard is
    used (a different `standard` raises). Several messages are accepted only for a SPaT (one per intersection).

    Raises:
        EncodeError: no messages, not v1 messages, mixed types, no standard, or a message that cannot be
            encoded.
    """
    given = [messages] if isinstance(messages, Message) else list(messages)
    items = [m for m in given if isinstance(m, _V1_TYPES)]
    if len(items) != len(given):
        raise EncodeError(f"expected v1 messages, got {sorted({type(m).__name__ for m in given})}")
    if not items or len({type(m) for m in items}) != 1:
        raise EncodeError("expected one v1 message, or the SignalPhaseAndTiming of one SPaT")
    provenance = _provenance(items[0])
    if provenance.HasField("air_message"):
        air = provenance.air_message
        if standard is not None and standard != air.standard:
            raise EncodeError(f"the message came as {air.standard}, not {standard}")
        kept = AirMessage(air.standard, air.message_id, bytes(air.uper))
        if _unchanged(kept, items):
            return kept.uper
        return _OVERLAY[kept.standard](items, kept)
    if standard not in _OVERLAY:
        raise EncodeError(f"no air_message: a standard is needed, one of {STANDARDS}")
    return _OVERLAY[standard](items, None)


def _unchanged(air: AirMessage, items: Sequence[V1Message]) -> bool:
    """Whether mapping `air` again gives `items` (provenance aside), trying the references it may have used."""
    want = [_without_provenance(m) for m in items]
    for reference in _references(items[0]):
        try:
            again = _MAPPERS[air.standard](air, reference)
        except (DecodeError, ValueError):
            return False
        if [_without_provenance(m) for m in again] == want:
            return True
    return False


def _references(message: V1Message) -> list[int]:
    provenance = _provenance(message)
    times = [provenance.gateway_receive_time_unix_ms, provenance.source_time_unix_ms]
    own = getattr(message, "time_unix_ms", 0)
    found = list(dict.fromkeys(t for t in [*times, own] if t))
    return found or [0]  # a message with no time at all maps the same against any reference


def _without_provenance(message: V1Message) -> bytes:
    """The message's content apart from its provenance, for comparing two decodes (deterministic bytes)."""
    copy = type(message).FromString(message.SerializeToString())
    copy.ClearField("provenance")
    return copy.SerializeToString(deterministic=True)


def _signals(items: Sequence[V1Message]) -> list[SignalPhaseAndTiming]:
    """The SPaTs of a one-type message list whose first item is a SPaT (encode_v1 checked the types agree)."""
    return [signal_from_proto(m) for m in items if isinstance(m, signal_pb2.SignalPhaseAndTiming)]


def _j2735_encode(items: Sequence[V1Message], air: AirMessage | None) -> bytes:
    first = items[0]
    if isinstance(first, vehicle_pb2.VehicleState):
        state = vehicle_state_from_proto(first)
        value = j2735_vehicle_state_to_bsm(state, _j2735_template(air, j2735.BSM_MESSAGE_ID))
        return j2735.encode_frame({"messageId": j2735.BSM_MESSAGE_ID, "value": value})
    if isinstance(first, signal_pb2.SignalPhaseAndTiming):
        value = signals_to_spat(_signals(items))
        return j2735.encode_frame({"messageId": SPAT_MESSAGE_ID, "value": value})
    if isinstance(first, map_pb2.MapData):
        return j2735.encode_frame({"messageId": MAP_MESSAGE_ID, "value": proto_to_map(first)})
    if isinstance(first, info_pb2.RoadSideInfo) and air is None:
        return j2735.encode_frame({"messageId": TIM_MESSAGE_ID, "value": road_side_info_to_tim(first)})
    what = "changed v1 content" if air is not None else "a v1 message without air_message"
    raise EncodeError(f"J2735 {type(first).__name__}: {what} has no J2735 encoding (PSM / SDSM: only unchanged)")


def _j2735_template(air: AirMessage | None, message_id: int) -> dict[str, Any] | None:
    if air is None:
        return None
    frame = j2735.decode_frame(air.uper)
    if frame["messageId"] != message_id:
        raise EncodeError(f"the air_message is J2735 messageId {frame['messageId']}, not {message_id}")
    template: dict[str, Any] = frame["value"]
    return template


def _csae_template(air: AirMessage | None, alternative: str) -> dict[str, Any] | None:
    if air is None:
        return None
    found, value = csae.decode_frame(air.uper)
    if found != alternative:
        raise EncodeError(f"the air_message is a CSAE {found}, not a {alternative}")
    template: dict[str, Any] = value
    return template


def _csae_encode(items: Sequence[V1Message], air: AirMessage | None) -> bytes:
    first = items[0]
    if isinstance(first, vehicle_pb2.VehicleState):
        state = vehicle_state_from_proto(first)
        value = vehicle_state_to_bsm(state, _csae_template(air, "bsmFrame"))
        return csae.encode_frame(("bsmFrame", value))
    if isinstance(first, perception_pb2.PerceptionFrame):
        template = _csae_template(air, "rsmFrame")
        rsu_id = bytes(template["id"]) if template else _rsu_id(first.source_id)
        value = perception_frame_to_rsm(frame_from_proto(first), rsu_id, template)
        return csae.encode_frame(("rsmFrame", value))
    if isinstance(first, signal_pb2.SignalPhaseAndTiming):
        template = _csae_template(air, "spatFrame")
        signals = _signals(items)
        count = template["msgCnt"] if template else signals[0].revision
        return csae.encode_frame(("spatFrame", csae_signals_to_spat(signals, count, template)))
    if isinstance(first, map_pb2.MapData):
        return csae.encode_frame(("mapFrame", csae_proto_to_map(first, _csae_template(air, "mapFrame"))))
    if isinstance(first, info_pb2.RoadSideInfo):
        return csae.encode_frame(("rsiFrame", proto_to_rsi(first, _csae_template(air, "rsiFrame"))))
    raise EncodeError(f"{type(first).__name__} has no CSAE encoding")


def _rsu_id(source_id: str) -> bytes:
    """A source id that is 16 hex digits (the RSM mapping's) as its 8 octets, else its UTF-8, padded/cut to 8."""
    try:
        raw = bytes.fromhex(source_id)
    except ValueError:
        raw = source_id.encode()
    return raw[:8].ljust(8, b"\0")


def _etsi_template(air: AirMessage | None, message_id: int) -> dict[str, Any] | None:
    if air is None:
        return None
    found, value = etsi.decode_pdu(air.uper)
    if found != message_id:
        raise EncodeError(f"the air_message is ETSI messageID {found}, not {message_id}")
    return value


def _etsi_encode(items: Sequence[V1Message], air: AirMessage | None) -> bytes:
    first = items[0]
    if isinstance(first, vehicle_pb2.VehicleState):
        template = _etsi_template(air, etsi.CAM_MESSAGE_ID)
        return etsi.encode_cam(vehicle_state_to_cam(vehicle_state_from_proto(first), template))
    if isinstance(first, info_pb2.RoadSideInfo):
        return etsi.encode_denm(road_side_info_to_denm(first, _etsi_template(air, etsi.DENM_MESSAGE_ID)))
    raise EncodeError(f"{type(first).__name__} has no ETSI encoding (CAM and DENM only)")


_OVERLAY: Final[dict[str, Callable[[Sequence[V1Message], AirMessage | None], bytes]]] = {
    "j2735": _j2735_encode,
    "csae53": _csae_encode,
    "etsi": _etsi_encode,
}

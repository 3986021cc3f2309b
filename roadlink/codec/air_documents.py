"""JSON documents of captured air-side payloads, for `roadlink decode` / `roadlink encode` (pure functions).

`decode_document(payload, standard, reference_unix_ms, ...)` -> one JSON-ready dict:

    standard    "j2735" | "csae53" | "etsi"
    frames      one entry per MessageFrame / PDU in the payload (several for a batched CSAE vendor payload):
        message     BSM, SPaT, MAP, PSM, SDSM, ... (J2735), BSM, MAP, RSM, SPAT, RSI (CSAE), CAM, DENM (ETSI)
        frame_hex   the frame's octets
        raw         the decoded frame in JER (J2735, CSAE; see `field_tools`); left out with v1_only
        v1_type     full proto name of the v1 messages ("" when the message has no v1 type)
        v1          the v1 messages as proto JSON (proto field names), each with provenance.air_message
        v1_error    only when the frame decodes but does not map

Finding the frames: J2735 as `field_tools.decode_hex` (IEEE 1609.2 wrapper and headers skipped); CSAE at `offset`
(default 0), or split by the vendor envelope (`framing.VendorFraming` defaults) with `vendor_header`; ETSI at
`offset`.

`encode_document(document, from_v1=..., standard=...)` -> the frames' octets, in order. Each frame is encoded from
its v1 messages (`lossless.encode_v1`: exact when they carry their air_message, also after edits) when `from_v1`
is set or it has no "raw"; else from "raw" (J2735, CSAE); else from "frame_hex".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from google.protobuf import json_format
from google.protobuf.message import Message
from v2x.roadside.v1 import info_pb2, map_pb2, perception_pb2, signal_pb2
from v2x.vehicle.v1 import vehicle_pb2

from roadlink.codec import csae, etsi, j2735
from roadlink.codec.errors import DecodeError, EncodeError
from roadlink.codec.field_tools import SUPPORTED_MESSAGES, decode_hex, from_jer, parse_payload, to_jer
from roadlink.codec.framing import split_vendor_frames
from roadlink.codec.lossless import decode_v1, encode_v1
from roadlink.domain.errors import ValidationError

__all__ = ["decode_document", "encode_document", "with_air_messages"]

V1_TYPES: Final[dict[str, type[Message]]] = {
    t.DESCRIPTOR.full_name: t
    for t in (
        vehicle_pb2.VehicleState,
        signal_pb2.SignalPhaseAndTiming,
        map_pb2.MapData,
        perception_pb2.PerceptionFrame,
        info_pb2.RoadSideInfo,
    )
}
_ETSI_NAMES: Final = {etsi.CAM_MESSAGE_ID: "CAM", etsi.DENM_MESSAGE_ID: "DENM"}


def decode_document(
    payload: str | bytes,
    standard: str,
    reference_unix_ms: int,
    *,
    offset: int | None = None,
    vendor_header: bool = False,
    v1_only: bool = False,
) -> dict[str, Any]:
    """A captured payload -> its JSON document (see the module docstring).

    Raises:
        DecodeError: the payload is not hex/bytes holding frames of `standard`.
    """
    if vendor_header and standard != "csae53":
        raise DecodeError("--vendor-header is for CSAE payloads only")
    frames = [
        _frame(f, standard, reference_unix_ms, v1_only) for f in _frames(payload, standard, offset, vendor_header)
    ]
    return {"standard": standard, "frames": frames}


def with_air_messages(document: dict[str, Any], reference_unix_ms: int) -> dict[str, Any]:
    """A `field_tools.decode_hex` document whose v1 messages carry their frame (provenance.air_message)."""
    if not document.get("v1"):
        return document
    messages = decode_v1("j2735", bytes.fromhex(document["frame_hex"]), reference_unix_ms)
    v1 = [json_format.MessageToDict(m, preserving_proto_field_name=True) for m in messages]
    return {**document, "v1": v1}


def _frames(payload: str | bytes, standard: str, offset: int | None, vendor_header: bool) -> Sequence[bytes]:
    if standard == "j2735":
        return [bytes.fromhex(decode_hex(payload, offset=offset, reference_unix_ms=0)["frame_hex"])]
    data = parse_payload(payload)[offset or 0 :]
    if vendor_header:
        return split_vendor_frames(data).frames
    return [data]


def _frame(frame: bytes, standard: str, reference_unix_ms: int, v1_only: bool) -> dict[str, Any]:
    message, raw = _raw(frame, standard)
    out: dict[str, Any] = {"message": message, "frame_hex": frame.hex()}
    if raw is not None and not v1_only:
        out["raw"] = raw
    out |= {"v1_type": "", "v1": []}
    try:
        messages = decode_v1(standard, frame, reference_unix_ms)
    except DecodeError as failure:
        if "has no v1 mapping" not in str(failure):
            raise
        return out
    except ValidationError as failure:
        out["v1_error"] = str(failure)
        return out
    out["v1_type"] = messages[0].DESCRIPTOR.full_name if messages else ""
    out["v1"] = [json_format.MessageToDict(m, preserving_proto_field_name=True) for m in messages]
    return out


def _raw(frame: bytes, standard: str) -> tuple[str, Any]:
    """(message name, JER of the frame or None) of one frame; decoding it checks that it is one."""
    if standard == "j2735":
        value = j2735.decode_frame(frame)
        return SUPPORTED_MESSAGES.get(value["messageId"], "other"), to_jer(j2735.MessageFrame, value)
    if standard == "csae53":
        choice = csae.decode_frame(frame)
        return csae.FRAME_NAMES.get(str(choice[0]), "other"), to_jer(csae.MessageFrame, choice)
    if standard == "etsi":
        message_id, _ = etsi.decode_pdu(frame)
        return _ETSI_NAMES.get(message_id, "other"), None
    raise DecodeError(f"unknown standard {standard!r}")


def encode_document(document: Mapping[str, Any], *, from_v1: bool, standard: str | None = None) -> list[bytes]:
    """A `decode_document` result (maybe edited) -> the octets of each of its frames.

    `standard` is used for v1 messages without an air_message (default: the document's own standard).

    Raises:
        EncodeError: a malformed document or a frame that cannot be encoded.
    """
    frames = document.get("frames")
    family = document.get("standard")
    if not isinstance(frames, list) or family not in ("j2735", "csae53", "etsi"):
        raise EncodeError('expected {"standard": ..., "frames": [...]} as printed by `roadlink decode`')
    return [_encode_frame(f, str(family), from_v1, standard) for f in frames]


def _encode_frame(frame: Any, family: str, from_v1: bool, standard: str | None) -> bytes:
    if not isinstance(frame, Mapping):
        raise EncodeError("each frame must be an object")
    if (from_v1 or "raw" not in frame) and frame.get("v1"):
        return encode_v1(_v1_messages(frame), standard or family)
    if "raw" in frame and family == "j2735":
        return j2735.MessageFrame.encode(from_jer(j2735.MessageFrame, frame["raw"], "MessageFrame"))
    if "raw" in frame and family == "csae53":
        return csae.MessageFrame.encode(from_jer(csae.MessageFrame, frame["raw"], "MessageFrame"))
    try:
        return bytes.fromhex(str(frame["frame_hex"]))
    except (KeyError, ValueError) as exc:
        raise EncodeError(f"a frame without v1 or raw needs a valid frame_hex: {exc}") from exc


def _v1_messages(frame: Mapping[str, Any]) -> list[Message]:
    kind = V1_TYPES.get(str(frame.get("v1_type")))
    if kind is None:
        raise EncodeError(f"unknown v1_type {frame.get('v1_type')!r}, expected one of {sorted(V1_TYPES)}")
    try:
        return [json_format.ParseDict(m, kind()) for m in frame["v1"]]
    except json_format.ParseError as exc:
        raise EncodeError(f"v1 message is not a {kind.DESCRIPTOR.full_name}: {exc}") from exc

"""Field-engineer tools: a captured J2735 payload -> JSON (raw decode and v1 message), and raw JSON -> UPER.

Pure functions, meant to back the `roadlink decode` / `roadlink encode` commands.

`decode_hex(payload, offset=None, reference_unix_ms=...)` takes hex text (whitespace, newlines and a leading
``0x`` are fine) or raw bytes, finds the MessageFrame and returns one JSON-ready dict:

    message       "BSM" | "SPaT" | "MAP" | "SRM" | "SSM" | "TIM" | "PSM" | "SDSM" | "other"
    message_id    the frame's messageId
    offset        where the frame starts             length        the frame's octets
    frame_hex     the frame alone (what `encode_json` gives back from `raw`)
    header_hex    octets before the frame            trailing_hex  octets after it
    raw           the decoded frame: {"messageId": n, "value": ...} in JER (below)
    v1_type       full proto name of the v1 messages ("" for "other")
    v1            the v1 messages as proto JSON (MessageToDict, proto field names): one VehicleState for a BSM,
                  one SignalPhaseAndTiming per intersection for a SPaT, one MapData for a MAP,
                  one PerceptionFrame for a PSM or an SDSM, none for others (SRM, SSM, TIM: raw only)
    v1_error      only when the frame decodes but does not map (e.g. a BSM whose position is unavailable)

Finding the frame (offset None): at octet 0; else right after an unsecured IEEE 1609.2 wrapper (``03 80`` +
OER length); else at any ``00 <id>`` of a supported message (MAP 0x12, SPaT 0x13, BSM 0x14, SRM 0x1d, SSM
0x1e, TIM 0x1f, PSM 0x20, SDSM 0x29). A candidate that ends the payload (or is followed by zero octets only) wins over
one followed by other data. Only supported frames are searched for; with an explicit offset any messageId
decodes, other messages' values staying hex.

Raw JSON follows the JSON Encoding Rules (ITU-T X.697): INTEGER, BOOLEAN, NULL as themselves; ENUMERATED as its
name; OCTET STRING as hex; a BIT STRING of fixed size as hex (the bits first, zero-padded to whole octets), any
other BIT STRING as {"value": hex, "length": bits}; a CHOICE as {alternative: value}; SEQUENCE and SEQUENCE OF as
object and array. Roadlink additions for content the
descriptions do not know: an open type kept undecoded is its hex; a SEQUENCE's unknown extension additions
are "_extensions": {"count": bitmap length, "additions": [{"index": i, "hex": ...}]}; an unknown CHOICE
extension is {"<index>": hex}; an unknown ENUMERATED extension is its index (a number).

`encode_json(doc)` is the reverse for the raw decode: a `decode_hex` result (its "raw") or a raw frame dict ->
the MessageFrame's octets. Supported messages are encoded from their JER; any other message from its hex
value. Encoding from a v1 message is not supported (v1 drops what the frame needs, e.g. brake status).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from roadlink.codec.bitio import Raw
from roadlink.codec.errors import DecodeError, EncodeError
from roadlink.codec.j2735 import BSM_MESSAGE_ID, MESSAGES, MessageFrame
from roadlink.codec.j2735_intersection import MAP_MESSAGE_ID, SPAT_MESSAGE_ID
from roadlink.codec.j2735_map import frame_to_map
from roadlink.codec.j2735_mapping import frame_to_vehicle_state
from roadlink.codec.j2735_perception import frame_to_perception
from roadlink.codec.j2735_psm import PSM_MESSAGE_ID
from roadlink.codec.j2735_sdsm import SDSM_MESSAGE_ID
from roadlink.codec.j2735_signal_request import SRM_MESSAGE_ID, SSM_MESSAGE_ID
from roadlink.codec.j2735_spat import spat_to_signals
from roadlink.codec.j2735_tim import TIM_MESSAGE_ID
from roadlink.codec.uper import (
    EXTENSIONS_KEY,
    AsnType,
    BitString,
    Boolean,
    Choice,
    Enumerated,
    IA5String,
    Integer,
    Null,
    OctetString,
    OpenType,
    OpenTypeBy,
    Sequence,
    SequenceOf,
    UTF8String,
)
from roadlink.domain.errors import ValidationError
from roadlink.wire.convert import frame_to_proto, signal_to_proto, vehicle_state_to_proto

__all__ = ["SUPPORTED_MESSAGES", "decode_hex", "encode_json", "from_jer", "parse_payload", "to_jer"]

SUPPORTED_MESSAGES: Final = {
    MAP_MESSAGE_ID: "MAP",
    SPAT_MESSAGE_ID: "SPaT",
    BSM_MESSAGE_ID: "BSM",
    SRM_MESSAGE_ID: "SRM",
    SSM_MESSAGE_ID: "SSM",
    TIM_MESSAGE_ID: "TIM",
    PSM_MESSAGE_ID: "PSM",
    SDSM_MESSAGE_ID: "SDSM",
}
"""messageId -> name of the messages decoded in full."""
assert set(SUPPORTED_MESSAGES) == set(MESSAGES)

_V1_TYPES: Final = {
    BSM_MESSAGE_ID: "v2x.vehicle.v1.VehicleState",
    SPAT_MESSAGE_ID: "v2x.roadside.v1.SignalPhaseAndTiming",
    MAP_MESSAGE_ID: "v2x.roadside.v1.MapData",
    PSM_MESSAGE_ID: "v2x.roadside.v1.PerceptionFrame",
    SDSM_MESSAGE_ID: "v2x.roadside.v1.PerceptionFrame",
}
_HEX_TEXT = re.compile(rb"\s*(0[xX])?[0-9A-Fa-f\s]*")
_IEEE1609_UNSECURED: Final = b"\x03\x80"
"""IEEE 1609.2 Ieee1609Dot2Data: protocolVersion 3, content CHOICE unsecuredData; an OER length follows."""


# --- input ----------------------------------------------------------------------------------------------------------


def parse_payload(payload: str | bytes) -> bytes:
    """Hex text (str, or bytes holding only hex digits and whitespace) or raw bytes -> the payload's octets.

    Raises:
        DecodeError: the text is not hex (an odd number of digits, or other characters).
    """
    if isinstance(payload, bytes | bytearray):
        if not (payload.strip() and _HEX_TEXT.fullmatch(payload)):
            return bytes(payload)
        payload = payload.decode("ascii")
    text = "".join(payload.split())
    if text[:2].lower() == "0x":
        text = text[2:]
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise DecodeError(f"not a hex payload: {exc}") from exc


def _candidates(data: bytes) -> list[int]:
    """Where a MessageFrame may start, most likely first."""
    found = [0]
    start = data.find(_IEEE1609_UNSECURED)
    while start >= 0:
        length_at = start + len(_IEEE1609_UNSECURED)
        if length_at < len(data):
            first = data[length_at]
            found.append(length_at + 1 + (first & 0x7F if first & 0x80 else 0))
        start = data.find(_IEEE1609_UNSECURED, start + 1)
    found += [i for i in range(len(data) - 1) if data[i] == 0 and data[i + 1] in SUPPORTED_MESSAGES]
    return list(dict.fromkeys(i for i in found if i < len(data)))


def _decode_at(data: bytes, offset: int, *, supported_only: bool) -> tuple[dict[str, Any], int]:
    frame, used = MessageFrame.decode_prefix(data, offset)
    message_id = frame["messageId"]
    if supported_only and message_id not in SUPPORTED_MESSAGES:
        raise DecodeError(f"messageId {message_id} is not a supported message", path="MessageFrame.messageId")
    return frame, used


def _find_frame(data: bytes) -> tuple[int, dict[str, Any], int]:
    fallback: tuple[int, dict[str, Any], int] | None = None
    first_error: DecodeError | None = None
    for offset in _candidates(data):
        try:
            frame, used = _decode_at(data, offset, supported_only=True)
        except DecodeError as failure:
            first_error = first_error or failure
            continue
        if not data[offset + used :].strip(b"\0"):
            return offset, frame, used
        fallback = fallback or (offset, frame, used)
    if fallback is not None:
        return fallback
    raise DecodeError(f"no supported MessageFrame found in {len(data)} octets (at 0: {first_error})")


# --- decode ---------------------------------------------------------------------------------------------------------


def decode_hex(payload: str | bytes, *, offset: int | None = None, reference_unix_ms: int) -> dict[str, Any]:
    """Decode the MessageFrame in a captured payload (see the module docstring for the result).

    `reference_unix_ms` resolves the partial times of the frame (secMark, MinuteOfTheYear, TimeMark), usually
    the capture's receive time.

    Raises:
        DecodeError: the payload is not hex/bytes holding a frame (at `offset`, when given).
    """
    data = parse_payload(payload)
    if offset is None:
        offset, frame, used = _find_frame(data)
    else:
        frame, used = _decode_at(data, offset, supported_only=False)
    message_id: int = frame["messageId"]
    result: dict[str, Any] = {
        "message": SUPPORTED_MESSAGES.get(message_id, "other"),
        "message_id": message_id,
        "offset": offset,
        "length": used,
        "frame_hex": data[offset : offset + used].hex(),
        "header_hex": data[:offset].hex(),
        "trailing_hex": data[offset + used :].hex(),
        "raw": _frame_to_jer(frame),
        "v1_type": _V1_TYPES.get(message_id, ""),
        "v1": [],
    }
    try:
        result["v1"] = [_proto_json(m) for m in _v1_messages(frame, reference_unix_ms)]
    except ValidationError as failure:
        result["v1_error"] = str(failure)
    return result


def _v1_messages(frame: Mapping[str, Any], reference_unix_ms: int) -> list[Message]:
    if frame["messageId"] == BSM_MESSAGE_ID:
        return [vehicle_state_to_proto(frame_to_vehicle_state(frame, reference_unix_ms))]
    if frame["messageId"] == SPAT_MESSAGE_ID:
        return [signal_to_proto(s) for s in spat_to_signals(frame["value"], reference_unix_ms)]
    if frame["messageId"] == MAP_MESSAGE_ID:
        return [frame_to_map(frame, reference_unix_ms)]
    if frame["messageId"] in (PSM_MESSAGE_ID, SDSM_MESSAGE_ID):
        return [frame_to_proto(frame_to_perception(frame, reference_unix_ms))]
    return []


def _proto_json(message: Message) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


def _frame_to_jer(frame: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = to_jer(MessageFrame, frame)
    return out


# --- encode ---------------------------------------------------------------------------------------------------------


def encode_json(doc: Mapping[str, Any]) -> bytes:
    """A `decode_hex` result (its "raw" is used) or a raw frame {"messageId", "value"} in JER -> frame octets.

    Raises:
        EncodeError: the JSON does not describe an encodable frame.
    """
    raw = doc.get("raw", doc)
    if not isinstance(raw, Mapping) or "messageId" not in raw or "value" not in raw:
        raise EncodeError('expected a raw frame {"messageId": ..., "value": ...} or a decode_hex result')
    if type(raw["messageId"]) is not int:
        raise EncodeError(f"messageId must be an integer, got {raw['messageId']!r}", path="MessageFrame.messageId")
    return MessageFrame.encode(from_jer(MessageFrame, raw, "MessageFrame"))


# --- JER for the engine's descriptions ------------------------------------------------------------------------------


def to_jer(t: AsnType, value: Any) -> Any:
    """A value decoded with description `t` -> JER data (see the module docstring)."""
    if isinstance(t, Sequence):
        out: dict[str, Any] = {}
        for field in t.fields + t.extensions:
            if field.name in value:
                out[field.name] = _component_to_jer(field.type, value[field.name], value)
        if EXTENSIONS_KEY in value:
            out[EXTENSIONS_KEY] = _extensions_to_jer(value[EXTENSIONS_KEY])
        return out
    if isinstance(t, SequenceOf):
        return [to_jer(t.element, item) for item in value]
    if isinstance(t, Choice):
        name, inner = value
        if type(name) is int:
            return {str(name): bytes(inner).hex()}
        alternatives = dict(t.alternatives + t.extensions)
        return {name: to_jer(alternatives[name], inner)}
    if isinstance(t, BitString):
        bits, length = value
        pad = -length % 8
        text = (bits << pad).to_bytes((length + pad) // 8, "big").hex()
        return text if t.size.fixed is not None else {"value": text, "length": length}
    if isinstance(t, OctetString):
        return bytes(value).hex()
    if isinstance(t, OpenType):
        return _component_to_jer(t, value, {})
    return value  # INTEGER, BOOLEAN, NULL, ENUMERATED, character strings


def _component_to_jer(t: AsnType, value: Any, siblings: Mapping[str, Any]) -> Any:
    if type(value) is Raw:
        return bytes(value).hex()
    if isinstance(t, OpenTypeBy):
        inner = t.table.get(siblings.get(t.selector))
        return bytes(value).hex() if inner is None else to_jer(inner, value)
    if isinstance(t, OpenType):
        return bytes(value).hex() if t.inner is None else to_jer(t.inner, value)
    return to_jer(t, value)


def _extensions_to_jer(extensions: tuple[int, tuple[tuple[int, Raw], ...]]) -> dict[str, Any]:
    count, unknown = extensions
    return {"count": count, "additions": [{"index": i, "hex": bytes(raw).hex()} for i, raw in unknown]}


def from_jer(t: AsnType, data: Any, path: str) -> Any:
    """JER data -> the value description `t` encodes (the inverse of `to_jer`).

    Raises:
        EncodeError: the data does not match the description.
    """
    if isinstance(t, Sequence):
        if not isinstance(data, Mapping):
            raise EncodeError(f"expected an object, got {data!r}", path=path)
        known = {f.name: f.type for f in t.fields + t.extensions}
        unknown = sorted(set(data) - set(known) - {EXTENSIONS_KEY})
        if unknown:
            raise EncodeError(f"unknown components {unknown}", path=path)
        out: dict[str, Any] = {}
        for name, item in data.items():
            if name == EXTENSIONS_KEY:
                out[name] = _extensions_from_jer(item, f"{path}.{name}")
            else:
                out[name] = _component_from_jer(known[name], item, data, f"{path}.{name}")
        return out
    if isinstance(t, SequenceOf):
        if not isinstance(data, list):
            raise EncodeError(f"expected an array, got {data!r}", path=path)
        return [from_jer(t.element, item, f"{path}[{i}]") for i, item in enumerate(data)]
    if isinstance(t, Choice):
        if not isinstance(data, Mapping) or len(data) != 1:
            raise EncodeError(f"expected an object with one alternative, got {data!r}", path=path)
        ((name, inner),) = data.items()
        alternatives = dict(t.alternatives + t.extensions)
        if name in alternatives:
            return name, from_jer(alternatives[name], inner, f"{path}.{name}")
        if name.isdigit():
            return int(name), Raw(_hex(inner, f"{path}.{name}"))
        raise EncodeError(f"unknown alternative {name!r}", path=path)
    if isinstance(t, BitString):
        return _bits_from_jer(t, data, path)
    if isinstance(t, OctetString):
        return _hex(data, path)
    if isinstance(t, OpenType):
        return _component_from_jer(t, data, {}, path)
    return _scalar_from_jer(t, data, path)


def _component_from_jer(t: AsnType, data: Any, siblings: Mapping[str, Any], path: str) -> Any:
    if isinstance(t, OpenTypeBy):
        inner = t.table.get(siblings.get(t.selector))
    elif isinstance(t, OpenType):
        inner = t.inner
    else:
        return from_jer(t, data, path)
    if inner is None or isinstance(data, str):  # no description, or content kept as hex (no described type is a str)
        return Raw(_hex(data, path))
    return from_jer(inner, data, path)


def _bits_from_jer(t: BitString, data: Any, path: str) -> tuple[int, int]:
    if t.size.fixed is not None and isinstance(data, str):
        text, length = data, t.size.fixed
    elif isinstance(data, Mapping) and set(data) == {"value", "length"} and type(data["length"]) is int:
        text, length = data["value"], data["length"]
    else:
        raise EncodeError(f"expected a BIT STRING in JER, got {data!r}", path=path)
    octets = _hex(text, path)
    pad = len(octets) * 8 - length
    if not 0 <= pad < 8:
        raise EncodeError(f"{len(octets)} octets do not hold {length} bits", path=path)
    bits = int.from_bytes(octets, "big")
    if bits & ((1 << pad) - 1):
        raise EncodeError("padding bits are not zero", path=path)
    return bits >> pad, length


_SCALARS: Final[dict[type[AsnType], Callable[[Any], bool]]] = {
    Integer: lambda v: type(v) is int,
    Boolean: lambda v: type(v) is bool,
    Null: lambda v: v is None,
    Enumerated: lambda v: type(v) in (str, int),
    IA5String: lambda v: type(v) is str,
    UTF8String: lambda v: type(v) is str,
}


def _scalar_from_jer(t: AsnType, data: Any, path: str) -> Any:
    check = _SCALARS.get(type(t))
    if check is None:
        raise EncodeError(f"{t.name} cannot be written from JSON", path=path)
    if not check(data):
        raise EncodeError(f"expected a value of {t.name}, got {data!r}", path=path)
    return data


def _extensions_from_jer(data: Any, path: str) -> tuple[int, tuple[tuple[int, Raw], ...]]:
    try:
        count, additions = data["count"], data["additions"]
        unknown = tuple((int(a["index"]), Raw(_hex(a["hex"], path))) for a in additions)
    except (KeyError, TypeError, ValueError) as exc:
        raise EncodeError(
            f'expected {{"count": n, "additions": [{{"index": i, "hex": ...}}]}}: {exc}', path=path
        ) from exc
    if type(count) is not int:
        raise EncodeError(f"count must be an integer, got {count!r}", path=path)
    return count, unknown


def _hex(data: Any, path: str) -> bytes:
    if not isinstance(data, str):
        raise EncodeError(f"expected a hex string, got {data!r}", path=path)
    try:
        return bytes.fromhex(data)
    except ValueError as exc:
        raise EncodeError(f"not hex: {exc}", path=path) from exc

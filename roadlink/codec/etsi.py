"""ETSI ITS CAM and DENM: decode and encode with our UPER engine, from pycrate's precompiled (BSD) ETSI modules.

pycrate ships the ETSI ASN.1 compiled (`pycrate_asn1dir.ITS_CAM_2`: EN 302 637-2 CAM v1.4.1 on the ITS-Container
CDD, `ITS_DENM_3`: EN 302 637-3 DENM v1.3.1). Its objects carry every constraint of the modules, so instead of
describing CAM and DENM a second time by hand we translate pycrate's type tree, once at import, into our engine's
declarative types (`from_pycrate`). The descriptions are thus exactly the standard's, and decoding / encoding runs
on our compiled engine (several times faster than pycrate's interpreter; bench/codec_standards measures it).

Values are plain Python data in the engine's conventions, which are pycrate's too (CHOICE -> (name, value),
BIT STRING -> (bits, length), ...), except NULL (None here, 0 in pycrate).

`decode_pycrate` / `encode_pycrate` run the same PDUs through pycrate itself: the reference for the tests and the
baseline for the benchmark. Its errors are translated to DecodeError / EncodeError as well.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Final

from pycrate_asn1dir import ITS_CAM_2, ITS_DENM_3  # type: ignore[import-untyped]  # pycrate ships no stubs

from roadlink.codec.bitio import BitReader, BitWriter, fail_encode
from roadlink.codec.errors import DecodeError, EncodeError
from roadlink.codec.primitives import SizedType
from roadlink.codec.uper import (
    AsnType,
    BitString,
    Boolean,
    Choice,
    Enumerated,
    Field,
    IA5String,
    Integer,
    Null,
    OctetString,
    Sequence,
    SequenceOf,
    Size,
    UTF8String,
)

__all__ = [
    "CAM",
    "CAM_MESSAGE_ID",
    "DENM",
    "DENM_MESSAGE_ID",
    "NumericString",
    "decode_cam",
    "decode_denm",
    "decode_pdu",
    "decode_pdu_prefix",
    "decode_pycrate",
    "encode_cam",
    "encode_denm",
    "encode_pdu",
    "encode_pycrate",
    "from_pycrate",
]

DENM_MESSAGE_ID: Final = 1
CAM_MESSAGE_ID: Final = 2


class NumericString(SizedType):
    """NumericString (X.691 30.5.4: 4 bits a character, its index in " 0123456789")."""

    ALPHABET: Final = " 0123456789"

    def _decode(self, r: BitReader) -> str:
        parts, _ = self._read_parts(r, self._read_chars)
        return "".join(parts)

    def _read_chars(self, r: BitReader, count: int) -> str:
        start = r.pos
        raw = r.read(4 * count)
        codes = [(raw >> (4 * (count - 1 - i))) & 0xF for i in range(count)]
        if any(code > 10 for code in codes):
            raise r.fail("NumericString character index above 10", start)
        return "".join(self.ALPHABET[code] for code in codes)

    def _encode(self, w: BitWriter, value: Any) -> None:
        if not isinstance(value, str) or any(c not in self.ALPHABET for c in value):
            fail_encode(f"expected digits and spaces, got {value!r}")
        codes = [self.ALPHABET.index(c) for c in value]

        def chars(ww: BitWriter, start: int, count: int) -> None:
            for code in codes[start : start + count]:
                ww.write(code, 4)

        self._write_parts(w, len(codes), chars)


# --- pycrate type tree -> engine types ------------------------------------------------------------------------------


def _size(obj: Any) -> Size | None:
    const = getattr(obj, "_const_sz", None)
    if const is None:
        return None
    return Size(const.lb or 0, const.ub, extensible=const.ext is not None)


def _integer(obj: Any, name: str) -> Integer:
    const = obj._const_val
    if const is None:
        return Integer(name)
    return Integer(name, const.lb, const.ub, extensible=const.ext is not None)


def _sequence(obj: Any, name: str, memo: dict[int, AsnType]) -> Sequence:
    ext = set(obj._ext or ())
    optional = set(obj._root_opt or ())
    root = [Field(k, from_pycrate(v, memo), optional=k in optional) for k, v in obj._cont.items() if k not in ext]
    extensions = [Field(k, from_pycrate(obj._cont[k], memo), optional=True) for k in obj._ext or ()]
    return Sequence(name, root, extensible=obj._ext is not None, extensions=extensions)


def _choice(obj: Any, name: str, memo: dict[int, AsnType]) -> Choice:
    ext = list(obj._ext or ())
    root = [(k, from_pycrate(v, memo)) for k, v in obj._cont.items() if k not in ext]
    extensions = [(k, from_pycrate(obj._cont[k], memo)) for k in ext]
    return Choice(name, root, extensible=obj._ext is not None, extensions=extensions)


_LEAVES: Final[dict[str, Callable[[Any, str], AsnType]]] = {
    "INTEGER": _integer,
    "BOOLEAN": lambda obj, name: Boolean(name),
    "NULL": lambda obj, name: Null(name),
    "ENUMERATED": lambda obj, name: Enumerated(name, obj._root, obj._ext),
    "BIT STRING": lambda obj, name: BitString(name, _size(obj)),
    "OCTET STRING": lambda obj, name: OctetString(name, _size(obj)),
    "IA5String": lambda obj, name: IA5String(name, _size(obj)),
    "UTF8String": lambda obj, name: UTF8String(name),
    "NumericString": lambda obj, name: NumericString(name, _size(obj)),
}


def from_pycrate(obj: Any, memo: dict[int, AsnType] | None = None) -> AsnType:
    """An engine type equivalent to the pycrate ASN.1 object `obj` (constraints, optionality, extensions).

    Raises:
        NotImplementedError: a type the engine has no counterpart for (open types, REAL, permitted alphabets, ...).
    """
    memo = {} if memo is None else memo
    if id(obj) in memo:
        return memo[id(obj)]
    name = obj._typeref.called[1] if getattr(obj, "_typeref", None) is not None else obj._name
    if getattr(obj, "_const_alpha", None) is not None:
        raise NotImplementedError(f"{name}: permitted alphabet constraint")
    kind = obj.TYPE
    t: AsnType
    if kind == "SEQUENCE":
        t = _sequence(obj, name, memo)
    elif kind == "CHOICE":
        t = _choice(obj, name, memo)
    elif kind == "SEQUENCE OF":
        t = SequenceOf(name, from_pycrate(obj._cont, memo), _size(obj))
    elif kind in _LEAVES:
        t = _LEAVES[kind](obj, name)
    else:
        raise NotImplementedError(f"{name}: {kind} has no engine counterpart")
    memo[id(obj)] = t
    return t


_PYCRATE_CAM: Final = ITS_CAM_2.CAM_PDU_Descriptions.CAM
_PYCRATE_DENM: Final = ITS_DENM_3.DENM_PDU_Descriptions.DENM
CAM: Final = from_pycrate(_PYCRATE_CAM)
"""The CAM PDU (ItsPduHeader + CoopAwareness) as an engine type."""
DENM: Final = from_pycrate(_PYCRATE_DENM)
"""The DENM PDU (ItsPduHeader + DecentralizedEnvironmentalNotificationMessage) as an engine type."""

_BY_ID: Final = {CAM_MESSAGE_ID: CAM, DENM_MESSAGE_ID: DENM}


# --- our engine -----------------------------------------------------------------------------------------------------


def decode_cam(data: bytes) -> dict[str, Any]:
    """Decode one CAM that fills `data`. Raises DecodeError (also for a header that is not a CAM's)."""
    _check_id(data, CAM_MESSAGE_ID)
    value: dict[str, Any] = CAM.decode(data)
    return value


def encode_cam(value: Mapping[str, Any]) -> bytes:
    """Encode a CAM value (as `decode_cam` returns it). Raises EncodeError."""
    return CAM.encode(dict(value))


def decode_denm(data: bytes) -> dict[str, Any]:
    """Decode one DENM that fills `data`. Raises DecodeError (also for a header that is not a DENM's)."""
    _check_id(data, DENM_MESSAGE_ID)
    value: dict[str, Any] = DENM.decode(data)
    return value


def encode_denm(value: Mapping[str, Any]) -> bytes:
    """Encode a DENM value (as `decode_denm` returns it). Raises EncodeError."""
    return DENM.encode(dict(value))


def decode_pdu(data: bytes) -> tuple[int, dict[str, Any]]:
    """Decode a CAM or DENM that fills `data`, by its header's messageID (the second octet): (messageID, value).

    Raises:
        DecodeError: too short, another messageID, not a valid encoding, or octets left over.
    """
    pdu, used = decode_pdu_prefix(data)
    if used != len(data):
        raise DecodeError(f"{len(data) - used} trailing octets", bit_offset=used * 8, path="ItsPduHeader")
    return pdu


def decode_pdu_prefix(data: bytes) -> tuple[tuple[int, dict[str, Any]], int]:
    """Decode the CAM or DENM at the start of `data`: ((messageID, value), octets used). Raises DecodeError."""
    if len(data) < 2:
        raise DecodeError("an ETSI PDU needs at least its 2-octet header start", path="ItsPduHeader")
    t = _BY_ID.get(data[1])
    if t is None:
        raise DecodeError(f"messageID {data[1]} is neither a DENM (1) nor a CAM (2)", bit_offset=8, path="ItsPduHeader")
    value, used = t.decode_prefix(data)
    return (data[1], value), used


def encode_pdu(value: Mapping[str, Any]) -> bytes:
    """Encode a CAM or DENM value by its header's messageID. Raises EncodeError."""
    message_id = value.get("header", {}).get("messageID")
    t = _BY_ID.get(message_id) if isinstance(message_id, int) else None
    if t is None:
        raise EncodeError(f"header messageID {message_id!r} is neither a DENM (1) nor a CAM (2)", path="header")
    return t.encode(dict(value))


def _check_id(data: bytes, expected: int) -> None:
    """The header's messageID is the second octet (protocolVersion and messageID are 8-bit integers)."""
    got = data[1] if len(data) > 1 else None
    if got != expected:
        raise DecodeError(f"header messageID {got}, expected {expected}", bit_offset=8, path="ItsPduHeader.messageID")


# --- pycrate itself (reference and baseline) ------------------------------------------------------------------------

_PYCRATE_LOCK: Final = threading.Lock()
"""pycrate objects hold the last value in place: one decode or encode at a time."""
_PYCRATE: Final = {"CAM": _PYCRATE_CAM, "DENM": _PYCRATE_DENM}


def decode_pycrate(pdu: str, data: bytes) -> Any:
    """Decode `data` as "CAM" or "DENM" with pycrate. Raises DecodeError for anything pycrate rejects."""
    obj = _PYCRATE[pdu]
    with _PYCRATE_LOCK:
        try:
            obj.from_uper(bytes(data))
        except Exception as exc:  # pycrate raises many unrelated types for bad input
            raise DecodeError(f"pycrate: {type(exc).__name__}: {exc}", path=pdu) from exc
        return obj.get_val()


def encode_pycrate(pdu: str, value: Any) -> bytes:
    """Encode a pycrate value as "CAM" or "DENM" with pycrate. Raises EncodeError for anything pycrate rejects."""
    obj = _PYCRATE[pdu]
    with _PYCRATE_LOCK:
        try:
            obj.set_val(value)
            data: bytes = obj.to_uper()
        except Exception as exc:  # pycrate raises many unrelated types for bad values
            raise EncodeError(f"pycrate: {type(exc).__name__}: {exc}", path=pdu) from exc
        return data

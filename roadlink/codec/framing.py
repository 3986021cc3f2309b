"""What wraps a UPER MessageFrame on its way to us: vendor log headers and the IEEE 1609.2 security envelope.

Both are stripped before the frame is decoded, and both are kept, so that a payload can be rebuilt byte for byte.

Vendor header (`VendorFraming`): the CSAE RSU / OBU captures (SOURCES.md, asn1-uper-v2x) put each payload in a
vendor envelope ahead of the frames:

    device id        8 octets (ASCII, e.g. ``u_id_123``)
    opaque           8 octets (the vendor's own fields, kept verbatim)
    frame count      1 octet, only when the payload batches frames (the BSM sample holds 2 BSMs)
    then per frame   a 2-octet little-endian length, then that many octets of MessageFrame

So the first frame starts 18 octets in (19 with a count). Every width is a setting; `count` "auto" tells the two
forms apart by the lengths: a single frame's length is exactly what is left after the header.

IEEE 1609.2 (`strip_ieee1609dot2`): US payloads usually arrive inside an Ieee1609Dot2Data (COER):
``03 80 <len> <frame>`` for unsecuredData and ``03 81 00 40 03 80 <len> <frame> <headerInfo, signer, signature>``
for signedData (hashId sha256, a SignedDataPayload carrying `data` only). The wrapper is skipped and reported as
`UNVERIFIED_1609_2`: the signature is not checked here (that is the security work's job), so nothing downstream
may treat the content as authenticated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from roadlink.codec.errors import DecodeError, EncodeError

__all__ = [
    "UNVERIFIED_1609_2",
    "Secured",
    "VendorFraming",
    "VendorPayload",
    "join_vendor_frames",
    "looks_like_ieee1609dot2",
    "split_vendor_frames",
    "strip_ieee1609dot2",
]

UNVERIFIED_1609_2: Final = "unverified 1609.2"
"""The flag for content taken out of an IEEE 1609.2 envelope whose signature (if any) was not verified."""

_PROTOCOL_VERSION: Final = 3
_UNSECURED: Final = 0x80
_SIGNED: Final = 0x81
_SIGNED_PREFIX: Final = bytes([0x00, 0x40, _PROTOCOL_VERSION, _UNSECURED])
"""hashId sha256, SignedDataPayload preamble (data present), then the inner Ieee1609Dot2Data header."""


# --- IEEE 1609.2 ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Secured:
    """A frame taken out of its IEEE 1609.2 envelope: `prefix` + `content` + `suffix` is the original payload."""

    content: bytes
    prefix: bytes
    suffix: bytes
    signed: bool

    @property
    def flag(self) -> str:
        """What provenance should say about this content."""
        return UNVERIFIED_1609_2


def looks_like_ieee1609dot2(data: bytes) -> bool:
    """True when `data` starts like an Ieee1609Dot2Data carrying unsecured or signed data."""
    return len(data) >= 3 and data[0] == _PROTOCOL_VERSION and data[1] in (_UNSECURED, _SIGNED)


def _oer_length(data: bytes, at: int) -> tuple[int, int]:
    """A COER length determinant at octet `at`: (length, octet where the content starts)."""
    if at >= len(data):
        raise DecodeError("1609.2: truncated before a length", bit_offset=at * 8, path="Ieee1609Dot2Data")
    first = data[at]
    if first < 0x80:
        return first, at + 1
    count = first & 0x7F
    if not 1 <= count <= 4 or at + 1 + count > len(data):
        raise DecodeError(f"1609.2: bad long-form length ({count} octets)", bit_offset=at * 8, path="Ieee1609Dot2Data")
    length = int.from_bytes(data[at + 1 : at + 1 + count], "big")
    if length < 0x80:
        raise DecodeError("1609.2: non-canonical long-form length", bit_offset=at * 8, path="Ieee1609Dot2Data")
    return length, at + 1 + count


def strip_ieee1609dot2(data: bytes) -> Secured:
    """Take the payload out of an unsecured or signed Ieee1609Dot2Data (see the module docstring).

    Raises:
        DecodeError: not an Ieee1609Dot2Data of those two kinds, a signedData not carrying its data inline, or a
            length running past the end of `data`.
    """
    if not looks_like_ieee1609dot2(data):
        raise DecodeError("not an IEEE 1609.2 Ieee1609Dot2Data (03 80 / 03 81)", bit_offset=0, path="Ieee1609Dot2Data")
    signed = data[1] == _SIGNED
    at = 2
    if signed:
        if data[2 : 2 + len(_SIGNED_PREFIX)] != _SIGNED_PREFIX:
            raise DecodeError(
                "1609.2 signedData without inline unsecured data (sha256, data only)", bit_offset=16, path="SignedData"
            )
        at = 2 + len(_SIGNED_PREFIX)
    length, start = _oer_length(data, at)
    end = start + length
    if end > len(data) or length == 0:
        raise DecodeError(f"1609.2: content of {length} octets, {len(data) - start} left", path="Ieee1609Dot2Data")
    if not signed and end != len(data):
        raise DecodeError(f"1609.2: {len(data) - end} octets after unsecured data", path="Ieee1609Dot2Data")
    return Secured(data[start:end], data[:start], data[end:], signed)


# --- vendor header --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VendorFraming:
    """The layout of a vendor envelope (defaults: the CSAE captures' RSU / OBU header, see the module docstring).

    count: "auto" (tell single and batched payloads apart), "always" (a count octet is present), "never".
    """

    device_id_octets: int = 8
    opaque_octets: int = 8
    count: Literal["auto", "always", "never"] = "auto"
    length_octets: int = 2
    byteorder: Literal["little", "big"] = "little"

    @property
    def header_octets(self) -> int:
        """Octets before the count or the first length."""
        return self.device_id_octets + self.opaque_octets


@dataclass(frozen=True, slots=True)
class VendorPayload:
    """A payload split by `VendorFraming`: its header fields and the frames, each the octets of one MessageFrame."""

    device_id: bytes
    opaque: bytes
    frames: tuple[bytes, ...]
    counted: bool

    @property
    def device_name(self) -> str:
        """The device id as text (printable ASCII kept, anything else as hex)."""
        text = self.device_id.rstrip(b"\0")
        return text.decode("ascii") if text.isascii() and text.decode("ascii").isprintable() else self.device_id.hex()


def split_vendor_frames(data: bytes, framing: VendorFraming = VendorFraming()) -> VendorPayload:
    """Split a vendor payload into its header and frames (no frame is decoded here).

    Raises:
        DecodeError: shorter than the header, a frame length running past the end or leaving octets over, an
            empty frame, or (count "auto") neither form fitting.
    """
    head = framing.header_octets
    if len(data) <= head:
        raise DecodeError(f"vendor header needs more than {head} octets, got {len(data)}", path="VendorHeader")
    forms = {"always": (True,), "never": (False,), "auto": (False, True)}[framing.count]
    failure: DecodeError | None = None
    for counted in forms:
        try:
            frames = _frames(data, head, counted, framing)
        except DecodeError as exc:
            failure = failure or exc
            continue
        return VendorPayload(data[: framing.device_id_octets], data[framing.device_id_octets : head], frames, counted)
    assert failure is not None
    raise failure


def _frames(data: bytes, at: int, counted: bool, framing: VendorFraming) -> tuple[bytes, ...]:
    count = 1  # without a count octet the payload holds exactly one frame
    if counted:
        count, at = data[at], at + 1
        if count == 0:
            raise DecodeError("vendor header counts 0 frames", bit_offset=(at - 1) * 8, path="VendorHeader.count")
    frames: list[bytes] = []
    width = framing.length_octets
    while at < len(data) and len(frames) < count:
        if at + width > len(data):
            raise DecodeError("truncated frame length", bit_offset=at * 8, path=f"VendorHeader.frames[{len(frames)}]")
        length = int.from_bytes(data[at : at + width], framing.byteorder)
        at += width
        if length == 0 or at + length > len(data):
            raise DecodeError(
                f"frame length {length} with {len(data) - at} octets left",
                bit_offset=(at - width) * 8,
                path=f"VendorHeader.frames[{len(frames)}]",
            )
        frames.append(data[at : at + length])
        at += length
    if at != len(data) or len(frames) != count:
        raise DecodeError(
            f"vendor frames do not fill the payload ({len(frames)} frames, {len(data) - at} octets left)",
            bit_offset=at * 8,
            path="VendorHeader",
        )
    return tuple(frames)


def join_vendor_frames(payload: VendorPayload, framing: VendorFraming = VendorFraming()) -> bytes:
    """The inverse of `split_vendor_frames`.

    Raises:
        EncodeError: header fields of the wrong size, no frames, too many for a count octet, or a frame too long
            for its length field.
    """
    if len(payload.device_id) != framing.device_id_octets or len(payload.opaque) != framing.opaque_octets:
        raise EncodeError("device id or opaque header of the wrong size", path="VendorHeader")
    counted = payload.counted or framing.count == "always" or len(payload.frames) > 1
    if framing.count == "never" and counted:
        raise EncodeError("more than one frame needs a count octet", path="VendorHeader.count")
    if not payload.frames or len(payload.frames) > 255:
        raise EncodeError(f"{len(payload.frames)} frames (1..255)", path="VendorHeader.count")
    out = bytearray(payload.device_id + payload.opaque)
    if counted:
        out.append(len(payload.frames))
    limit = 1 << (8 * framing.length_octets)
    for frame in payload.frames:
        if not 0 < len(frame) < limit:
            raise EncodeError(f"frame of {len(frame)} octets", path="VendorHeader.frames")
        out += len(frame).to_bytes(framing.length_octets, framing.byteorder) + frame
    return bytes(out)

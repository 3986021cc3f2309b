"""Adapter for ASN.1 UPER air-side messages relayed over MQTT: J2735, CSAE 53 or ETSI, one family per route.

An RSU that receives V2X messages over the air (or an OBU bridge) publishes each one as it arrived, either as
binary octets or as hex text. The route's options say what to expect:

    family          "j2735" | "csae" | "etsi" (required)
    encoding        "auto" (hex text when the payload is only hex digits and whitespace, possibly inside a JSON
                    string's double quotes, else binary), "hex", "binary"
    skip_octets     octets of a forwarding header to drop first (e.g. 26 for the jpo-ode RSU forwarding
                    header), default 0
    ieee1609dot2    "auto" (strip the IEEE 1609.2 / TS 103 097 envelope when the payload starts like one),
                    "always", "never". Default "auto", except for "csae", where it is "never": a CSAE BSM can
                    start with the same octets as an Ieee1609Dot2Data
    trailing_octets "reject" (default: a frame must fill what is left of the payload) or "ignore" (decode the
                    frame at the start and drop what follows it, as some RSUs append padding or a checksum)
    vendor_header   CSAE only: the vendor envelope of `roadlink.codec.framing.VendorFraming` (a table of its
                    fields, {} for the defaults); absent = the payload is one bare MessageFrame

The signature of a 1609.2 envelope is not verified here (that comes with the security work): content taken out
of one carries the flag `UNVERIFIED_FLAG` ("ieee1609dot2_unverified") in `provenance.flags`.

Every output carries the air-side message it was mapped from in `provenance.air_message` (the MessageFrame or
ETSI PDU octets alone: no forwarding header, envelope, vendor header or ignored trailing octets), so that it can
be encoded back to the same octets (`roadlink.codec.lossless.encode_v1`).

What each family gives (the gateway forwards vehicle states, perception frames and signal timing only):

    j2735   BSM (20) -> VehicleState, SPaT (19) -> SignalPhaseAndTiming per intersection, PSM (32) and
            SDSM (41) -> PerceptionFrame
    csae    bsmFrame -> VehicleState, rsmFrame -> PerceptionFrame, spatFrame -> SignalPhaseAndTiming
    etsi    CAM -> VehicleState
Anything else (MAP, RSI, TIM, DENM, ...) is rejected with reason "unsupported_message". Times resolve against the
gateway's receive time. Errors are ValidationErrors only: "too_large", "not_hex", "decode_error" (framing,
envelope or ASN.1), "unsupported_message", "position_unavailable", "out_of_range".
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal, TypeAlias

from gateway.adapters.base import Adapter, MessageContext
from roadlink.codec import csae, etsi, j2735
from roadlink.codec.csae_mapping import bsm_to_vehicle_state, rsm_to_perception_frame, spat_to_signals
from roadlink.codec.etsi_mapping import cam_to_vehicle_state
from roadlink.codec.framing import VendorFraming, looks_like_ieee1609dot2, split_vendor_frames, strip_ieee1609dot2
from roadlink.codec.j2735_intersection import SPAT_MESSAGE_ID
from roadlink.codec.j2735_mapping import frame_to_vehicle_state
from roadlink.codec.j2735_perception import frame_to_perception
from roadlink.codec.j2735_psm import PSM_MESSAGE_ID
from roadlink.codec.j2735_sdsm import SDSM_MESSAGE_ID
from roadlink.codec.j2735_spat import frame_to_signals
from roadlink.codec.lossless import CSAE_MESSAGE_IDS, with_air_message
from roadlink.domain.errors import ConfigurationError, ValidationError
from roadlink.domain.perception import AirMessage, PerceptionFrame, Provenance
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.vehicle import VehicleState

__all__ = ["MAX_PAYLOAD_BYTES", "UNVERIFIED_FLAG", "UperOptions", "build", "normalize_uper"]

MAX_PAYLOAD_BYTES: Final = 64 * 1024
"""Larger payloads are rejected ("too_large"): the largest real frame (a J2735 MAP) is under 1.5 kB."""
UNVERIFIED_FLAG: Final = "ieee1609dot2_unverified"
"""In provenance.flags of everything taken out of an IEEE 1609.2 envelope whose signature was not verified."""

Output: TypeAlias = VehicleState | PerceptionFrame | SignalPhaseAndTiming
Family: TypeAlias = Literal["j2735", "csae", "etsi"]
_HEX: Final = re.compile(rb'\s*"?[0-9A-Fa-f\s]+"?\s*')
"""Hex text, possibly as a JSON string (some RSUs publish `"0014..."`)."""


@dataclasses.dataclass(frozen=True, slots=True)
class UperOptions:
    """A route's options (see the module docstring)."""

    family: Family
    encoding: Literal["auto", "hex", "binary"] = "auto"
    skip_octets: int = 0
    ieee1609dot2: Literal["auto", "always", "never"] = "auto"
    vendor_header: VendorFraming | None = None
    trailing_octets: Literal["reject", "ignore"] = "reject"


def _options(options: Mapping[str, object]) -> UperOptions:
    known = {"family", "encoding", "skip_octets", "ieee1609dot2", "vendor_header", "trailing_octets"}
    if set(options) - known:
        raise ConfigurationError(f"uper_frames: unknown options {sorted(set(options) - known)}")
    family = options.get("family")
    if family not in ("j2735", "csae", "etsi"):
        raise ConfigurationError(f"uper_frames: family must be j2735, csae or etsi, got {family!r}")
    encoding = options.get("encoding", "auto")
    security = options.get("ieee1609dot2", "never" if family == "csae" else "auto")
    skip = options.get("skip_octets", 0)
    if encoding not in ("auto", "hex", "binary") or security not in ("auto", "always", "never"):
        raise ConfigurationError(f"uper_frames: bad encoding {encoding!r} or ieee1609dot2 {security!r}")
    trailing = options.get("trailing_octets", "reject")
    if trailing not in ("reject", "ignore"):
        raise ConfigurationError(f"uper_frames: trailing_octets must be reject or ignore, got {trailing!r}")
    if type(skip) is not int or skip < 0:
        raise ConfigurationError(f"uper_frames: skip_octets must be a non-negative int, got {skip!r}")
    vendor = _vendor(options.get("vendor_header"), family)
    return UperOptions(family, encoding, skip, security, vendor, trailing)


def _vendor(value: object, family: object) -> VendorFraming | None:
    if value is None:
        return None
    if family != "csae" or not isinstance(value, Mapping):
        raise ConfigurationError("uper_frames: vendor_header is a table, and for family csae only")
    try:
        return VendorFraming(**{str(k): v for k, v in value.items()})
    except TypeError as exc:
        raise ConfigurationError(f"uper_frames: vendor_header: {exc}") from exc


def build(options: Mapping[str, object]) -> Adapter:
    """AdapterFactory: the adapter for the route's `options`.

    Raises:
        ConfigurationError: unknown options, a missing or unknown family, or bad option values.
    """
    parsed = _options(options)

    def adapter(payload: bytes, context: MessageContext) -> list[Output]:
        return normalize_uper(payload, context, parsed)

    return adapter


def normalize_uper(payload: bytes, context: MessageContext, options: UperOptions) -> list[Output]:
    """One MQTT message -> the domain objects of the frames it holds (see the module docstring).

    Raises:
        ValidationError: with one of the reasons in the module docstring; never anything else.
    """
    data = _octets(payload, options.encoding)[options.skip_octets :]
    flagged = False
    if options.ieee1609dot2 == "always" or (options.ieee1609dot2 == "auto" and looks_like_ieee1609dot2(data)):
        data, flagged = strip_ieee1609dot2(data).content, True
    frames: Sequence[bytes] = [data]
    if options.vendor_header is not None:
        frames = split_vendor_frames(data, options.vendor_header).frames
    decode = _FAMILIES[options.family]
    whole = options.trailing_octets == "reject"
    outputs = [item for frame in frames for item in decode(frame, context.receive_time_unix_ms, whole)]
    return [_with_provenance(item, context, flagged) for item in outputs]


def _octets(payload: bytes, encoding: str) -> bytes:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValidationError("too_large", f"{len(payload)} octets, at most {MAX_PAYLOAD_BYTES}")
    as_hex = encoding == "hex" or (encoding == "auto" and _HEX.fullmatch(payload) is not None)
    if not as_hex:
        return bytes(payload)
    try:
        text = payload.decode("ascii").strip()
        if len(text) >= 2 and text[0] == text[-1] == '"':
            text = text[1:-1]
        return bytes.fromhex(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationError("not_hex", f"payload is not hex text: {exc}") from exc


def _unsupported(what: object) -> ValidationError:
    return ValidationError("unsupported_message", f"{what} is not forwarded by the gateway", field="messageId")


def _stamped(items: Sequence[Output], standard: str, message_id: int, uper: bytes) -> list[Output]:
    air = AirMessage(standard, message_id, bytes(uper))
    return [with_air_message(item, air) for item in items]


def _j2735(frame: bytes, now: int, whole: bool) -> list[Output]:
    decoded, used = (j2735.decode_frame(frame), len(frame)) if whole else j2735.MessageFrame.decode_prefix(frame)
    message_id = decoded["messageId"]
    items: Sequence[Output]
    if message_id == j2735.BSM_MESSAGE_ID:
        items = [frame_to_vehicle_state(decoded, now)]
    elif message_id == SPAT_MESSAGE_ID:
        items = frame_to_signals(decoded, now)
    elif message_id in (PSM_MESSAGE_ID, SDSM_MESSAGE_ID):
        items = [frame_to_perception(decoded, now)]
    else:
        raise _unsupported(f"J2735 messageId {message_id}")
    return _stamped(items, "j2735", message_id, frame[:used])


def _csae(frame: bytes, now: int, whole: bool) -> list[Output]:
    (alt, value), used = (csae.decode_frame(frame), len(frame)) if whole else csae.decode_frame_prefix(frame)
    items: Sequence[Output]
    if alt == "bsmFrame":
        items = [bsm_to_vehicle_state(value, now)]
    elif alt == "rsmFrame":
        items = [rsm_to_perception_frame(value, now)]
    elif alt == "spatFrame":
        items = spat_to_signals(value, now)
    else:
        raise _unsupported(f"CSAE {alt}")
    return _stamped(items, "csae53", CSAE_MESSAGE_IDS[str(alt)], frame[:used])


def _etsi(frame: bytes, now: int, whole: bool) -> list[Output]:
    (message_id, value), used = (etsi.decode_pdu(frame), len(frame)) if whole else etsi.decode_pdu_prefix(frame)
    if message_id != etsi.CAM_MESSAGE_ID:
        raise _unsupported(f"ETSI messageID {message_id}")
    return _stamped([cam_to_vehicle_state(value, now)], "etsi", message_id, frame[:used])


_FAMILIES: Final[dict[str, Callable[[bytes, int, bool], list[Output]]]] = {
    "j2735": _j2735,
    "csae": _csae,
    "etsi": _etsi,
}


def _with_provenance(item: Output, context: MessageContext, flagged: bool) -> Output:
    sequence: Any
    if isinstance(item, VehicleState):
        source_time, sequence = item.time_unix_ms, item.message_count
    elif isinstance(item, PerceptionFrame):
        source_time, sequence = item.time_unix_ms, item.frame_sequence
    else:
        source_time, sequence = item.time_unix_ms, item.revision
    provenance = Provenance(
        source_id=context.source_id,
        source_time_unix_ms=source_time,
        gateway_receive_time_unix_ms=context.receive_time_unix_ms,
        sensor_ids=(context.sensor_id,),
        topic=context.topic,
        source_sequence=sequence,
        flags=(UNVERIFIED_FLAG,) if flagged else (),
        air_message=item.provenance.air_message if item.provenance is not None else None,
    )
    return dataclasses.replace(item, provenance=provenance)

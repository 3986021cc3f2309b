"""Encoders for the roadside radio: v1 SPaT / MAP / RSI / perception -> UPER MessageFrames, J2735 or CSAE 53.

The roadside node hands what it wants broadcast to a `BroadcastEncoder` built for its radio's standard; the
encoder returns the octets the radio puts on the air (optionally inside an unsecured IEEE 1609.2 Data, for radios
that sign or wrap themselves and expect one). Message counters come from the v1 messages (SPaT and MAP revision,
RoadSideInfo message_count, PerceptionFrame frame_sequence), modulo 128.

What each standard can carry today:

    message                      csae                                   j2735
    SignalPhaseAndTiming(s)      spatFrame, countdown timing            SPaT (19), absolute TimeMarks
    v1 MapData                   mapFrame (node / link / lane)          MapData (18), XY node offsets
    v1 RoadSideInfo              rsiFrame (events and signs)            not yet: TIM is not described
    PerceptionFrame              rsmFrame (first 16 objects)            not yet: SDSM is not described
A combination marked "not yet" raises EncodeError naming it. Encoding is pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from v2x.roadside.v1 import info_pb2, map_pb2

from roadlink.codec import csae
from roadlink.codec.csae_infrastructure import proto_to_map, proto_to_rsi
from roadlink.codec.csae_mapping import perception_frame_to_rsm, signals_to_spat
from roadlink.codec.errors import EncodeError
from roadlink.codec.j2735_intersection import SPAT_MESSAGE_ID
from roadlink.codec.j2735_map import encode_map_frame
from roadlink.codec.j2735_spat import encode_spat_frame
from roadlink.codec.j2735_spat import signals_to_spat as j2735_signals_to_spat
from roadlink.domain.perception import PerceptionFrame
from roadlink.domain.signal import SignalPhaseAndTiming

__all__ = ["BroadcastEncoder", "Standard", "wrap_ieee1609dot2_unsecured"]

Standard = Literal["j2735", "csae"]
_MAX_UNSECURED_OCTETS: Final = 0xFFFF


def wrap_ieee1609dot2_unsecured(frame: bytes) -> bytes:
    """`frame` as an Ieee1609Dot2Data with unsecuredData (COER): 03 80, the length, the frame.

    Raises:
        EncodeError: an empty frame or one over 65535 octets.
    """
    if not 0 < len(frame) <= _MAX_UNSECURED_OCTETS:
        raise EncodeError(f"a frame of {len(frame)} octets cannot be wrapped", path="Ieee1609Dot2Data")
    if len(frame) < 0x80:
        length = bytes([len(frame)])
    else:
        body = len(frame).to_bytes((len(frame).bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(body)]) + body
    return b"\x03\x80" + length + frame


@dataclass(frozen=True, slots=True)
class BroadcastEncoder:
    """Encodes v1 content for one radio.

    standard: "j2735" or "csae"; rsu_id: the 8-octet CSAE RSU id (RSM participants' source); wrap_1609_2: put
    every frame in an unsecured IEEE 1609.2 Data.
    """

    standard: Standard
    rsu_id: bytes = bytes(8)
    wrap_1609_2: bool = False

    def __post_init__(self) -> None:
        if self.standard not in ("j2735", "csae"):
            raise ValueError(f"standard must be j2735 or csae, got {self.standard!r}")
        if len(self.rsu_id) != 8:
            raise ValueError(f"rsu_id must be 8 octets, got {len(self.rsu_id)}")

    def _out(self, frame: bytes) -> bytes:
        return wrap_ieee1609dot2_unsecured(frame) if self.wrap_1609_2 else frame

    def _not_yet(self, what: str) -> EncodeError:
        return EncodeError(f"{what} cannot be broadcast as {self.standard} yet", path=what)

    def spat(self, signals: Sequence[SignalPhaseAndTiming]) -> bytes:
        """One SPaT frame for `signals` (one per intersection, at least one).

        Raises:
            EncodeError: no intersections, or a value that does not fit (e.g. a J2735 event time 30 min or more
                away from its intersection's time).
        """
        if not signals:
            raise EncodeError("a SPaT needs at least one intersection", path="SPAT.intersections")
        if self.standard == "csae":
            return self._out(csae.encode_frame(("spatFrame", signals_to_spat(signals, signals[0].revision))))
        value = j2735_signals_to_spat(signals)
        return self._out(encode_spat_frame({"messageId": SPAT_MESSAGE_ID, "value": value}))

    def map(self, message: map_pb2.MapData) -> bytes:
        """One MAP frame.

        Raises:
            EncodeError: a MapData that does not fit (e.g. a CSAE lane with a single node).
        """
        if self.standard == "j2735":
            return self._out(encode_map_frame(message))
        return self._out(csae.encode_frame(("mapFrame", proto_to_map(message))))

    def rsi(self, message: info_pb2.RoadSideInfo) -> bytes:
        """One RSI frame (CSAE only). Raises EncodeError for J2735 or a value that does not fit."""
        if self.standard != "csae":
            raise self._not_yet("RoadSideInfo")
        return self._out(csae.encode_frame(("rsiFrame", proto_to_rsi(message))))

    def rsm(self, frame: PerceptionFrame) -> bytes:
        """One RSM frame from a perception frame (CSAE only; the first 16 objects).

        Raises:
            EncodeError: J2735, or a value that does not fit.
            ValidationError: reason "wrong_shape" for a frame without objects.
        """
        if self.standard != "csae":
            raise self._not_yet("PerceptionFrame")
        return self._out(csae.encode_frame(("rsmFrame", perception_frame_to_rsm(frame, self.rsu_id))))

"""Encoders for the roadside radio: v1 SPaT / MAP / RSI / perception -> UPER MessageFrames, J2735 or CSAE 53.

The roadside node hands what it wants broadcast to a `BroadcastEncoder` built for its radio's standard; the
encoder returns the octets the radio puts on the air (optionally inside an unsecured IEEE 1609.2 Data, for radios
that sign or wrap themselves and expect one). Message counters come from the v1 messages (SPaT and MAP revision,
RoadSideInfo message_count, PerceptionFrame frame_sequence), modulo 128.

What each standard can carry today:

    message                      csae                                   j2735
    SignalPhaseAndTiming(s)      spatFrame, countdown timing            SPaT (19), absolute TimeMarks
    v1 MapData                   mapFrame (node / link / lane)          MapData (18), XY node offsets
    v1 RoadSideInfo              rsiFrame (events and signs)            TIM (31), one data frame per event / sign
    PerceptionFrame              rsmFrame (first 16 objects)            SDSM (41, first 256 objects), 0.1 m offsets
Encoding is pure: no I/O, no clock.

A message that carries the air-side message it came from (`provenance.air_message`, set by the gateway) in the
radio's own standard is encoded with it as the template (`roadlink.codec.lossless.encode_v1`): an unchanged
message goes back on the air byte for byte, a changed one keeps what v1 cannot say. Anything else (the node's own
maps, fused perception, signal timing from a controller) is encoded from its v1 fields alone.

`RadioBroadcaster` is the node's side: it takes the v1 messages the node serves to vehicles, encodes them with a
`BroadcastEncoder` and hands the frames to a `RadioSink`, the one-method seam to the radio. A message that cannot
be encoded is counted and logged, never raised: the node's other outputs must not depend on the radio.
`MqttRadioSink` publishes each frame to an MQTT topic of the radio's broker; `MemoryRadioSink` keeps them (tests,
or a radio driver that polls).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

import aiomqtt
from google.protobuf.message import Message
from v2x.roadside.v1 import info_pb2, map_pb2, perception_pb2, signal_pb2

from roadlink.codec import csae, j2735
from roadlink.codec.csae_infrastructure import proto_to_map, proto_to_rsi
from roadlink.codec.csae_mapping import perception_frame_to_rsm, signals_to_spat
from roadlink.codec.errors import EncodeError
from roadlink.codec.j2735_intersection import SPAT_MESSAGE_ID
from roadlink.codec.j2735_map import encode_map_frame
from roadlink.codec.j2735_road_info import road_side_info_to_tim
from roadlink.codec.j2735_sdsm import SDSM_MESSAGE_ID
from roadlink.codec.j2735_spat import encode_spat_frame
from roadlink.codec.j2735_spat import signals_to_spat as j2735_signals_to_spat
from roadlink.codec.j2735_tim import TIM_MESSAGE_ID
from roadlink.codec.lossless import encode_v1
from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import ValidationError
from roadlink.domain.geodesy import LocalOrigin
from roadlink.domain.perception import DetectedObject, PerceptionFrame
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.spatial import Position
from roadlink.wire.backoff import Backoff
from roadlink.wire.convert import frame_from_proto, frame_to_proto, signal_from_proto, signal_to_proto

__all__ = [
    "BroadcastEncoder",
    "BroadcastStats",
    "MemoryRadioSink",
    "MqttRadioSink",
    "RadioBroadcaster",
    "RadioSink",
    "Standard",
    "perception_frame_to_sdsm",
    "wrap_ieee1609dot2_unsecured",
]

Standard = Literal["j2735", "csae"]
_MAX_UNSECURED_OCTETS: Final = 0xFFFF
_AIR_STANDARD: Final = {"j2735": "j2735", "csae": "csae53"}
"""Broadcast standard -> the AirMessage.standard of messages that came in it."""
_log = logging.getLogger(__name__)


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

    def _original(self, messages: Sequence[Message]) -> bytes | None:
        """The frame encoded over the messages' air_message, when they came in this standard; else None."""
        provenance = getattr(messages[0], "provenance", None)
        if provenance is None or not provenance.HasField("air_message"):
            return None
        if provenance.air_message.standard != _AIR_STANDARD[self.standard]:
            return None
        return self._out(encode_v1(messages))

    def spat(self, signals: Sequence[SignalPhaseAndTiming]) -> bytes:
        """One SPaT frame for `signals` (one per intersection, at least one).

        Raises:
            EncodeError: no intersections, or a value that does not fit (e.g. a J2735 event time 30 min or more
                away from its intersection's time).
        """
        if not signals:
            raise EncodeError("a SPaT needs at least one intersection", path="SPAT.intersections")
        provenance = signals[0].provenance
        if provenance is not None and provenance.air_message is not None:
            original = self._original([signal_to_proto(s) for s in signals])
            if original is not None:
                return original
        if self.standard == "csae":
            return self._out(csae.encode_frame(("spatFrame", signals_to_spat(signals, signals[0].revision))))
        value = j2735_signals_to_spat(signals)
        return self._out(encode_spat_frame({"messageId": SPAT_MESSAGE_ID, "value": value}))

    def map(self, message: map_pb2.MapData) -> bytes:
        """One MAP frame.

        Raises:
            EncodeError: a MapData that does not fit (e.g. a CSAE lane with a single node).
        """
        original = self._original([message])
        if original is not None:
            return original
        if self.standard == "j2735":
            return self._out(encode_map_frame(message))
        return self._out(csae.encode_frame(("mapFrame", proto_to_map(message))))

    def rsi(self, message: info_pb2.RoadSideInfo) -> bytes:
        """One RSI (CSAE) or TIM (J2735) frame. Raises EncodeError for a value that does not fit."""
        original = self._original([message])
        if original is not None:
            return original
        if self.standard == "j2735":
            return self._out(j2735.encode_frame({"messageId": TIM_MESSAGE_ID, "value": road_side_info_to_tim(message)}))
        return self._out(csae.encode_frame(("rsiFrame", proto_to_rsi(message))))

    def rsm(self, frame: PerceptionFrame) -> bytes:
        """One RSM (CSAE) or SDSM (J2735) frame from a perception frame.

        Raises:
            EncodeError: a value that does not fit.
            ValidationError: reason "wrong_shape" for a frame without objects.
        """
        if frame.provenance.air_message is not None:
            original = self._original([frame_to_proto(frame)])
            if original is not None:
                return original
        if self.standard == "j2735":
            value = perception_frame_to_sdsm(frame, self.rsu_id[-4:])
            return self._out(j2735.encode_frame({"messageId": SDSM_MESSAGE_ID, "value": value}))
        return self._out(csae.encode_frame(("rsmFrame", perception_frame_to_rsm(frame, self.rsu_id))))


# --- the node's radio output -----------------------------------------------------------------------------------------


class RadioSink(Protocol):
    """Where encoded frames go: `message` is "spat", "map", "rsi" or "rsm"; must not block."""

    def put(self, message: str, frame: bytes) -> None: ...


@dataclass(slots=True)
class BroadcastStats:
    """Frames handed to the radio sink, and messages that could not be encoded (by message kind)."""

    frames: int = 0
    encode_errors: dict[str, int] = field(default_factory=dict)


class RadioBroadcaster:
    """Encodes what the node serves to vehicles for its radio (see the module docstring)."""

    def __init__(self, encoder: BroadcastEncoder, sink: RadioSink) -> None:
        self.encoder = encoder
        self.sink = sink
        self.stats = BroadcastStats()

    def signal(self, spat: signal_pb2.SignalPhaseAndTiming) -> None:
        """One intersection's signal timing -> one SPaT frame."""
        self._send("spat", lambda: self.encoder.spat([signal_from_proto(spat)]))

    def map(self, message: map_pb2.MapData) -> None:
        """A map the node serves -> one MAP frame."""
        self._send("map", lambda: self.encoder.map(message))

    def road_side_info(self, message: info_pb2.RoadSideInfo) -> None:
        """Road-side information for the node's zone -> one RSI (CSAE) or TIM (J2735) frame."""
        self._send("rsi", lambda: self.encoder.rsi(message))

    def frame(self, frame: perception_pb2.PerceptionFrame) -> None:
        """A (fused) perception frame -> one RSM (CSAE) or SDSM (J2735) frame; a frame without objects is skipped."""
        if frame.objects:
            self._send("rsm", lambda: self.encoder.rsm(frame_from_proto(frame)))

    def _send(self, message: str, encode: Callable[[], bytes]) -> None:
        try:
            data = encode()
        except ValidationError as failure:  # EncodeError is one
            self.stats.encode_errors[message] = self.stats.encode_errors.get(message, 0) + 1
            _log.warning("radio %s not encoded as %s: %s", message, self.encoder.standard, failure)
            return
        self.stats.frames += 1
        self.sink.put(message, data)


class MemoryRadioSink:
    """Keeps the last `capacity` frames as (message, frame), oldest dropped first (counted in `dropped`)."""

    def __init__(self, capacity: int = 1024) -> None:
        self.frames: deque[tuple[str, bytes]] = deque(maxlen=capacity)
        self.dropped = 0

    def put(self, message: str, frame: bytes) -> None:
        if len(self.frames) == self.frames.maxlen:
            self.dropped += 1
        self.frames.append((message, frame))


class MqttRadioSink:
    """Publishes frames to the radio's MQTT broker, QoS 0, to `topic` with "{message}" replaced by the kind.

    `put` never blocks: frames wait in a queue of at most `capacity`; when it is full the oldest is dropped and
    counted in `dropped` (a stale SPaT is worth less than the next one). `run()` is the owned publishing task: it
    connects, publishes, and reconnects with backoff after a broker failure, until cancelled. Every connect waits
    at most `connect_timeout_s`.
    """

    def __init__(self, host: str, port: int, topic: str, capacity: int = 256, connect_timeout_s: float = 5.0) -> None:
        self.host, self.port, self.topic = host, port, topic
        self._queue: deque[tuple[str, bytes]] = deque(maxlen=capacity)
        self._ready = asyncio.Event()
        self._connect_timeout_s = connect_timeout_s
        self.dropped = 0
        self.published = 0

    def put(self, message: str, frame: bytes) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append((message, frame))
        self._ready.set()

    async def run(self) -> None:
        """Publish until cancelled, reconnecting with backoff (frames queued meanwhile are kept, bounded)."""
        backoff, attempt = Backoff(), 0
        while True:
            try:
                async with aiomqtt.Client(self.host, self.port, timeout=self._connect_timeout_s) as client:
                    attempt = 0
                    await self._publish_all(client)
            except aiomqtt.MqttError as failure:
                _log.warning("radio broker %s:%s: %s", self.host, self.port, failure)
                await asyncio.sleep(backoff.delay_s(attempt))
                attempt += 1

    async def _publish_all(self, client: aiomqtt.Client) -> None:
        while True:
            await self._ready.wait()
            while self._queue:
                message, frame = self._queue[0]
                await client.publish(self.topic.replace("{message}", message), frame, qos=0)
                self._queue.popleft()
                self.published += 1
            self._ready.clear()


# --- PerceptionFrame -> J2735 SDSM -----------------------------------------------------------------------------------

_SDSM_TYPES: Final = {
    ObjectClass.PEDESTRIAN: ("vru", "aPEDESTRIAN"),
    ObjectClass.BICYCLE: ("vru", "aPEDALCYCLIST"),
    ObjectClass.ANIMAL: ("animal", None),
    ObjectClass.UNKNOWN: ("unknown", None),
    ObjectClass.UNSPECIFIED: ("unknown", None),
    ObjectClass.OBSTACLE: ("unknown", None),
}
_OFFSET_LIMIT: Final = 32767
_MEASUREMENT_LIMIT_MS: Final = 1500


def perception_frame_to_sdsm(frame: PerceptionFrame, source_id: bytes) -> dict[str, Any]:
    """PerceptionFrame -> a J2735 SensorDataSharingMessage value (the inverse of j2735_perception's mapping).

    sourceID = `source_id` (4 octets), equipmentType rsu, sDSMTimeStamp = the frame time (UTC), refPos = the
    frame's reference position (else the first object's). Each object: offsets east / north / up of refPos in
    0.1 m (clamped to +-3276.7 m), measurementTime relative to the frame time (clamped to +-1.5 s), speed 0.02 m/s,
    heading 0.0125 deg, objTypeCfd from class_confidence; vehicles carry their size (detVeh), VRUs their type
    (detVRU), obstacles their size (detObst). Confidences v1 does not hold are sent as "unavailable".

    Raises:
        ValidationError: reason "wrong_shape" for a frame without objects.
    """
    if not frame.objects:
        raise ValidationError("wrong_shape", "an SDSM needs at least one object", field="objects")
    ref = frame.reference_position or frame.objects[0].position
    origin = LocalOrigin(ref.latitude_deg, ref.longitude_deg, ref.elevation_m or 0.0)
    ref_value: dict[str, int] = {"lat": round(ref.latitude_deg * 1e7), "long": round(ref.longitude_deg * 1e7)}
    if ref.elevation_m is not None:
        ref_value["elevation"] = min(max(round(ref.elevation_m * 10), -4095), 61439)
    return {
        "msgCnt": frame.frame_sequence % 128,
        "sourceID": bytes(source_id),
        "equipmentType": "rsu",
        "sDSMTimeStamp": _date_time(frame.time_unix_ms),
        "refPos": ref_value,
        "refPosXYConf": {"semiMajor": 255, "semiMinor": 255, "orientation": 65535},
        "objects": [_sdsm_object(o, origin, ref, frame.time_unix_ms) for o in frame.objects[:256]],
    }


def _date_time(unix_ms: int) -> dict[str, int]:
    t = time.gmtime(unix_ms // 1000)
    second_ms = t.tm_sec * 1000 + unix_ms % 1000
    return {
        "year": t.tm_year,
        "month": t.tm_mon,
        "day": t.tm_mday,
        "hour": t.tm_hour,
        "minute": t.tm_min,
        "second": second_ms,
    }


def _clamp(value: float, limit: int) -> int:
    return min(max(round(value), -limit), limit)


def _sdsm_object(o: DetectedObject, origin: LocalOrigin, ref: Position, now: int) -> dict[str, Any]:
    up_known = o.position.elevation_m is not None and ref.elevation_m is not None
    height = o.position.elevation_m if up_known and o.position.elevation_m is not None else (ref.elevation_m or 0.0)
    east, north, up = origin.to_enu(o.position.latitude_deg, o.position.longitude_deg, height)
    pos = {"offsetX": _clamp(east * 10, _OFFSET_LIMIT), "offsetY": _clamp(north * 10, _OFFSET_LIMIT)}
    if up_known:
        pos["offsetZ"] = _clamp(up * 10, _OFFSET_LIMIT)
    measured = o.measurement_time_unix_ms if o.measurement_time_unix_ms is not None else now
    kind, vru = _SDSM_TYPES.get(o.object_class, ("vehicle", None))
    common = {
        "objType": kind,
        "objTypeCfd": 101 if o.class_confidence is None else min(max(round(o.class_confidence * 100), 0), 100),
        "objectID": o.object_id % 65536,
        "measurementTime": _clamp(measured - now, _MEASUREMENT_LIMIT_MS),
        "timeConfidence": "unavailable",
        "pos": pos,
        "posConfidence": {"pos": "unavailable", "elevation": "unavailable"},
        "speed": 8191 if o.speed_mps is None else min(max(round(o.speed_mps / 0.02), 0), 8190),
        "speedConfidence": "unavailable",
        "heading": 28800 if o.heading_deg is None else round(o.heading_deg / 0.0125) % 28800,
        "headingConf": "unavailable",
    }
    value: dict[str, Any] = {"detObjCommon": common}
    optional = _optional_data(o, kind, vru)
    if optional is not None:
        value["detObjOptData"] = optional
    return value


def _optional_data(o: DetectedObject, kind: str, vru: str | None) -> tuple[str, dict[str, Any]] | None:
    if vru is not None:
        return "detVRU", {"basicType": vru}
    size = o.size
    if o.object_class == ObjectClass.OBSTACLE:
        dims = (
            {"width": 0, "length": 0}
            if size is None
            else {"width": min(round(size.width_m * 10), 1023), "length": min(round(size.length_m * 10), 1023)}
        )
        if size is not None and size.height_m is not None:
            dims["height"] = min(round(size.height_m * 10), 1023)
        confidence = {"widthConfidence": "unavailable", "lengthConfidence": "unavailable"}
        if "height" in dims:
            confidence["heightConfidence"] = "unavailable"
        return "detObst", {"obstSize": dims, "obstSizeConfidence": confidence}
    if kind == "vehicle" and size is not None:
        details: dict[str, Any] = {
            "size": {"width": min(round(size.width_m * 100), 1023), "length": min(round(size.length_m * 100), 4095)}
        }
        if size.height_m is not None:
            details["height"] = min(round(size.height_m / 0.05), 127)
        return "detVeh", details
    return None

"""Air-side message codecs: a declarative UPER engine (`uper`) and the message descriptions built on it.

uper             the engine: type nodes that both decode and encode, plain-Python values
                 (primitives, constructed, base and bitio are its parts)
j2735            SAE J2735 MessageFrame and BasicSafetyMessage (the frame also carries the messages below)
j2735_common     J2735 data elements shared by several messages
j2735_motion     acceleration, path history / prediction, vehicle size: shared by BSM, PSM and SDSM
j2735_intersection  SPAT (19) and MapData (18), the ISO TS 19091 types J2735 shares with ETSI
j2735_signal_request  SRM (29) and SSM (30)
j2735_tim        TravelerInformation (31)
j2735_psm        PersonalSafetyMessage (32)
j2735_sdsm       SensorDataSharingMessage (41)
j2735_mapping    decoded BSM <-> VehicleState in SI units (the inverse keeps a template's Part II)
j2735_spat       decoded SPaT <-> SignalPhaseAndTiming with absolute times
j2735_map        decoded MapData -> v1 MapData
j2735_perception decoded SDSM / PSM -> PerceptionFrame
j2735_road_info  v1 RoadSideInfo -> TravelerInformation, for J2735 radios
lossless         any air-side message <-> its v1 messages, the original kept in provenance.air_message so that
                 decode -> v1 -> protobuf -> encode gives back the same octets (v1 fields alone without it)
air_documents    captured J2735 / CSAE / ETSI payload <-> JSON document (raw JER and v1), for the CLI
field_tools      captured payload -> JSON (raw JER + v1) and back, for `roadlink decode` / `encode`
errors           DecodeError / EncodeError (both ValidationError)
"""

from __future__ import annotations

from roadlink.codec.bitio import Raw
from roadlink.codec.errors import DecodeError, EncodeError
from roadlink.codec.j2735 import decode_frame, encode_frame, split_frames
from roadlink.codec.j2735_mapping import bsm_to_vehicle_state, frame_to_vehicle_state, resolve_sec_mark

__all__ = [
    "DecodeError",
    "EncodeError",
    "Raw",
    "bsm_to_vehicle_state",
    "decode_frame",
    "encode_frame",
    "frame_to_vehicle_state",
    "resolve_sec_mark",
    "split_frames",
]

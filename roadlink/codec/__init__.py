"""Air-side message codecs: a declarative UPER engine (`uper`) and the message descriptions built on it.

uper             the engine: type nodes that both decode and encode, plain-Python values
                 (primitives, constructed, base and bitio are its parts)
j2735            SAE J2735 MessageFrame and BasicSafetyMessage
j2735_mapping    decoded BSM -> VehicleState in SI units
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

"""Recorded sensor data shipped with roadlink, for replay, tests and benchmarks (origin in SOURCES.md)."""

from __future__ import annotations

import functools
import gzip
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = ["RADAR_DEVICE_ID", "RecordedMessage", "load_radar_recording"]

RADAR_DEVICE_ID = "N22W75HMBLD"
"""Device id of the roadside radar in the recording (the `deviceId` of every frame)."""

_RADAR_RESOURCE = "radar_track.json.gz"


@dataclass(frozen=True, slots=True)
class RecordedMessage:
    """One recorded message: its source time (unix ms) and the payload as the sensor would publish it."""

    time_unix_ms: int
    payload: bytes


def _read_frames() -> list[dict[str, Any]]:
    """The recording's frames, decoded from the packaged gzip (UTF-8 with BOM)."""
    compressed = resources.files(__name__).joinpath(_RADAR_RESOURCE).read_bytes()
    frames: list[dict[str, Any]] = json.loads(gzip.decompress(compressed).decode("utf-8-sig"))
    return frames


@functools.cache
def load_radar_recording() -> tuple[RecordedMessage, ...]:
    """The 500 radar frames of the roadmocker recording, sorted stably by `timeStamp`.

    Each payload is one frame re-serialized as compact JSON (no BOM), the way a radar publishes one MQTT
    message. Frames that share a timestamp keep their order from the file. Cached: the tuple is shared.
    """
    messages = [
        RecordedMessage(int(frame["timeStamp"]), json.dumps(frame, separators=(",", ":")).encode())
        for frame in _read_frames()
    ]
    messages.sort(key=lambda message: message.time_unix_ms)
    return tuple(messages)

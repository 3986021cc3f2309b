"""Replay recorded sensor messages to MQTT, at their recorded pace or faster, optionally re-timestamped.

Restamping shifts the recording onto the wall clock: the first message's `timeStamp` becomes the time the
pass starts (unix ms) and every later one keeps its recorded offset from it. At speed 1 the stamps then
match the publish times, so downstream age checks and end-to-end latency make sense. At other speeds the
stamps keep the recorded spacing (so positions and timestamps stay physically consistent) and drift from
the wall clock by offset * (1 - 1/speed); age checks are only meaningful at speed 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import Sequence
from typing import Any

import aiomqtt

from roadlink.domain.clock import now_unix_ms
from roadlink.samples import RADAR_DEVICE_ID, RecordedMessage

__all__ = ["DEFAULT_RADAR_TOPIC", "replay", "restamp_payload"]

DEFAULT_RADAR_TOPIC = f"rsu/{RADAR_DEVICE_ID}/radar/radar0"
"""Where the gateway expects this radar: `rsu/<source_id>/radar/<sensor_id>`."""

_TIME_FIELD = "timeStamp"


def restamp_payload(payload: bytes, time_unix_ms: int) -> bytes:
    """Return the JSON object `payload` with its "timeStamp" set to `time_unix_ms`, compactly re-serialized.

    The stamp keeps the original's JSON type (a digit string stays a string). Nothing else changes.

    Raises:
        ValueError: if the payload is not a JSON object (json.JSONDecodeError is a ValueError).
    """
    frame: Any = json.loads(payload)
    if not isinstance(frame, dict):
        raise ValueError(f"payload must be a JSON object, got {type(frame).__name__}")
    frame[_TIME_FIELD] = time_unix_ms if isinstance(frame.get(_TIME_FIELD), int) else str(time_unix_ms)
    return json.dumps(frame, separators=(",", ":")).encode()


async def replay(
    client: aiomqtt.Client,
    messages: Sequence[RecordedMessage],
    topic: str,
    *,
    speed: float = 1.0,
    restamp: bool = True,
    loop: bool = False,
    qos: int = 1,
    stop: asyncio.Event | None = None,
) -> int:
    """Publish `messages` (sorted by time) to `topic` on a connected client; return how many were published.

    Each message goes out at its offset from the first divided by `speed`; speed <= 0 or math.inf means
    as fast as possible. With `loop`, passes repeat until `stop` is set (or the task is cancelled);
    otherwise one pass is made. Setting `stop` ends the replay before the next publish.

    Raises:
        ValueError: with `restamp`, if a payload is not a JSON object.
        aiomqtt.MqttError: if publishing fails.
    """
    stop = stop if stop is not None else asyncio.Event()
    published = 0
    while messages and not stop.is_set():
        published += await _replay_pass(client, messages, topic, speed, restamp, qos, stop)
        if not loop:
            break
    return published


async def _replay_pass(
    client: aiomqtt.Client,
    messages: Sequence[RecordedMessage],
    topic: str,
    speed: float,
    restamp: bool,
    qos: int,
    stop: asyncio.Event,
) -> int:
    """One pass over `messages`; returns the number published before the end or `stop`."""
    paced = 0.0 < speed < math.inf
    clock = asyncio.get_running_loop()
    start_s, start_unix_ms = clock.time(), now_unix_ms()
    first_ms = messages[0].time_unix_ms
    for published, message in enumerate(messages):
        offset_ms = message.time_unix_ms - first_ms
        if paced:
            await _sleep_until(start_s + offset_ms / 1000.0 / speed, stop)
        if stop.is_set():
            return published
        payload = restamp_payload(message.payload, start_unix_ms + offset_ms) if restamp else message.payload
        await client.publish(topic, payload, qos=qos)
    return len(messages)


async def _sleep_until(deadline_s: float, stop: asyncio.Event) -> None:
    """Sleep until the event-loop time `deadline_s` (seconds), or until `stop` is set if that is sooner."""
    delay_s = deadline_s - asyncio.get_running_loop().time()
    if delay_s > 0.0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay_s)

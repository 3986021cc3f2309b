"""Replay recorded sensor messages to MQTT, at their recorded pace or faster, optionally re-timestamped.

The replay timeline is the recording's own: each gap between consecutive messages is divided by `speed`
and capped at `max_gap_s`. When paced, every message is published at its offset on that timeline from
the start of the pass. Restamping writes the same timeline onto the wall clock: the first message's
`timeStamp` becomes the pass's start time (unix ms) and each later one that start plus its offset. So the
stamps match the publish times, which is what downstream age checks and end-to-end latency need; at
speed 1 with no cap the recorded spacing is kept exactly. Unpaced (as fast as possible), the stamps keep
the recorded spacing (gaps capped) and so run ahead of the wall clock.
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
    max_gap_s: float | None = None,
) -> int:
    """Publish `messages` (sorted by time) to `topic` on a connected client; return how many were published.

    Each message goes out at its offset from the first divided by `speed`; speed <= 0 or math.inf means
    as fast as possible. `max_gap_s` caps each pause between consecutive messages (wall seconds; None
    keeps the recorded pauses; the recording has 74 s holes). With `loop`, passes repeat until `stop` is
    set (or the task is cancelled); otherwise one pass is made. Setting `stop` ends the replay before the
    next publish.

    Raises:
        ValueError: with `restamp`, if a payload is not a JSON object.
        aiomqtt.MqttError: if publishing fails.
    """
    stop = stop if stop is not None else asyncio.Event()
    paced = 0.0 < speed < math.inf
    schedule_ms = _schedule_ms(messages, speed if paced else 1.0, max_gap_s)
    published = 0
    while messages and not stop.is_set():
        published += await _replay_pass(client, messages, schedule_ms, topic, paced, restamp, qos, stop)
        if not loop:
            break
    return published


def _schedule_ms(messages: Sequence[RecordedMessage], speed: float, max_gap_s: float | None) -> list[float]:
    """Offset of each message from the first on the replay timeline, ms: recorded gaps / speed, capped."""
    max_gap_ms = math.inf if max_gap_s is None else max_gap_s * 1000.0
    schedule_ms = [0.0] * len(messages)
    for i in range(1, len(messages)):
        gap_ms = (messages[i].time_unix_ms - messages[i - 1].time_unix_ms) / speed
        schedule_ms[i] = schedule_ms[i - 1] + min(gap_ms, max_gap_ms)
    return schedule_ms


async def _replay_pass(
    client: aiomqtt.Client,
    messages: Sequence[RecordedMessage],
    schedule_ms: Sequence[float],
    topic: str,
    paced: bool,
    restamp: bool,
    qos: int,
    stop: asyncio.Event,
) -> int:
    """One pass: publish each message at its scheduled offset (when paced) until the end or `stop`."""
    start_s, start_unix_ms = asyncio.get_running_loop().time(), now_unix_ms()
    for published, (message, offset_ms) in enumerate(zip(messages, schedule_ms, strict=True)):
        if paced:
            await _sleep_until(start_s + offset_ms / 1000.0, stop)
        if stop.is_set():
            return published
        payload = message.payload
        if restamp:
            payload = restamp_payload(payload, start_unix_ms + round(offset_ms))
        await client.publish(topic, payload, qos=qos)
    return len(messages)


async def _sleep_until(deadline_s: float, stop: asyncio.Event) -> None:
    """Sleep until the event-loop time `deadline_s` (seconds), or until `stop` is set if that is sooner."""
    delay_s = deadline_s - asyncio.get_running_loop().time()
    if delay_s > 0.0:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay_s):
                await stop.wait()

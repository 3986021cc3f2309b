"""Tests for roadlink.samples (the packaged radar recording) and roadlink.replay.restamp_payload."""

from __future__ import annotations

import json
from typing import Any

import pytest

from roadlink.replay import DEFAULT_RADAR_TOPIC, restamp_payload
from roadlink.samples import RADAR_DEVICE_ID, RecordedMessage, load_radar_recording


def _parsed(payload: bytes) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(payload)
    return frame


def test_recording_has_500_messages_sorted_by_time() -> None:
    messages = load_radar_recording()
    assert len(messages) == 500
    times = [message.time_unix_ms for message in messages]
    assert times == sorted(times)
    assert times[0] == 1664422616000
    assert times[-1] == 1664423540000


def test_each_payload_is_one_compact_frame_with_matching_time() -> None:
    for message in load_radar_recording():
        assert isinstance(message, RecordedMessage)
        assert not message.payload.startswith(b"\xef\xbb\xbf")
        assert b", " not in message.payload
        frame = _parsed(message.payload)
        assert int(frame["timeStamp"]) == message.time_unix_ms
        assert frame["deviceId"] == RADAR_DEVICE_ID
        assert frame["number"] == len(frame["targets"])


def test_recording_holds_all_targets() -> None:
    assert sum(len(_parsed(m.payload)["targets"]) for m in load_radar_recording()) == 11165


def test_recording_is_cached_and_immutable() -> None:
    first = load_radar_recording()
    assert load_radar_recording() is first
    assert isinstance(first, tuple)
    with pytest.raises(AttributeError):
        first[0].payload = b""  # type: ignore[misc]


def test_default_topic_names_the_recorded_device() -> None:
    assert DEFAULT_RADAR_TOPIC.split("/") == ["rsu", RADAR_DEVICE_ID, "radar", "radar0"]


def test_restamp_changes_only_the_timestamp() -> None:
    original = load_radar_recording()[0].payload
    restamped = restamp_payload(original, 1_700_000_000_123)
    before, after = _parsed(original), _parsed(restamped)
    assert after["timeStamp"] == "1700000000123"
    del before["timeStamp"], after["timeStamp"]
    assert after == before
    assert list(_parsed(restamped)) == list(_parsed(original))


def test_restamp_keeps_an_integer_stamp_an_integer() -> None:
    restamped = restamp_payload(b'{"timeStamp": 5, "targets": [{"latitude": 39.07372661952244}]}', 7)
    assert restamped == b'{"timeStamp":7,"targets":[{"latitude":39.07372661952244}]}'


def test_restamp_of_the_same_time_reproduces_the_payload() -> None:
    message = load_radar_recording()[42]
    assert restamp_payload(message.payload, message.time_unix_ms) == message.payload


@pytest.mark.parametrize("payload", [b"[1, 2]", b"not json"])
def test_restamp_rejects_non_objects(payload: bytes) -> None:
    with pytest.raises(ValueError, match=r".+"):
        restamp_payload(payload, 1)

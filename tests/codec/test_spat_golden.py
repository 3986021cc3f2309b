"""Golden tests: every real J2735 SPaT capture decodes to its reference decode, maps, and re-encodes to its bytes.

Four captures of three frames: CARMA SPaT_1 and SPaT_2 (pycrate JSON decodes of the J2735 schema), and one jpo-ode
frame twice: with its asn1_codec XER decode (decoder-output-spat.xml, one trailing octet after the frame) and as
the raw UDP payload the ODE receiver test feeds in.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from roadlink.codec import DecodeError, decode_frame
from roadlink.codec.j2735_spat import (
    DecodedSpat,
    decode_spat,
    decode_spat_frame,
    decode_spat_prefix,
    decode_spat_value,
    encode_spat_frame,
    encode_spat_value,
    frame_to_signals,
)
from roadlink.domain.signal import MovementEvent, MovementPhase, MovementState, SignalPhaseAndTiming
from tests.codec import captures

ODE_RECEIVED = datetime(2024, 12, 10, 17, 34, 40, 359000, tzinfo=UTC)
"""odeReceivedAt of decoder-output-spat.xml: the reference clock for the frame that has no moy."""


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _ode_xml() -> ET.Element:
    return ET.parse(captures.DATA / "decoder-output-spat.xml").getroot()


def _ode_payload() -> bytes:
    return bytes.fromhex("".join(_ode_xml().findtext("metadata/asn1", "").split()))


def _udp_payload() -> bytes:
    return bytes.fromhex((captures.DATA / "SpatReceiverTest_ValidSPAT.txt").read_text().strip())


def _carma_reference(name: str) -> Any:
    return json.loads((captures.DATA / f"{name}_j2735decode.json").read_text())["MessageFrame"]


def _frames() -> dict[str, bytes]:
    return {
        "SPaT_1": captures.carma_hex("SPaT_1"),
        "SPaT_2": captures.carma_hex("SPaT_2"),
        "ode": _ode_payload()[:59],
        "udp": _udp_payload(),
    }


# --- decode against the reference decodes, re-encode to the same bytes ---------------------------------------------


@pytest.mark.parametrize("name", ["SPaT_1", "SPaT_2"])
def test_carma_spat_matches_the_pycrate_json_decode_in_full(name: str) -> None:
    frame = decode_spat_frame(captures.carma_hex(name))

    captures.assert_matches_pycrate_json(_carma_reference(name), frame)


@pytest.mark.parametrize("name", ["SPaT_1", "SPaT_2"])
def test_carma_spat_reencodes_to_the_same_bytes(name: str) -> None:
    data = captures.carma_hex(name)

    assert encode_spat_frame(decode_spat_frame(data)) == data


def test_ode_spat_matches_the_asn1c_xer_decode_in_full() -> None:
    payload = _ode_payload()
    frame, used = decode_spat_prefix(payload)

    assert (len(payload), used, payload[used:]) == (60, 59, b"\x00")  # one trailing zero octet in the record
    (reference,) = captures.xer_frames("decoder-output-spat.xml")
    captures.assert_matches_xer(reference, frame)
    assert encode_spat_frame(frame) == payload[:used]


def test_ode_spat_with_its_trailing_octet_is_not_one_whole_frame() -> None:
    with pytest.raises(DecodeError, match="1 trailing octets"):
        decode_spat_frame(_ode_payload())


def test_udp_spat_is_the_ode_frame_and_its_expected_record_carries_it() -> None:
    payload = _udp_payload()
    expected = json.loads((captures.DATA / "SpatReceiverTest_ValidSPAT_expected.json").read_text())

    assert expected["metadata"]["asn1"] == expected["payload"]["data"]["bytes"] == payload.hex().upper()
    assert payload == _ode_payload()[:59]
    frame = decode_spat_frame(payload)
    (reference,) = captures.xer_frames("decoder-output-spat.xml")
    captures.assert_matches_xer(reference, frame)
    assert encode_spat_frame(frame) == payload


@pytest.mark.parametrize("name", ["SPaT_1", "SPaT_2", "ode", "udp"])
def test_every_capture_round_trips_through_decode_spat(name: str) -> None:
    data = _frames()[name]
    decoded = decode_spat(data, _ms(ODE_RECEIVED))

    assert isinstance(decoded, DecodedSpat)
    assert decoded.encode() == data
    assert decoded.signals == frame_to_signals(decoded.frame, _ms(ODE_RECEIVED))


def test_our_frame_header_is_the_j2735_header() -> None:
    """messageId 19, then the open type's length octet and a complete SPAT encoding that fills it."""
    for data in _frames().values():
        frame = decode_frame(data)
        assert frame["messageId"] == 19
        length = data[2]
        assert encode_spat_value(frame["value"]) == data[3 : 3 + length]
        assert decode_spat_value(data[3 : 3 + length]) == frame["value"]
        assert 3 + length == len(data)


# --- the fields the mapping uses, spelled out, and their absolute times ---------------------------------------------


def test_spat_1_fields_and_times() -> None:
    frame = decode_spat_frame(captures.carma_hex("SPaT_1"))
    (state,) = frame["value"]["intersections"]
    assert (state["id"], state["revision"], state["status"], state["moy"]) == ({"id": 5813}, 1, (0, 16), 137825)
    assert "timeStamp" not in state
    (movement,) = state["states"]
    assert movement["signalGroup"] == 7
    (event,) = movement["state-time-speed"]
    assert event["eventState"] == "permissive-clearance"
    timing = {"startTime": 0, "minEndTime": 40, "maxEndTime": 40, "likelyTime": 40, "confidence": 15, "nextTime": 0}
    assert event["timing"] == timing

    # moy 137825 = day 95, 17:05 -> 2024-04-05T17:05Z (2024 is a leap year). No DSecond: the instant of that
    # minute closest to the reference; the TimeMarks (0.1 s of the hour) resolve around the message time.
    minute = datetime(2024, 4, 5, 17, 5, tzinfo=UTC)
    reference = minute + timedelta(seconds=42)
    hour = _ms(minute.replace(minute=0))
    (spat,) = decode_spat(captures.carma_hex("SPaT_1"), _ms(reference)).signals
    assert spat == SignalPhaseAndTiming(
        intersection_id=5813,
        time_unix_ms=_ms(reference),
        movements=(
            MovementState(
                7,
                (
                    MovementEvent(
                        MovementPhase.PERMISSIVE_CLEARANCE,
                        start_time_unix_ms=hour,
                        min_end_time_unix_ms=hour + 4000,
                        max_end_time_unix_ms=hour + 4000,
                        likely_end_time_unix_ms=hour + 4000,
                        confidence=15,
                        next_time_unix_ms=hour,
                    ),
                ),
            ),
        ),
        region=None,
        revision=1,
        status_flags=0,
        name="",
    )
    # A reference in another minute: the message time is the closest end of moy's minute.
    (later,) = decode_spat(captures.carma_hex("SPaT_1"), _ms(minute + timedelta(hours=3))).signals
    assert later.time_unix_ms == _ms(minute) + 59_999


def test_spat_2_fields_and_times() -> None:
    data = captures.carma_hex("SPaT_2")
    (state,) = decode_spat_frame(data)["value"]["intersections"]
    assert state["name"] == "Intersection"
    assert (state["id"], state["revision"], state["status"]) == ({"id": 1}, 1, (0b0000000010000000, 16))
    assert (state["moy"], state["timeStamp"]) == (349345, 477)
    groups = [m["signalGroup"] for m in state["states"]]
    assert groups == [1, 2, 22, 3, 4, 24, 5, 6, 26, 7, 8, 28]

    # moy 349345 = day 242, 14:25 -> 2023-08-31T14:25Z; + 477 ms. Reference a day later: same year.
    message = datetime(2023, 8, 31, 14, 25, 0, 477000, tzinfo=UTC)
    (spat,) = decode_spat(data, _ms(message + timedelta(days=1))).signals
    assert (spat.intersection_id, spat.name, spat.revision, spat.status_flags) == (1, "Intersection", 1, 0x80)
    assert spat.time_unix_ms == _ms(message)
    hour = _ms(message.replace(minute=0, second=0, microsecond=0))
    for movement in spat.movements:
        (event,) = movement.events
        assert event.phase is MovementPhase.STOP_AND_REMAIN
        if movement.signal_group in (2, 4, 6, 8):  # minEndTime = maxEndTime = 15022
            assert event.min_end_time_unix_ms == event.max_end_time_unix_ms == hour + 1_502_200
        else:  # minEndTime 15004 only
            assert event.min_end_time_unix_ms == hour + 1_500_400
            assert event.max_end_time_unix_ms is None
        assert (event.start_time_unix_ms, event.likely_end_time_unix_ms, event.confidence) == (None, None, None)


def test_ode_spat_fields_and_times() -> None:
    (state,) = decode_spat_frame(_udp_payload())["value"]["intersections"]
    assert (state["id"], state["revision"], state["status"], state["timeStamp"]) == ({"id": 12111}, 0, (0, 16), 35176)
    assert "moy" not in state

    # No moy: timeStamp 35176 ms is resolved in the minute closest to the receive time 17:34:40.359.
    (spat,) = decode_spat(_udp_payload(), _ms(ODE_RECEIVED)).signals
    assert spat.time_unix_ms == _ms(datetime(2024, 12, 10, 17, 34, 35, 176000, tzinfo=UTC))
    hour = _ms(datetime(2024, 12, 10, 17, tzinfo=UTC))
    expected = {
        2: (MovementPhase.PROTECTED_MOVEMENT_ALLOWED, 22120, 22121),
        4: (MovementPhase.STOP_AND_REMAIN, 22181, 22181),
        6: (MovementPhase.PROTECTED_MOVEMENT_ALLOWED, 22120, 22121),
        8: (MovementPhase.STOP_AND_REMAIN, 21852, 21852),
        1: (MovementPhase.STOP_AND_REMAIN, 21852, 21852),
        5: (MovementPhase.STOP_AND_REMAIN, 21852, 21852),
    }
    assert [m.signal_group for m in spat.movements] == list(expected)
    for movement in spat.movements:
        phase, min_end, max_end = expected[movement.signal_group]
        assert movement.events == (
            MovementEvent(phase, min_end_time_unix_ms=hour + min_end * 100, max_end_time_unix_ms=hour + max_end * 100),
        )

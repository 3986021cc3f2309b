"""CSAE BSM / RSM / SPAT -> domain objects in SI units, and back to the original octets.

The real frames map to the values their reference decodes imply (scaled by hand here), and every frame comes
back byte-exact through decode -> v1 -> encode with the decoded value as the template. Without a template the
v1 object alone is encoded, decoded and mapped again, and must give the same v1 object: the inverse scaling
is exact for everything v1 holds.
"""

from __future__ import annotations

import calendar
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from roadlink.codec import csae
from roadlink.codec.csae_mapping import (
    absolute_position,
    bsm_to_vehicle_state,
    object_class_of,
    offset_position,
    perception_frame_to_rsm,
    rsm_to_perception_frame,
    signals_to_spat,
    spat_to_signals,
    vehicle_state_to_bsm,
)
from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import ValidationError
from roadlink.domain.signal import MovementPhase
from roadlink.domain.spatial import Position
from roadlink.domain.vehicle import TransmissionState
from tests.codec.strategies import values
from tests.codec.test_csae_golden import frames

NOW_MS = calendar.timegm((2022, 11, 15, 0, 0, 0)) * 1000
"""A reference clock near the captures' minute of the year (458335 = Nov 15, 06:55 UTC in a common year)."""
SPAT_MS = calendar.timegm((2022, 1, 1, 0, 0, 0)) * 1000 + 458335 * 60_000 + 5238


def _decoded(kind: str) -> list[tuple[bytes, Any]]:
    out = []
    for _, data in frames():
        alt, value = csae.decode_frame(data)
        if alt == kind:
            out.append((data, value))
    return out


def test_real_bsm_maps_to_si_units() -> None:
    (_, bsm), _ = _decoded("bsmFrame")
    state = bsm_to_vehicle_state(bsm, NOW_MS + 5_000)
    assert state.temporary_id == bytes.fromhex("bea9423838383838")
    assert state.time_unix_ms == NOW_MS + 9_500
    assert state.position == Position(39.9764645, 116.3509503, 37.5)
    assert state.message_count == 117
    assert state.speed_mps == 0.0
    assert state.heading_deg == pytest.approx(77.0125)
    assert state.longitudinal_acceleration_mps2 is None
    assert state.vertical_acceleration_mps2 is None
    assert state.yaw_rate_deg_per_s == 0.0
    assert state.transmission == TransmissionState.UNSPECIFIED
    assert state.size is not None
    assert (state.size.length_m, state.size.width_m, state.size.height_m) == (4.5, 1.5, None)
    assert state.vehicle_class == ObjectClass.PASSENGER_CAR


@pytest.mark.parametrize("index", [0, 1])
def test_bsm_round_trips_byte_exact_through_v1(index: int) -> None:
    data, bsm = _decoded("bsmFrame")[index]
    state = bsm_to_vehicle_state(bsm, NOW_MS)
    assert csae.encode_frame(("bsmFrame", vehicle_state_to_bsm(state, bsm))) == data
    fresh = csae.decode_frame(csae.encode_frame(("bsmFrame", vehicle_state_to_bsm(state))))
    assert bsm_to_vehicle_state(fresh[1], NOW_MS) == state


def test_real_rsm_maps_to_a_perception_frame() -> None:
    [(_, rsm)] = _decoded("rsmFrame")
    frame = rsm_to_perception_frame(rsm, NOW_MS)
    assert frame.source_id == "3132333435000000"
    assert frame.frame_sequence == 1
    assert frame.reference_position == Position(39.0, 116.0, None)
    [obj] = frame.objects
    assert obj.object_id == 1
    assert obj.object_class == ObjectClass.BICYCLE
    assert obj.position == Position(29.7241937, 107.4134465, None)
    assert obj.speed_mps == pytest.approx(5.16)
    assert obj.heading_deg == pytest.approx(169.45)
    assert obj.size is None
    assert obj.sensor_ids == ("video",)
    assert obj.measurement_time_unix_ms == NOW_MS + 12_902 == frame.time_unix_ms


def test_rsm_round_trips_byte_exact_through_v1() -> None:
    [(data, rsm)] = _decoded("rsmFrame")
    frame = rsm_to_perception_frame(rsm, NOW_MS)
    assert csae.encode_frame(("rsmFrame", perception_frame_to_rsm(frame, rsm["id"], rsm))) == data
    fresh = csae.decode_frame(csae.encode_frame(("rsmFrame", perception_frame_to_rsm(frame, rsm["id"]))))
    again = rsm_to_perception_frame(fresh[1], NOW_MS)
    assert again.objects == frame.objects
    assert fresh[1]["participants"][0]["pos"]["offsetLL"][0] == "position-LatLon"  # 10 deg away: no offset fits


def test_real_spat_countdowns_become_absolute_times() -> None:
    [(_, spat)] = _decoded("spatFrame")
    [signal] = spat_to_signals(spat, SPAT_MS + 40_000)
    assert signal.time_unix_ms == SPAT_MS
    assert (signal.intersection_id, signal.region, signal.status_flags) == (9, 255, 0x0400)
    first = signal.movements[0]
    assert first.signal_group == 33
    green, yellow, red = first.events
    assert green.phase == MovementPhase.PERMISSIVE_MOVEMENT_ALLOWED
    assert (green.start_time_unix_ms, green.likely_end_time_unix_ms) == (SPAT_MS, SPAT_MS + 3_000)
    assert green.next_time_unix_ms == SPAT_MS + 3_000
    assert yellow.phase == MovementPhase.PROTECTED_CLEARANCE
    assert red.phase == MovementPhase.STOP_AND_REMAIN
    assert signal.movements[2].events[0].likely_end_time_unix_ms == SPAT_MS + 46_000


def test_spat_round_trips_byte_exact_through_v1() -> None:
    [(data, spat)] = _decoded("spatFrame")
    signals = spat_to_signals(spat, SPAT_MS)
    assert csae.encode_frame(("spatFrame", signals_to_spat(signals, spat["msgCnt"], spat))) == data
    fresh = csae.decode_frame(csae.encode_frame(("spatFrame", signals_to_spat(signals, spat["msgCnt"]))))
    assert spat_to_signals(fresh[1], SPAT_MS) == signals


def test_light_states_are_a_bijection_on_movement_phases() -> None:
    lights = csae.LightState.root
    spat = {
        "msgCnt": 0,
        "intersections": [
            {
                "intersectionId": {"id": 1},
                "status": (0, 16),
                "moy": 458335,
                "timeStamp": 0,
                "phases": [{"id": 1, "phaseStates": [{"light": name} for name in lights]}],
            }
        ],
    }
    [signal] = spat_to_signals(spat, SPAT_MS)
    phases = [e.phase for e in signal.movements[0].events]
    assert len(set(phases)) == len(lights)
    back = signals_to_spat([signal], 0)
    assert [s["light"] for s in back["intersections"][0]["phases"][0]["phaseStates"]] == list(lights)


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (0, ObjectClass.UNKNOWN),
        (10, ObjectClass.PASSENGER_CAR),
        (27, ObjectClass.TRUCK),
        (55, ObjectClass.BUS),
        (61, ObjectClass.EMERGENCY_VEHICLE),
        (84, ObjectClass.BICYCLE),
        (72, ObjectClass.VEHICLE),
        (90, ObjectClass.UNKNOWN),
    ],
)
def test_basic_vehicle_classes(code: int, cls: ObjectClass) -> None:
    assert object_class_of(code) == cls


def test_offsets_pick_the_smallest_alternative_and_invert() -> None:
    ref = {"lat": 280988051, "long": 1129829511, "elevation": 100}
    for dlat, alt in ((5, "position-LL1"), (3000, "position-LL2"), (-2_000_000, "position-LL5")):
        position = Position((ref["lat"] + dlat) / 1e7, (ref["long"] - dlat) / 1e7, 12.3)
        value = offset_position(position, ref)
        assert value["offsetLL"][0] == alt
        assert value["offsetV"] == ("offset1", 23)
        assert absolute_position(value, ref) == position


def test_unavailable_position_is_rejected() -> None:
    (_, bsm), _ = _decoded("bsmFrame")
    bad = dict(bsm, pos={"lat": 900000001, "long": 0})
    with pytest.raises(ValidationError) as caught:
        bsm_to_vehicle_state(bad, NOW_MS)
    assert caught.value.reason == "position_unavailable"


# --- lossless: any decoded value -> v1 -> back with the value as template gives the value again --------------------

PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@PROPERTY
@given(values(csae.BasicSafetyMessage))
def test_any_bsm_comes_back_through_v1(bsm: dict[str, Any]) -> None:
    try:
        state = bsm_to_vehicle_state(bsm, NOW_MS)
    except ValidationError:
        return  # unavailable position or reserved secMark: no VehicleState to go through
    assert vehicle_state_to_bsm(state, bsm) == bsm


@PROPERTY
@given(values(csae.RoadsideSafetyMessage))
def test_any_rsm_comes_back_through_v1(rsm: dict[str, Any]) -> None:
    try:
        frame = rsm_to_perception_frame(rsm, NOW_MS)
    except ValidationError:
        return
    assert perception_frame_to_rsm(frame, rsm["id"], rsm) == rsm


@settings(PROPERTY, max_examples=30)  # nested lists: ~0.2 s an example to generate
@given(values(csae.SPAT))
def test_any_spat_comes_back_through_v1(spat: dict[str, Any]) -> None:
    try:
        signals = spat_to_signals(spat, NOW_MS)
    except ValidationError:
        return
    assert signals_to_spat(signals, spat["msgCnt"], spat) == spat

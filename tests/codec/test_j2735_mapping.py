"""Decoded BSM -> VehicleState in SI units, checked end to end against the ODE JSON twin of the 222-BSM log."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from roadlink.codec import bsm_to_vehicle_state, decode_frame, frame_to_vehicle_state, resolve_sec_mark
from roadlink.codec.j2735_mapping import STANDARD_GRAVITY_MPS2
from roadlink.domain.errors import ValidationError
from roadlink.domain.spatial import Dimensions, PositionAccuracy
from roadlink.domain.vehicle import TransmissionState
from tests.codec import captures

EXACT = 1e-9  # the twin prints the same decimal scalings; only float representation differs


def _by_key() -> dict[tuple[str, int, int], dict[str, Any]]:
    out = {}
    for obj in captures.log_json():
        data = obj["payload"]["data"]
        core = data["coreData"]
        out[(core["id"].lower(), core["msgCnt"], core["secMark"])] = data
    return out


def test_all_222_log_bsms_map_to_the_si_values_of_the_json_twin() -> None:
    twins = _by_key()
    for record in captures.log_records():
        bsm = decode_frame(record.frame)["value"]
        state = bsm_to_vehicle_state(bsm, record.utc_ms)
        core = bsm["coreData"]
        twin = twins[(state.vehicle_id, state.message_count, core["secMark"])]
        ref = twin["coreData"]
        where = f"record at {record.offset}"
        assert state.temporary_id.hex() == ref["id"].lower(), where
        assert state.position.latitude_deg == pytest.approx(ref["position"]["latitude"], abs=EXACT), where
        assert state.position.longitude_deg == pytest.approx(ref["position"]["longitude"], abs=EXACT), where
        assert state.position.elevation_m == pytest.approx(ref["position"]["elevation"], abs=EXACT), where
        assert state.speed_mps == pytest.approx(ref["speed"], abs=EXACT), where
        assert state.heading_deg == pytest.approx(ref["heading"], abs=EXACT), where
        accel = ref["accelSet"]
        assert state.longitudinal_acceleration_mps2 == pytest.approx(accel["accelLong"], abs=EXACT), where
        assert state.lateral_acceleration_mps2 == pytest.approx(accel["accelLat"], abs=EXACT), where
        assert state.vertical_acceleration_mps2 == pytest.approx(accel["accelVert"], abs=EXACT), where
        assert state.yaw_rate_deg_per_s == pytest.approx(accel["accelYaw"], abs=EXACT), where
        assert state.accuracy is not None
        assert state.accuracy.semi_major_m == pytest.approx(ref["accuracy"]["semiMajor"], abs=EXACT), where
        assert state.accuracy.semi_minor_m == pytest.approx(ref["accuracy"]["semiMinor"], abs=EXACT), where
        assert state.accuracy.semi_major_orientation_deg is None  # 65535 in every record; the twin omits it
        # The twin says NEUTRAL, but every record carries transmission 7 (unavailable): asn1c's reference decode
        # of the decoder-output BSM from the same on-board units reads it as unavailable too.
        assert ref["transmission"] == "NEUTRAL"
        assert core["transmission"] == "unavailable", where
        assert state.transmission is TransmissionState.UNSPECIFIED, where
        assert state.size == Dimensions(ref["size"]["length"] / 100, ref["size"]["width"] / 100), where
        assert state.steering_wheel_angle_deg is None  # 127 = unavailable in every record
        _assert_crumbs_in_si(bsm, twin, where)


def _assert_crumbs_in_si(bsm: dict[str, Any], twin: dict[str, Any], where: str) -> None:
    """Path history in the twin is scaled too: offsets 1e-7 deg and 0.1 m, time 10 ms."""
    ours = bsm["partII"][0]["partII-Value"]["pathHistory"]["crumbData"]
    ref = twin["partII"][0]["value"]["pathHistory"]["crumbData"]
    assert len(ours) == len(ref), where
    for point, ref_point in zip(ours, ref, strict=True):
        assert point["latOffset"] / 1e7 == pytest.approx(ref_point["latOffset"], abs=1e-12), where
        assert point["lonOffset"] / 1e7 == pytest.approx(ref_point["lonOffset"], abs=1e-12), where
        assert point["elevationOffset"] / 10 == pytest.approx(ref_point["elevationOffset"], abs=EXACT), where
        assert point["timeOffset"] / 100 == pytest.approx(ref_point["timeOffset"], abs=EXACT), where


def test_log_times_resolve_next_to_the_log_record_time() -> None:
    for record in captures.log_records():
        state = frame_to_vehicle_state(decode_frame(record.frame), record.utc_ms)
        assert state.time_unix_ms % 60_000 == decode_frame(record.frame)["value"]["coreData"]["secMark"]
        assert abs(state.time_unix_ms - record.utc_ms) < 1000, f"record at {record.offset}"


def test_first_log_record_in_full() -> None:
    record = captures.log_records()[0]
    state = frame_to_vehicle_state(decode_frame(record.frame), record.utc_ms)
    assert record.utc_ms == 1525190650_894  # 2018-05-01T16:04:10.894Z
    assert state.temporary_id == bytes.fromhex("31325433")
    assert state.message_count == 81
    assert state.time_unix_ms == 1525190650_894  # secMark 10894
    assert state.position.latitude_deg == pytest.approx(40.5657881, abs=EXACT)
    assert state.position.longitude_deg == pytest.approx(-105.0316411, abs=EXACT)
    assert state.position.elevation_m == pytest.approx(1497.5)
    assert state.speed_mps == pytest.approx(0.22)
    assert state.heading_deg == pytest.approx(205.975)
    assert state.accuracy == PositionAccuracy(9.3, 12.05, None)
    assert state.size == Dimensions(5.7, 1.9)


# --- unavailable codes and edge cases -------------------------------------------------------------------------------


def _carma_bsm(name: str = "BSM_2") -> dict[str, Any]:
    bsm: dict[str, Any] = decode_frame(captures.carma_hex(name))["value"]
    return copy.deepcopy(bsm)


def test_carma_bsm_2_scaling() -> None:
    state = bsm_to_vehicle_state(_carma_bsm(), 50_000)
    assert state.position.latitude_deg == pytest.approx(38.9566368, abs=EXACT)
    assert state.position.longitude_deg == pytest.approx(-77.1492276, abs=EXACT)
    assert state.position.elevation_m == pytest.approx(40.8)
    assert state.speed_mps == pytest.approx(6.76)
    assert state.heading_deg == pytest.approx(351.35)
    assert state.steering_wheel_angle_deg == pytest.approx(-151.5)
    assert state.longitudinal_acceleration_mps2 == pytest.approx(-0.58)
    assert state.lateral_acceleration_mps2 == pytest.approx(-2.5)
    assert state.vertical_acceleration_mps2 is None
    assert state.yaw_rate_deg_per_s == pytest.approx(-20.43)
    assert state.accuracy == PositionAccuracy(0.4, 0.4, 0.0)
    assert state.transmission is TransmissionState.FORWARD_GEARS
    assert state.size == Dimensions(3.14, 1.59)
    assert state.time_unix_ms == 46864


def test_unavailable_codes_become_none() -> None:
    bsm = _carma_bsm()
    core = bsm["coreData"]
    core.update(elev=-4096, speed=8191, heading=28800, angle=127, transmission="unavailable")
    core["accelSet"].update(long=2001, lat=2001, vert=-127)
    core["accuracy"].update(semiMajor=255)
    core["size"].update(width=0)
    state = bsm_to_vehicle_state(bsm, 0)
    assert state.position.elevation_m is None
    assert state.speed_mps is None
    assert state.heading_deg is None
    assert state.steering_wheel_angle_deg is None
    assert state.longitudinal_acceleration_mps2 is None
    assert state.lateral_acceleration_mps2 is None
    assert state.vertical_acceleration_mps2 is None
    assert state.accuracy is None
    assert state.size is None
    assert state.transmission is TransmissionState.UNSPECIFIED


def test_vertical_acceleration_and_orientation_scaling() -> None:
    bsm = _carma_bsm()
    bsm["coreData"]["accelSet"]["vert"] = 50  # 1 g
    bsm["coreData"]["accuracy"]["orientation"] = 65534
    state = bsm_to_vehicle_state(bsm, 0)
    assert state.vertical_acceleration_mps2 == pytest.approx(STANDARD_GRAVITY_MPS2)
    assert state.accuracy is not None
    assert state.accuracy.semi_major_orientation_deg == pytest.approx(360 * 65534 / 65535)


@pytest.mark.parametrize(("code", "state"), [("neutral", 1), ("park", 2), ("reverseGears", 4), ("reserved2", 0)])
def test_transmission_codes(code: str, state: int) -> None:
    bsm = _carma_bsm()
    bsm["coreData"]["transmission"] = code
    assert bsm_to_vehicle_state(bsm, 0).transmission == state


@pytest.mark.parametrize("field", ["lat", "long"])
def test_unavailable_position_is_rejected(field: str) -> None:
    bsm = _carma_bsm()
    bsm["coreData"][field] = {"lat": 900000001, "long": 1800000001}[field]
    with pytest.raises(ValidationError) as info:
        bsm_to_vehicle_state(bsm, 0)
    assert info.value.reason == "position_unavailable"


def test_frame_that_is_not_a_bsm_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        frame_to_vehicle_state({"messageId": 19, "value": b""}, 0)
    assert info.value.reason == "wrong_message"


@pytest.mark.parametrize(
    ("sec_mark", "reference", "expected"),
    [
        (30_000, 1_700_000_060_000, 1_700_000_070_000),  # same minute
        (59_900, 1_700_000_040_100, 1_700_000_039_900),  # reference just past a minute boundary: previous minute
        (100, 1_700_000_039_900, 1_700_000_040_100),  # reference just before a boundary: next minute
        (60_500, 1_700_000_039_000, 1_700_000_039_999),  # leap second: the minute's last millisecond
        (65535, 1_700_000_012_345, 1_700_000_012_345),  # unavailable: the reference itself
    ],
)
def test_resolve_sec_mark(sec_mark: int, reference: int, expected: int) -> None:
    assert 1_700_000_040_000 % 60_000 == 0  # a minute boundary
    assert resolve_sec_mark(sec_mark, reference) == expected


def test_resolve_sec_mark_rejects_reserved_values() -> None:
    with pytest.raises(ValidationError) as info:
        resolve_sec_mark(61_000, 0)
    assert info.value.reason == "out_of_range"

"""ETSI CAM and DENM: our engine (types translated from pycrate's ETSI modules) against pycrate, and the mapping.

The synthetic CAM vector decodes to its stated values and re-encodes byte-exact; random values over the whole
CAM and DENM value spaces encode to exactly pycrate's bytes and decode back; damaged frames fail only with
DecodeError. The mapping tests check the SI scaling and the TAI-based TimestampIts.
"""

from __future__ import annotations

import calendar
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from v2x.roadside.v1 import info_pb2

from roadlink.codec import etsi
from roadlink.codec.errors import DecodeError, EncodeError
from roadlink.codec.etsi_mapping import (
    ITS_EPOCH_UNIX_MS,
    cam_to_vehicle_state,
    denm_is_termination,
    denm_to_road_side_info,
    resolve_generation_delta_time,
    road_side_info_to_denm,
    timestamp_its_to_unix_ms,
    unix_ms_to_timestamp_its,
    vehicle_state_to_cam,
)
from roadlink.codec.uper import AsnType, Choice, Enumerated, IA5String, Sequence, SequenceOf, UTF8String
from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import ValidationError
from roadlink.domain.vehicle import TransmissionState
from tests.codec import strategies

pytestmark = pytest.mark.timeout(120)

DATA = Path(__file__).resolve().parent.parent / "data" / "etsi"
FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
UTC_2022_MS = calendar.timegm((2022, 6, 1, 12, 0, 0)) * 1000


def values(t: AsnType) -> st.SearchStrategy[Any]:
    """tests.codec.strategies.values, plus NumericString (DENM phone numbers), which it does not know, and
    restricted to what pycrate accepts: no unknown enumeration extensions, printable strings of at least one
    character (pycrate checks UTF8String sizes, which are not PER-visible, and refuses control characters)."""
    if isinstance(t, etsi.NumericString):
        lb, ub = t.size.lb, t.size.ub if t.size.ub is not None else t.size.lb + strategies.MAX_ITEMS
        return st.text(alphabet=etsi.NumericString.ALPHABET, min_size=lb, max_size=min(ub, lb + strategies.MAX_ITEMS))
    if isinstance(t, IA5String | UTF8String):  # pycrate refuses control characters and checks UTF8 sizes (1..)
        size = t.size if isinstance(t, IA5String) else None
        lb = max(size.lb, 1) if size is not None else 1
        ub = min(size.ub, lb + 3) if size is not None and size.ub is not None else lb + 3
        return st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=lb, max_size=ub)
    if isinstance(t, Enumerated):  # names only: pycrate cannot encode an unknown extension index
        return st.sampled_from(t.root + (t.extensions or ()))
    if isinstance(t, Sequence):
        fields = {f.name: values(f.type) for f in t.fields if not f.is_optional}
        optional = {f.name: values(f.type) for f in t.fields + t.extensions if f.is_optional or f in t.extensions}
        return st.fixed_dictionaries(fields, optional=optional)
    if isinstance(t, SequenceOf):
        size = t.size
        upper = size.lb + strategies.MAX_ITEMS if size.ub is None else min(size.ub, size.lb + strategies.MAX_ITEMS)
        return st.lists(values(t.element), min_size=size.lb, max_size=upper)
    if isinstance(t, Choice):
        return st.one_of([st.tuples(st.just(n), values(a)) for n, a in t.alternatives + t.extensions])
    return strategies.values(t)


@cache
def cam_vector() -> tuple[bytes, dict[str, Any]]:
    [cam] = [v for v in json.loads((DATA / "etsi_vectors.json").read_text())["vectors"] if v["pdu"] == "CAM"]
    return bytes.fromhex(cam["uper_hex"]), cam["value"]


def _json(value: Any) -> Any:
    """Our value in JSON terms (CHOICE tuples as lists), as the vector file writes it."""
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def denm_value(**management: Any) -> dict[str, Any]:
    """A DENM: stationary vehicle (cause 94, sub 2) detected at a known TimestampIts, with one trace."""
    reference = {
        "latitude": 481234567,
        "longitude": 115678901,
        "positionConfidenceEllipse": {"semiMajorConfidence": 100, "semiMinorConfidence": 50, "semiMajorOrientation": 0},
        "altitude": {"altitudeValue": 52000, "altitudeConfidence": "alt-001-00"},
    }
    its = unix_ms_to_timestamp_its(UTC_2022_MS)
    point = {"pathPosition": {"deltaLatitude": -100, "deltaLongitude": 200, "deltaAltitude": 50}}
    return {
        "header": {"protocolVersion": 2, "messageID": 1, "stationID": 77},
        "denm": {
            "management": {
                "actionID": {"originatingStationID": 77, "sequenceNumber": 9},
                "detectionTime": its - 2000,
                "referenceTime": its,
                "eventPosition": reference,
                "relevanceDistance": "lessThan200m",
                "validityDuration": 120,
                "stationType": 5,
                **management,
            },
            "situation": {"informationQuality": 7, "eventType": {"causeCode": 94, "subCauseCode": 2}},
            "location": {"traces": [[point, point]]},
        },
    }


def test_cam_vector_decodes_to_its_values_and_re_encodes() -> None:
    data, value = cam_vector()
    ours = etsi.decode_cam(data)
    assert _json(ours) == value
    assert ours == etsi.decode_pycrate("CAM", data)
    assert etsi.encode_cam(ours) == data
    assert etsi.decode_pdu(data) == (etsi.CAM_MESSAGE_ID, ours)


@FAST
@given(values(etsi.CAM))
def test_any_cam_encodes_to_pycrates_bytes(value: dict[str, Any]) -> None:
    ours = etsi.CAM.encode(value)
    assert ours == etsi.encode_pycrate("CAM", value)
    assert etsi.CAM.decode(ours) == value


@FAST
@given(values(etsi.DENM))
def test_any_denm_encodes_to_pycrates_bytes(value: dict[str, Any]) -> None:
    ours = etsi.DENM.encode(value)
    assert ours == etsi.encode_pycrate("DENM", value)
    assert etsi.DENM.decode(ours) == value


@FAST
@given(st.data())
def test_damaged_cams_fail_only_with_decode_error(data: st.DataObject) -> None:
    frame = bytearray(cam_vector()[0])
    for _ in range(data.draw(st.integers(1, 3))):
        bit = data.draw(st.integers(0, 8 * len(frame) - 1))
        frame[bit // 8] ^= 0x80 >> (bit % 8)
    cut = data.draw(st.integers(0, len(frame)))
    try:
        value = etsi.CAM.decode(bytes(frame[:cut]))
    except DecodeError:
        return
    assert etsi.CAM.encode(value) == bytes(frame[:cut])


def test_header_dispatch_and_errors() -> None:
    data, _ = cam_vector()
    with pytest.raises(DecodeError, match="neither"):
        etsi.decode_pdu(data[:1] + b"\x05" + data[2:])
    with pytest.raises(DecodeError, match="expected 1"):
        etsi.decode_denm(data)
    with pytest.raises(EncodeError):
        etsi.encode_pdu({"header": {"messageID": 7}})
    with pytest.raises(DecodeError, match="pycrate"):
        etsi.decode_pycrate("CAM", b"\x02")
    denm = denm_value()
    assert etsi.decode_pdu(etsi.encode_pdu(denm)) == (etsi.DENM_MESSAGE_ID, denm)


# --- mapping ----------------------------------------------------------------------------------------------------------


def test_timestamp_its_counts_tai_since_2004() -> None:
    assert unix_ms_to_timestamp_its(ITS_EPOCH_UNIX_MS) == 0
    utc_2022 = calendar.timegm((2022, 1, 1, 0, 0, 0)) * 1000
    assert unix_ms_to_timestamp_its(utc_2022) == utc_2022 - ITS_EPOCH_UNIX_MS + 5000  # 5 leap seconds since 2004
    for unix_ms in (ITS_EPOCH_UNIX_MS, utc_2022, calendar.timegm((2012, 6, 30, 23, 59, 59)) * 1000 + 999):
        assert timestamp_its_to_unix_ms(unix_ms_to_timestamp_its(unix_ms)) == unix_ms


@pytest.mark.parametrize("offset_ms", [-32_000, -1, 0, 1, 32_000])
def test_generation_delta_time_resolves_near_the_reference(offset_ms: int) -> None:
    sent = UTC_2022_MS + offset_ms
    gdt = unix_ms_to_timestamp_its(sent) % 65536
    assert resolve_generation_delta_time(gdt, UTC_2022_MS) == sent


def test_cam_maps_to_a_vehicle_state_in_si_units() -> None:
    data, _ = cam_vector()
    state = cam_to_vehicle_state(etsi.decode_cam(data), UTC_2022_MS)
    assert state.temporary_id == (1234567).to_bytes(4, "big")
    assert unix_ms_to_timestamp_its(state.time_unix_ms) % 65536 == 40000
    assert abs(state.time_unix_ms - UTC_2022_MS) <= 32768
    assert (state.position.latitude_deg, state.position.longitude_deg) == (39.9081234, 116.3975123)
    assert state.position.elevation_m == pytest.approx(45.2)
    assert state.accuracy is not None
    assert (state.accuracy.semi_major_m, state.accuracy.semi_minor_m) == (0.5, 0.4)
    assert state.accuracy.semi_major_orientation_deg == pytest.approx(90.0)
    assert state.heading_deg == pytest.approx(90.0)
    assert state.speed_mps == pytest.approx(13.89)
    assert state.transmission == TransmissionState.FORWARD_GEARS
    assert state.size is not None
    assert (state.size.length_m, state.size.width_m) == (4.5, 1.8)
    assert state.longitudinal_acceleration_mps2 == pytest.approx(0.5)
    assert state.yaw_rate_deg_per_s == 0.0
    assert state.lateral_acceleration_mps2 is None
    assert state.vehicle_class == ObjectClass.PASSENGER_CAR


def test_cam_with_unavailable_position_is_rejected() -> None:
    value = etsi.decode_cam(cam_vector()[0])
    value["cam"]["camParameters"]["basicContainer"]["referencePosition"]["latitude"] = 900000001
    with pytest.raises(ValidationError) as caught:
        cam_to_vehicle_state(value, UTC_2022_MS)
    assert caught.value.reason == "position_unavailable"


def test_denm_maps_to_road_side_info() -> None:
    denm = etsi.decode_denm(etsi.encode_denm(denm_value()))
    info = denm_to_road_side_info(denm)
    assert (info.source_id, info.message_count, info.time_unix_ms) == ("77", 9, UTC_2022_MS)
    [event] = info.events
    assert (event.event_id, event.event_type, event.code_system) == (9, 94 * 256 + 2, info_pb2.CODE_SYSTEM_ETSI_CAUSE)
    assert (event.position.latitude_deg, event.position.elevation_m) == (48.1234567, 520.0)
    assert event.radius_m == 200.0
    assert event.confidence == 1.0
    assert (event.validity.start_time_unix_ms, event.validity.end_time_unix_ms) == (
        UTC_2022_MS - 2000,
        UTC_2022_MS - 2000 + 120_000,
    )
    [path] = event.reference_paths
    assert [(p.latitude_deg, p.longitude_deg, p.elevation_m) for p in path.points] == [
        (48.1234467, 11.5679101, 520.5),
        (48.1234367, 11.5679301, 521.0),
    ]
    assert not denm_is_termination(denm)
    assert denm_is_termination(denm_value(termination="isCancellation"))


@FAST
@given(values(etsi.CAM))
def test_any_cam_comes_back_through_v1(cam: dict[str, Any]) -> None:
    try:
        state = cam_to_vehicle_state(cam, UTC_2022_MS)
    except ValidationError:
        return  # unavailable position: no VehicleState
    assert vehicle_state_to_cam(state, cam) == cam


def test_cam_vector_through_v1_without_template() -> None:
    data, _ = cam_vector()
    state = cam_to_vehicle_state(etsi.decode_cam(data), UTC_2022_MS)
    assert etsi.encode_cam(vehicle_state_to_cam(state, etsi.decode_cam(data))) == data
    fresh = etsi.encode_cam(vehicle_state_to_cam(state))
    assert cam_to_vehicle_state(etsi.decode_cam(fresh), UTC_2022_MS) == state


@FAST
@given(values(etsi.DENM))
def test_any_denm_comes_back_through_v1(denm: dict[str, Any]) -> None:
    try:
        info = denm_to_road_side_info(denm)
    except ValidationError:
        return  # unavailable event position
    assert road_side_info_to_denm(info, denm) == denm


def test_denm_through_v1_without_template() -> None:
    info = denm_to_road_side_info(denm_value())
    fresh = etsi.decode_denm(etsi.encode_denm(road_side_info_to_denm(info)))
    assert denm_to_road_side_info(fresh) == info
    with pytest.raises(ValidationError, match="no ETSI station id"):
        road_side_info_to_denm(info_pb2.RoadSideInfo(source_id="rsu-7", events=[info_pb2.RoadEvent()]))
    with pytest.raises(ValidationError, match="none"):
        road_side_info_to_denm(info_pb2.RoadSideInfo(source_id="77"))

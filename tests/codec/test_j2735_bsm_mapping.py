"""VehicleState -> J2735 BSM: exact over every real BSM with the decoded value as template, and from v1 alone."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from roadlink.codec import decode_frame, encode_frame, split_frames
from roadlink.codec.j2735_mapping import bsm_to_vehicle_state, vehicle_state_to_bsm
from roadlink.domain.vehicle import VehicleState
from tests.codec import captures

REFERENCE = 1_700_000_000_000


def _bsms() -> list[tuple[dict[str, Any], int]]:
    stream = [
        (frame["value"], REFERENCE) for _, frame in split_frames(captures.read("j2735.MessageFrame.128.bsms.uper"))
    ]
    log = [(decode_frame(r.frame)["value"], r.utc_ms) for r in captures.log_records()]
    carma = [(decode_frame(captures.carma_hex(n))["value"], REFERENCE) for n in ("BSM_1", "BSM_2")]
    return stream + log + carma


def test_every_real_bsm_re_encodes_exactly_with_its_decoded_value_as_template() -> None:
    bsms = _bsms()
    assert len(bsms) == 128 + 222 + 2
    differing = []
    for value, reference in bsms:
        state = bsm_to_vehicle_state(value, reference)
        if vehicle_state_to_bsm(state, value) != value:
            differing.append(value["coreData"]["id"].hex())
    assert differing == []


def test_without_a_template_the_core_data_maps_back_to_the_same_state() -> None:
    for value, reference in _bsms():
        state = bsm_to_vehicle_state(value, reference)
        fresh = vehicle_state_to_bsm(state)
        assert set(fresh) == {"coreData"}
        data = encode_frame({"messageId": 20, "value": fresh})
        assert bsm_to_vehicle_state(decode_frame(data)["value"], state.time_unix_ms) == state


@pytest.mark.parametrize("temporary_id", [bytes(range(8)), bytes(range(4))])
def test_an_8_octet_csae_id_sends_its_last_4_octets(temporary_id: bytes) -> None:
    (value, reference) = _bsms()[0]
    state = bsm_to_vehicle_state(value, reference)
    other: VehicleState = dataclasses.replace(state, temporary_id=temporary_id)
    assert vehicle_state_to_bsm(other)["coreData"]["id"] == temporary_id[-4:]

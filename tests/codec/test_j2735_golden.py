"""Golden tests: every real J2735 BSM capture decodes to its reference decode and re-encodes to the same bytes.

350 BSMs in all: 128 in the concatenated asn1_codec file, 1 single asn1_codec frame, 222 in the jpo-ode
on-board-unit log, 1 jpo-ode decoder-output frame and 2 CARMA frames (the last three sources overlap in content
with the first ones only in kind: they come from different vehicles and encoders).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from roadlink.codec import Raw, decode_frame, encode_frame, split_frames
from roadlink.codec.j2735 import MessageFrame
from tests.codec import captures

CORE_FIELDS = (
    "msgCnt",
    "id",
    "secMark",
    "lat",
    "long",
    "elev",
    "accuracy",
    "transmission",
    "speed",
    "heading",
    "angle",
    "accelSet",
    "brakes",
    "size",
)


def _stream() -> list[tuple[int, dict[str, Any]]]:
    return split_frames(captures.read("j2735.MessageFrame.128.bsms.uper"))


def _crumbs(frame: dict[str, Any]) -> list[dict[str, Any]]:
    (part,) = [p for p in frame["value"]["partII"] if p["partII-Id"] == 0]
    crumbs: list[dict[str, Any]] = part["partII-Value"]["pathHistory"]["crumbData"]
    return crumbs


# --- asn1_codec: 128 concatenated BSMs and their XER ----------------------------------------------------------------


def test_stream_splits_into_128_frames_back_to_back() -> None:
    data = captures.read("j2735.MessageFrame.128.bsms.uper")
    frames = _stream()
    assert len(frames) == 128
    ends = [offset for offset, _ in frames[1:]] + [len(data)]
    sizes = {end - offset for (offset, _), end in zip(frames, ends, strict=True)}
    assert sizes == {73, 177}
    assert {frame["value"]["coreData"]["id"] for _, frame in frames} == {b"\xbe\xa1\x00\x00", b"\x19\xbb\x00\x00"}


def test_128_frames_match_xer_core_fields_and_crumb_counts() -> None:
    references = captures.xer_frames("j2735.MessageFrame.128.bsms.xer")
    assert len(references) == 128
    for i, ((_, frame), ref) in enumerate(zip(_stream(), references, strict=True)):
        assert int(ref.findtext("messageId", "")) == frame["messageId"] == 20
        core, ref_core = frame["value"]["coreData"], ref.find("value/BasicSafetyMessage/coreData")
        assert ref_core is not None
        for name in CORE_FIELDS:
            child = ref_core.find(name)
            assert child is not None, f"frame {i}: reference lacks {name}"
            captures.assert_matches_xer(child, core[name], f"frame {i}.coreData.{name}")
        ref_points = ref.findall(".//crumbData/PathHistoryPoint")
        assert len(ref_points) == len(_crumbs(frame)), f"frame {i}: crumb count"


def test_128_frames_match_xer_in_full() -> None:
    for i, ((_, frame), ref) in enumerate(
        zip(_stream(), captures.xer_frames("j2735.MessageFrame.128.bsms.xer"), strict=True)
    ):
        captures.assert_matches_xer(ref, frame, f"frame {i}")


def test_128_frames_reencode_to_the_same_bytes() -> None:
    data = captures.read("j2735.MessageFrame.128.bsms.uper")
    frames = _stream()
    ends = [offset for offset, _ in frames[1:]] + [len(data)]
    for (offset, frame), end in zip(frames, ends, strict=True):
        assert encode_frame(frame) == data[offset:end], f"frame at octet {offset}"


# --- asn1_codec: the single BSM -------------------------------------------------------------------------------------


def test_single_bsm_matches_its_xml_and_reencodes() -> None:
    data = captures.read("j2735.MessageFrame.Bsm.uper")
    frame = decode_frame(data)
    (ref,) = captures.xer_frames("j2735.MessageFrame.Bsm.xml")
    captures.assert_matches_xer(ref, frame)
    core = frame["value"]["coreData"]
    assert (core["msgCnt"], core["secMark"], core["lat"], core["long"], core["elev"]) == (
        88,
        59299,
        411642143,
        -1048434120,
        18822,
    )
    assert len(_crumbs(frame)) == 15
    assert encode_frame(frame) == data


# --- jpo-ode: decoder output (with SupplementalVehicleExtensions) and the 222-BSM log --------------------------------


def _decoder_output() -> tuple[bytes, ET.Element]:
    text = (captures.DATA / "decoder-output-bsm.xml").read_text()
    match = re.search(r"<asn1>\s*([0-9A-Fa-f]+)\s*</asn1>", text)
    assert match
    root = ET.fromstring(text)
    (ref,) = root.iter("MessageFrame")
    # The reference was decoded with a newer schema, where the 2016 `weatherProbe` component is `doNotUse2`
    # and holds the same content one element deeper. The bytes follow the 2016 layout.
    supplemental = ref.find(".//SupplementalVehicleExtensions")
    assert supplemental is not None
    renamed = supplemental.find("doNotUse2")
    assert renamed is not None
    (probe,) = list(renamed)
    supplemental.remove(renamed)
    supplemental.append(probe)
    return bytes.fromhex(match.group(1)), ref


def test_decoder_output_bsm_matches_including_supplemental_extensions() -> None:
    data, ref = _decoder_output()
    frame = decode_frame(data)
    captures.assert_matches_xer(ref, frame)
    supplemental = frame["value"]["partII"][1]
    assert supplemental == {
        "partII-Id": 2,
        "partII-Value": {
            "classDetails": {"keyType": 0, "role": "basicVehicle", "hpmsType": "none", "fuelType": 0},
            "vehicleData": {"height": 38},
            "weatherProbe": {"airTemp": 191},
        },
    }
    assert encode_frame(frame) == data


def test_log_holds_222_bsms_that_match_the_json_twin_and_reencode() -> None:
    records = captures.log_records()
    assert len(records) == 222
    assert records[0].offset == 30
    keys = set()
    for record in records:
        frame = decode_frame(record.frame)
        core = frame["value"]["coreData"]
        keys.add((core["id"].hex(), core["msgCnt"], core["secMark"]))
        assert [p["partII-Id"] for p in frame["value"]["partII"]] == [0, 2]
        assert not any(isinstance(p["partII-Value"], Raw) for p in frame["value"]["partII"])
        assert encode_frame(frame) == record.frame, f"record at octet {record.offset}"
    twin = {
        (d["coreData"]["id"].lower(), d["coreData"]["msgCnt"], d["coreData"]["secMark"])
        for d in (obj["payload"]["data"] for obj in captures.log_json())
    }
    assert keys == twin


# --- CARMA j2735decoder ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["BSM_1", "BSM_2"])
def test_carma_bsm_matches_pycrate_decode_and_reencodes(name: str) -> None:
    data = captures.carma_hex(name)
    frame = decode_frame(data)
    ref = json.loads((captures.DATA / f"{name}_j2735decode.json").read_text())["MessageFrame"]
    captures.assert_matches_pycrate_json(ref, frame)
    assert encode_frame(frame) == data


def test_carma_bsm_1_is_part_one_only() -> None:
    frame = decode_frame(captures.carma_hex("BSM_1"))
    assert set(frame["value"]) == {"coreData"}
    assert len(captures.carma_hex("BSM_1")) == 40


# --- what is kept raw -------------------------------------------------------------------------------------------------


def test_unknown_message_and_part_ii_content_are_kept_raw() -> None:
    frame = decode_frame(captures.carma_hex("BSM_2"))
    frame["value"]["partII"].append({"partII-Id": 1, "partII-Value": Raw(b"\x12\x34")})  # SpecialVehicleExtensions
    again = decode_frame(encode_frame(frame))
    assert again == frame
    assert again["value"]["partII"][-1]["partII-Value"] == Raw(b"\x12\x34")
    rsa = encode_frame({"messageId": 27, "value": Raw(b"\x01\x02\x03")})  # RoadSideAlert: not described
    decoded = MessageFrame.decode(rsa)
    assert decoded == {"messageId": 27, "value": Raw(b"\x01\x02\x03")}
    assert MessageFrame.encode(decoded) == rsa


def test_part_ii_content_the_description_cannot_read_is_kept_raw() -> None:
    frame = decode_frame(captures.carma_hex("BSM_2"))
    # A VehicleSafetyExtensions whose pathHistory carries an initialPosition, which is not described here:
    # ext 0, events 0, pathHistory 1, pathPrediction 0, lights 0; PathHistory ext 0, initialPosition 1, ...
    raw = Raw(bytes([0b00100010, 0x00]))
    frame["value"]["partII"][0]["partII-Value"] = raw
    again = decode_frame(encode_frame(frame))
    assert again["value"]["partII"][0]["partII-Value"] == raw

"""`roadlink decode` / `encode` for CSAE 53 (with the vendor envelope) and ETSI, and the --v1 round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from roadlink.cli import main
from roadlink.codec import csae, decode_frame, etsi
from roadlink.codec.framing import split_vendor_frames
from tests.codec import captures
from tests.codec.test_csae_golden import payloads as csae_payloads
from tests.codec.test_etsi import cam_vector

REFERENCE = "1700000000000"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _decode(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = _run(capsys, "decode", *args, "--reference-ms", REFERENCE)
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def _encode(capsys: pytest.CaptureFixture[str], tmp_path: Path, document: dict[str, Any], *args: str) -> list[bytes]:
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document))
    code, out, err = _run(capsys, "encode", "--file", str(path), *args)
    assert code == 0, err
    return [bytes.fromhex(line) for line in out.split()]


@pytest.mark.parametrize("name", ["BSM", "MAP", "RSI", "RSM", "SPAT"])
def test_csae_vendor_payloads_decode_to_v1_and_encode_back_exactly(
    name: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    payload = csae_payloads()[name]
    frames = list(split_vendor_frames(payload).frames)
    document = _decode(capsys, payload.hex(), "--standard", "csae53", "--vendor-header", "--v1")
    assert [f["message"] for f in document["frames"]] == [name] * len(frames)
    assert all(f["v1"] and "raw" not in f for f in document["frames"])
    assert _encode(capsys, tmp_path, document, "--v1") == frames


def test_csae_raw_json_encodes_back_and_an_edited_raw_is_used(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    payload = csae_payloads()["BSM"]
    frames = list(split_vendor_frames(payload).frames)
    document = _decode(capsys, payload.hex(), "--standard", "csae53", "--vendor-header")
    assert _encode(capsys, tmp_path, document) == frames
    document["frames"][0]["raw"]["bsmFrame"]["speed"] = 500
    edited = _encode(capsys, tmp_path, document)
    assert csae.decode_frame(edited[0])[1]["speed"] == 500
    assert edited[1] == frames[1]


def test_etsi_cam_v1_edit_is_laid_over_the_original(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data, _ = cam_vector()
    document = _decode(capsys, data.hex(), "--standard", "etsi", "--v1")
    (frame,) = document["frames"]
    assert (frame["message"], frame["v1_type"]) == ("CAM", "v2x.vehicle.v1.VehicleState")
    assert _encode(capsys, tmp_path, document, "--v1") == [data]
    frame["v1"][0]["speed_mps"] = 10.0
    (edited,) = _encode(capsys, tmp_path, document, "--v1")
    hf, original_hf = (etsi.decode_cam(d)["cam"]["camParameters"]["highFrequencyContainer"][1] for d in (edited, data))
    assert hf["speed"]["speedValue"] == 1000  # 0.01 m/s
    assert hf["heading"] == original_hf["heading"]


def test_j2735_spat_v1_holds_every_intersection_and_encodes_back(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spat = captures.carma_hex("SPaT_1")
    document = _decode(capsys, spat.hex(), "--v1")
    (frame,) = document["frames"]
    assert frame["v1_type"] == "v2x.roadside.v1.SignalPhaseAndTiming"
    assert all(m["provenance"]["air_message"]["standard"] == "j2735" for m in frame["v1"])
    assert _encode(capsys, tmp_path, document, "--v1") == [spat]


def test_v1_without_air_message_is_encoded_from_its_fields(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    payload = csae_payloads()["BSM"]
    document = _decode(capsys, payload.hex(), "--standard", "csae53", "--vendor-header", "--v1")
    for frame in document["frames"]:
        del frame["v1"][0]["provenance"]["air_message"]
    encoded = _encode(capsys, tmp_path, document, "--v1")
    originals = [csae.decode_frame(f)[1] for f in split_vendor_frames(payload).frames]
    assert [csae.decode_frame(e)[1]["pos"] for e in encoded] == [o["pos"] for o in originals]


def test_wrong_options_are_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data, _ = cam_vector()
    code, _, err = _run(capsys, "decode", data.hex(), "--standard", "etsi", "--vendor-header")
    assert code == 2
    assert err.startswith("roadlink decode: ")
    (tmp_path / "raw.json").write_text(json.dumps({"messageId": 20, "value": {}}))
    code, _, err = _run(capsys, "encode", "--file", str(tmp_path / "raw.json"), "--v1")
    assert code == 2
    assert "--v1" in err


def test_the_default_j2735_document_carries_air_messages_and_encodes_back_from_v1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = captures.carma_hex("BSM_2")
    document = _decode(capsys, data.hex())
    assert "raw" in document
    assert document["v1"][0]["provenance"]["air_message"]["message_id"] == 20
    document["v1"][0]["speed_mps"] = 10.0
    (edited,) = _encode(capsys, tmp_path, document, "--v1")
    assert decode_frame(edited)["value"]["coreData"]["speed"] == 500
    assert _encode(capsys, tmp_path, document) == [data]  # from raw

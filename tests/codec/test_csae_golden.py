"""Golden tests: the 6 real CSAE 53 frames decode to their reference decodes and re-encode to their bytes.

The five vendor payloads of tests/data/csae/v2x_samples_gbk.txt are split by the vendor framing (one holds two
BSMs), every frame is compared field by field with decoded_frames.json, and frames and payloads are rebuilt byte
for byte.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from roadlink.codec import csae
from roadlink.codec.errors import DecodeError
from roadlink.codec.framing import VendorFraming, join_vendor_frames, split_vendor_frames

DATA = Path(__file__).resolve().parent.parent / "data" / "csae"


@cache
def payloads() -> dict[str, bytes]:
    """The captured vendor payloads by sample name (SPAT, BSM, RSM, RSI, MAP)."""
    text = (DATA / "v2x_samples_gbk.txt").read_bytes().decode("gbk")
    found = {
        m.group(1): bytes.fromhex(m.group(2))
        for m in re.finditer(r"(SPAT|BSM|RSM|RSI|MAP)\w*\uff1a([0-9a-f]{60,})", text)
    }
    assert sorted(found) == ["BSM", "MAP", "RSI", "RSM", "SPAT"]
    return found


@cache
def references() -> tuple[dict[str, Any], ...]:
    """decoded_frames.json's frames: sample, frame_offset, frame_len, uper_hex, vendor_header_hex, decoded."""
    frames: list[dict[str, Any]] = json.loads((DATA / "decoded_frames.json").read_text())["frames"]
    assert len(frames) == 6
    return tuple(frames)


def frames() -> list[tuple[str, bytes]]:
    """(sample name with its index, frame octets) for the 6 frames."""
    return [(f"{r['sample']}{i}", bytes.fromhex(r["uper_hex"])) for i, r in enumerate(references())]


def as_reference(value: Any) -> Any:
    """Our decoded value in asn1tools' JSON conventions: CHOICE [name, value], BIT STRING [hex, bits], bytes hex."""
    if isinstance(value, dict):
        return {key: as_reference(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_reference(item) for item in value]
    if isinstance(value, tuple):
        first, second = value
        if type(first) is int and type(second) is int:
            pad = -second % 8
            return [(first << pad).to_bytes((second + pad) // 8, "big").hex(), second]
        return [first, as_reference(second)]
    if isinstance(value, bytes):
        return value.hex()
    return value


def assert_same(ours: Any, reference: Any, path: str = "frame") -> None:
    """Walk both values together and fail at the first difference, naming its path."""
    assert type(ours) is type(reference), f"{path}: {ours!r} vs {reference!r}"
    if isinstance(reference, dict):
        assert sorted(ours) == sorted(reference), f"{path}: components {sorted(ours)} vs {sorted(reference)}"
        for key in reference:
            assert_same(ours[key], reference[key], f"{path}.{key}")
    elif isinstance(reference, list):
        assert len(ours) == len(reference), f"{path}: {len(ours)} items vs {len(reference)}"
        for i, (a, b) in enumerate(zip(ours, reference, strict=True)):
            assert_same(a, b, f"{path}[{i}]")
    else:
        assert ours == reference, f"{path}: {ours!r} vs {reference!r}"


@pytest.mark.parametrize("index", range(6), ids=[r["sample"] for r in references()])
def test_frame_decodes_to_the_reference_field_by_field(index: int) -> None:
    reference = references()[index]
    frame = csae.decode_frame(bytes.fromhex(reference["uper_hex"]))
    assert frame[0] in csae.FRAME_NAMES
    assert csae.FRAME_NAMES[frame[0]] == reference["sample"]
    assert_same(as_reference(frame), reference["decoded"])


@pytest.mark.parametrize(("name", "data"), frames())
def test_frame_re_encodes_byte_exact(name: str, data: bytes) -> None:
    assert csae.encode_frame(csae.decode_frame(data)) == data


def test_vendor_payloads_split_into_the_reference_frames_and_rebuild() -> None:
    split = {name: split_vendor_frames(payload) for name, payload in payloads().items()}
    by_sample: dict[str, list[bytes]] = {}
    for reference in references():
        by_sample.setdefault(reference["sample"], []).append(bytes.fromhex(reference["uper_hex"]))
    for name, vendor in split.items():
        assert list(vendor.frames) == by_sample[name], name
        assert vendor.device_name == "u_id_123"
        assert vendor.counted is (name == "BSM")
        assert join_vendor_frames(vendor) == payloads()[name]


def test_frame_offsets_match_the_reference() -> None:
    for reference in references():
        payload = payloads()[reference["sample"]]
        offset, length = reference["frame_offset"], reference["frame_len"]
        assert payload[offset : offset + length].hex() == reference["uper_hex"]
        if reference["vendor_header_hex"] is not None:
            assert payload[:offset].hex() == reference["vendor_header_hex"]


def test_framing_settings_are_honoured() -> None:
    bsm = payloads()["BSM"]
    with pytest.raises(DecodeError, match="frame length 22018"):
        split_vendor_frames(bsm, VendorFraming(count="never"))
    assert len(split_vendor_frames(bsm, VendorFraming(count="always")).frames) == 2
    with pytest.raises(DecodeError):
        split_vendor_frames(payloads()["RSM"], VendorFraming(count="always"))


def test_frame_with_trailing_octets_is_a_decode_error() -> None:
    data = frames()[3][1]
    with pytest.raises(DecodeError, match="trailing"):
        csae.decode_frame(data + b"\x00")
    frame, used = csae.decode_frame_prefix(data + b"\x00")
    assert used == len(data)
    assert csae.encode_frame(frame) == data

"""Loading the J2735 captures in tests/data/j2735 and comparing decodes with their reference decodes.

The comparisons walk our decoded value and the reference side by side and fail at the first difference with the
path to it, so "field by field" means every field the reference has, not a sample of them.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data" / "j2735"

OPEN_TYPE_KEYS = frozenset({"value", "partII-Value"})
"""Components that are open types: their reference decodes wrap the content in an element named after its type."""

LOG_RECORD_HEADER = 26
"""bsmLogDuringEvent.bin: direction 1, lat/long/elev 4+4+4, speed 2, heading 2, UTC s 4, ms 2, security 1, length 2."""


@dataclass(frozen=True)
class LogRecord:
    """One record of the ODE BSM log: its UTC time, the frame's offset in the file, and the frame."""

    utc_ms: int
    offset: int
    frame: bytes


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


@cache
def log_records() -> tuple[LogRecord, ...]:
    """Split bsmLogDuringEvent.bin by its record framing and strip the unsecured IEEE 1609.2 wrapper."""
    data, records, pos = read("bsmLogDuringEvent.bin"), [], 0
    while pos < len(data):
        header = data[pos : pos + LOG_RECORD_HEADER]
        utc_ms = int.from_bytes(header[17:21], "little") * 1000 + int.from_bytes(header[21:23], "little")
        length = int.from_bytes(header[24:26], "little")
        payload = data[pos + LOG_RECORD_HEADER : pos + LOG_RECORD_HEADER + length]
        assert payload[:2] == b"\x03\x80", "unsecured 1609.2 Data: protocol version 3, unsecuredData"
        inner, start = payload[2], 3
        if inner & 0x80:  # OER long-form length
            count = inner & 0x7F
            inner, start = int.from_bytes(payload[3 : 3 + count], "big"), 3 + count
        assert start + inner == length
        records.append(LogRecord(utc_ms, pos + LOG_RECORD_HEADER + start, payload[start:]))
        pos += LOG_RECORD_HEADER + length
    assert pos == len(data)
    return tuple(records)


@cache
def log_json() -> tuple[dict[str, Any], ...]:
    """bsmLogDuringEvent.json: concatenated ODE JSON objects."""
    text, decoder, pos = (DATA / "bsmLogDuringEvent.json").read_text(), json.JSONDecoder(), 0
    out: list[dict[str, Any]] = []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            return tuple(out)
        obj, pos = decoder.raw_decode(text, pos)
        out.append(obj)


@cache
def xer_frames(name: str) -> tuple[ET.Element, ...]:
    """The <MessageFrame> elements of an XER file holding one or more concatenated frames."""
    text = (DATA / name).read_text()
    text = re.sub(r"<\?xml[^>]*\?>", "", text)
    root = ET.fromstring(f"<frames>{text}</frames>")
    return tuple(root.iter("MessageFrame"))


def carma_hex(name: str) -> bytes:
    """A named payload (BSM_1, ...) of SampleHexPayloads.txt."""
    text = (DATA / "SampleHexPayloads.txt").read_text()
    match = re.search(rf'^{name} = "([0-9A-Fa-f]+)"', text, re.MULTILINE)
    assert match, name
    return bytes.fromhex(match.group(1))


def _bits_text(value: tuple[int, int]) -> str:
    bits, length = value
    return format(bits, f"0{length}b") if length else ""


def assert_matches_xer(elem: ET.Element, value: Any, path: str = "") -> None:
    """Our decoded `value` equals the XER element `elem`, component by component."""
    here = path or elem.tag
    if isinstance(value, dict):
        by_tag = {child.tag: child for child in elem}
        assert set(by_tag) == set(value), f"{here}: components {sorted(by_tag)} != {sorted(value)}"
        for key, item in value.items():
            child = by_tag[key]
            if key in OPEN_TYPE_KEYS:
                (child,) = list(child)  # the element named after the contained type
            assert_matches_xer(child, item, f"{here}.{key}")
    elif isinstance(value, list):
        items = list(elem)
        assert len(items) == len(value), f"{here}: {len(items)} items != {len(value)}"
        for i, (child, item) in enumerate(zip(items, value, strict=True)):
            assert_matches_xer(child, item, f"{here}[{i}]")
    elif isinstance(value, tuple) and isinstance(value[0], str):  # a CHOICE: <alternative>value</alternative>
        (child,) = list(elem)
        assert child.tag == value[0], f"{here}: alternative {child.tag} != {value[0]}"
        assert_matches_xer(child, value[1], f"{here}.{value[0]}")
    elif isinstance(value, tuple):
        assert "".join((elem.text or "").split()) == _bits_text(value), f"{here}: bits {elem.text!r} != {value}"
    elif isinstance(value, bool):  # <true/> or <false/>
        assert [child.tag for child in elem] == [str(value).lower()], f"{here}: boolean {list(elem)} != {value}"
    elif isinstance(value, str) and len(elem) == 0:  # a character string: its text
        assert elem.text == value, f"{here}: text {elem.text!r} != {value!r}"
    elif isinstance(value, str):
        assert [child.tag for child in elem] == [value], f"{here}: enumerated {[c.tag for c in elem]} != {value}"
    elif isinstance(value, bytes):
        assert "".join((elem.text or "").split()).lower() == value.hex(), f"{here}: {elem.text!r} != {value.hex()}"
    else:
        assert isinstance(value, int), f"{here}: unexpected {value!r}"
        assert int((elem.text or "").strip()) == value, f"{here}: {elem.text!r} != {value}"


def assert_matches_pycrate_json(ref: Any, value: Any, path: str = "") -> None:
    """Our decoded `value` equals a CARMA pycrate JSON decode (all leaves are strings there).

    There, a SEQUENCE OF is an object with one key (the element type) holding a list, or a single object when
    the list has one item; an enumerated value is {name: ""}; an open type is {type name: content}.
    """
    here = path or "MessageFrame"
    if isinstance(value, dict):
        assert isinstance(ref, dict), f"{here}: {ref!r} is not an object"
        assert set(ref) == set(value), f"{here}: components {sorted(ref)} != {sorted(value)}"
        for key, item in value.items():
            inner = ref[key]
            if key in OPEN_TYPE_KEYS:
                ((_, inner),) = inner.items()
            assert_matches_pycrate_json(inner, item, f"{here}.{key}")
    elif isinstance(value, list):
        ((_, items),) = ref.items()
        items = items if isinstance(items, list) else [items]
        assert len(items) == len(value), f"{here}: {len(items)} items != {len(value)}"
        for i, (ref_item, item) in enumerate(zip(items, value, strict=True)):
            assert_matches_pycrate_json(ref_item, item, f"{here}[{i}]")
    elif isinstance(value, tuple) and isinstance(value[0], str):  # a CHOICE: {alternative: value}
        assert isinstance(ref, dict), f"{here}: {ref!r} is not a CHOICE"
        assert list(ref) == [value[0]], f"{here}: alternative {ref!r} != {value[0]}"
        assert_matches_pycrate_json(ref[value[0]], value[1], f"{here}.{value[0]}")
    elif isinstance(value, tuple):
        assert ref == _bits_text(value), f"{here}: bits {ref!r} != {value}"
    elif isinstance(value, str):
        assert ref == {value: ""}, f"{here}: enumerated {ref!r} != {value}"
    elif isinstance(value, bytes):
        assert ref.lower() == value.hex(), f"{here}: {ref!r} != {value.hex()}"
    else:
        assert int(ref) == value, f"{here}: {ref!r} != {value}"

"""Every UPER primitive against bit patterns worked out by hand from X.691 (unaligned variant).

`bits("0 101")` is the complete encoding of those bits: padded with zeros to whole octets (one octet at least).
Each case checks both directions: encode gives exactly these octets, and decoding them gives the value back.
"""

from __future__ import annotations

import types
from typing import Any

import pytest

import roadlink.codec
from roadlink.codec.errors import DecodeError, EncodeError
from roadlink.codec.uper import (
    EXTENSIONS_KEY,
    AsnType,
    BitString,
    Boolean,
    Choice,
    Enumerated,
    Field,
    IA5String,
    Integer,
    Null,
    OctetString,
    OpenType,
    OpenTypeBy,
    Raw,
    Sequence,
    SequenceOf,
    Size,
    Undescribed,
    UTF8String,
)
from roadlink.domain.errors import ValidationError


def bits(pattern: str) -> bytes:
    text = "".join(pattern.split())
    count = max(1, (len(text) + 7) // 8)
    return int(text.ljust(count * 8, "0"), 2).to_bytes(count, "big")


def roundtrip(t: AsnType, value: Any, pattern: str) -> None:
    encoded = t.encode(value)
    assert encoded == bits(pattern), f"{encoded.hex()} != {bits(pattern).hex()}"
    assert t.decode(encoded) == value


# --- INTEGER --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lb", "ub", "value", "pattern"),
    [
        (0, 7, 5, "101"),
        (-126, 127, -101, "0001 1001"),  # SteeringWheelAngle: offset 25 in 8 bits
        (-900000000, 900000001, 389557079, "100 1100 1101 1101 0001 0100 0101 0111"),  # Latitude, 31 bits
        (1, 65535, 1, "0000 0000 0000 0000"),  # TimeOffset lower bound
        (5, 5, 5, ""),  # a single value takes no bits
        (0, 2, 2, "10"),
        (-4096, 61439, -4096, "0000 0000 0000 0000"),  # Elevation unavailable
    ],
)
def test_constrained_integer(lb: int, ub: int, value: int, pattern: str) -> None:
    roundtrip(Integer("I", lb, ub), value, pattern)


def test_constrained_integer_rejects_raw_value_above_range() -> None:
    with pytest.raises(DecodeError, match="value above 2"):
        Integer("I", 0, 2).decode(bits("11"))


def test_constrained_integer_encode_out_of_range() -> None:
    with pytest.raises(EncodeError, match=r"8 outside 0\.\.7"):
        Integer("I", 0, 7).encode(8)
    with pytest.raises(EncodeError):
        Integer("I", 0, 7).encode("3")


def test_extensible_integer_root_and_extension() -> None:
    t = Integer("I", 0, 7, extensible=True)
    roundtrip(t, 3, "0 011")
    roundtrip(t, 8, "1 00000001 00001000")  # extension: unconstrained, length 1, two's complement
    roundtrip(t, -1, "1 00000001 11111111")


def test_extensible_integer_rejects_root_value_in_extension_form() -> None:
    with pytest.raises(DecodeError, match="root value 3 in extension form"):
        Integer("I", 0, 7, extensible=True).decode(bits("1 00000001 00000011"))


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        (-1, "00000010 00000001 00000000"),  # offset 256 from lb -257
        (-257, "00000001 00000000"),
        (-2, "00000001 11111111"),
    ],
)
def test_semi_constrained_integer(value: int, pattern: str) -> None:
    roundtrip(Integer("I", -257, None), value, pattern)


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        (0, "00000001 00000000"),
        (-1, "00000001 11111111"),
        (127, "00000001 01111111"),
        (128, "00000010 00000000 10000000"),
        (-128, "00000001 10000000"),
        (-129, "00000010 11111111 01111111"),
        (2**40, "00000110 00000001" + " 00000000" * 5),
    ],
)
def test_unconstrained_integer(value: int, pattern: str) -> None:
    roundtrip(Integer("I"), value, pattern)


def test_integer_with_only_an_upper_bound_is_unconstrained_on_the_wire() -> None:
    t = Integer("I", None, 100)
    roundtrip(t, -300, "00000010 11111110 11010100")
    with pytest.raises(DecodeError, match="outside"):
        t.decode(bits("00000001 01100101"))  # 101
    with pytest.raises(EncodeError):
        t.encode(101)


@pytest.mark.parametrize(
    "pattern",
    [
        "00000010 00000000 00000001",  # 1 in two octets
        "00000010 11111111 11111111",  # -1 in two octets
        "00000000",  # zero octets
    ],
)
def test_unconstrained_integer_rejects_non_minimal(pattern: str) -> None:
    with pytest.raises(DecodeError):
        Integer("I").decode(bits(pattern))


# --- BOOLEAN, NULL, ENUMERATED --------------------------------------------------------------------------------------


def test_boolean_and_null() -> None:
    roundtrip(Boolean(), True, "1")
    roundtrip(Boolean(), False, "0")
    roundtrip(Null(), None, "")  # an empty complete encoding is one zero octet
    with pytest.raises(EncodeError, match="expected a bool"):
        Boolean().encode(1)


def test_enumerated_root() -> None:
    t = Enumerated("E", ["a", "b", "c"])
    roundtrip(t, "c", "10")
    with pytest.raises(DecodeError, match="unknown enumeration index"):
        t.decode(bits("11"))
    with pytest.raises(EncodeError, match="not in E"):
        t.encode("d")


def test_enumerated_extensible() -> None:
    t = Enumerated("E", ["a", "b", "c"], extensions=["d"])
    roundtrip(t, "c", "0 10")
    roundtrip(t, "d", "1 0 000000")  # extension bit, normally small number 0
    roundtrip(t, 5, "1 0 000101")  # an unknown extension keeps its index
    roundtrip(t, 64, "1 1 00000001 01000000")  # normally small number >= 64: semi-constrained


# --- BIT STRING and OCTET STRING --------------------------------------------------------------------------------------


def test_bit_string_fixed() -> None:
    roundtrip(BitString("B", Size(5, 5)), (0b10000, 5), "10000")  # BrakeAppliedStatus "unavailable"


def test_bit_string_size_range() -> None:
    roundtrip(BitString("B", Size(0, 8)), (0b101, 3), "0011 101")


def test_bit_string_extensible_size() -> None:
    t = BitString("B", Size(8, 8, extensible=True))
    roundtrip(t, (0xA5, 8), "0 10100101")
    roundtrip(t, (0, 0), "1 00000000")  # zero length with the extension bit set (MAP LaneAttributes-Vehicle)
    roundtrip(t, (0b101, 3), "1 00000011 101")


def test_bit_string_unconstrained_and_bad_values() -> None:
    roundtrip(BitString("B"), (0b11, 2), "00000010 11")
    with pytest.raises(EncodeError):
        BitString("B", Size(5, 5)).encode((32, 5))
    with pytest.raises(EncodeError):
        BitString("B", Size(0, 4)).encode((0, 5))


def test_octet_string_fixed_and_ranged() -> None:
    roundtrip(OctetString("O", Size(4, 4)), b"\xbe\xa1\x00\x00", "10111110 10100001 00000000 00000000")
    roundtrip(OctetString("O", Size(0, 3)), b"\x01\x02", "10 00000001 00000010")
    with pytest.raises(EncodeError, match="expected 4 bytes"):
        OctetString("O", Size(4, 4)).encode(b"abc")


def test_octet_string_length_determinants() -> None:
    t = OctetString("O")
    roundtrip(t, b"\xff" * 127, "01111111" + " 11111111" * 127)
    roundtrip(t, b"\x00" * 200, "10000000 11001000" + " 00000000" * 200)  # two-octet length form


def test_octet_string_fragmented() -> None:
    t = OctetString("O")
    value = bytes(range(256)) * 64 + b"\x07"  # 16385 octets: one 16K fragment, then a length of 1
    encoded = t.encode(value)
    assert encoded[0] == 0xC1
    assert encoded[1 : 1 + 16384] == value[:16384]
    assert encoded[1 + 16384 :] == b"\x01\x07"
    assert t.decode(encoded) == value
    exact = t.encode(b"\x01" * 16384)  # a whole fragment is followed by an empty final length
    assert exact[0] == 0xC1
    assert exact[-1] == 0x00
    assert t.decode(exact) == b"\x01" * 16384


def test_non_canonical_length_rejected() -> None:
    with pytest.raises(DecodeError, match="non-canonical"):
        OctetString("O").decode(bits("10000000 00000001 00000000"))


# --- strings --------------------------------------------------------------------------------------------------------


def test_ia5_string() -> None:
    roundtrip(IA5String("S", Size(0, 7)), "AB", "010 1000001 1000010")
    with pytest.raises(EncodeError):
        IA5String("S").encode("é")


def test_utf8_string() -> None:
    roundtrip(UTF8String(), "é", "00000010 11000011 10101001")
    with pytest.raises(DecodeError, match="invalid UTF-8"):
        UTF8String().decode(bits("00000001 11111111"))


# --- SEQUENCE -------------------------------------------------------------------------------------------------------

INNER = Sequence("Inner", [Field("a", Integer("A", 0, 7)), Field("b", Boolean(), optional=True)], extensible=True)


def test_sequence_preamble_and_fixed_run() -> None:
    roundtrip(INNER, {"a": 5}, "0 0 101")
    roundtrip(INNER, {"a": 5, "b": True}, "0 1 101 1")


def test_sequence_without_extension_marker_or_optionals() -> None:
    roundtrip(
        Sequence("S", [Field("x", Integer("X", 0, 3)), Field("y", OctetString("Y", Size(1, 1)))]),
        {"x": 1, "y": b"\x80"},
        "01 10000000",
    )


def test_fixed_width_sequences_are_read_inline() -> None:
    pair = Sequence("Pair", [Field("x", Integer("X", 0, 2)), Field("y", Boolean())])
    assert pair.width == 3
    outer = Sequence("Outer", [Field("a", Integer("A", 0, 3)), Field("pair", pair), Field("b", Null())])
    assert outer.width == 5
    roundtrip(outer, {"a": 3, "pair": {"x": 2, "y": True}, "b": None}, "11 10 1")
    with pytest.raises(DecodeError) as info:
        outer.decode(bits("11 11 1"))  # x = 3 is above its range
    assert info.value.path == "Outer.pair.x"
    with pytest.raises(EncodeError, match="expected a dict of x, y"):
        outer.encode({"a": 3, "pair": {"x": 2}, "b": None})
    with pytest.raises(EncodeError) as error:
        outer.encode({"a": 3, "pair": {"x": 2, "y": 1}, "b": None})
    assert error.value.path == "Outer.pair.y"
    assert Sequence("Opt", [Field("x", Integer("X", 0, 2), optional=True)]).width is None


def test_sequence_default_is_optional_on_the_wire_and_not_filled_in() -> None:
    t = Sequence("S", [Field("x", Integer("X", 0, 3), default=0)])
    roundtrip(t, {}, "0")
    roundtrip(t, {"x": 0}, "1 00")


def test_sequence_known_extension_addition() -> None:
    t = Sequence("S", [Field("a", Integer("A", 0, 7))], extensions=[Field("e", Integer("E", 0, 255))])
    # ext bit, a, normally small length 1 ("0" + 000000), bitmap "1", open type: length 1, content 0x2A
    roundtrip(t, {"a": 1, "e": 42}, "1 001 0 000000 1 00000001 00101010")
    roundtrip(t, {"a": 1}, "0 001")


def test_sequence_unknown_extension_additions_round_trip() -> None:
    newer = Sequence(
        "S",
        [Field("a", Integer("A", 0, 7))],
        extensions=[Field("e", Integer("E", 0, 255), optional=True), Field("f", Boolean(), optional=True)],
    )
    older = Sequence("S", [Field("a", Integer("A", 0, 7))], extensible=True)
    encoded = newer.encode({"a": 1, "f": True})
    decoded = older.decode(encoded)
    assert decoded == {"a": 1, EXTENSIONS_KEY: (2, ((1, Raw(b"\x80")),))}
    assert older.encode(decoded) == encoded
    assert newer.decode(encoded) == {"a": 1, "f": True}


def test_sequence_extension_bit_without_additions_rejected() -> None:
    with pytest.raises(DecodeError, match="no extension additions"):
        INNER.decode(bits("1 0 101 0 000000 0"))


def test_sequence_encode_errors() -> None:
    with pytest.raises(EncodeError, match=r"missing components \['a'\]"):
        INNER.encode({"b": True})
    with pytest.raises(EncodeError, match="missing component 'a'"):
        INNER.encode({"b": True, "c": 1})
    with pytest.raises(EncodeError, match=r"unknown components \['c'\]"):
        INNER.encode({"a": 1, "c": 2})
    with pytest.raises(EncodeError, match="expected a dict"):
        INNER.encode([1])
    outer = Sequence("Outer", [Field("inner", INNER)])
    with pytest.raises(EncodeError, match=r"9 outside 0\.\.7") as info:
        outer.encode({"inner": {"a": 9}})
    assert info.value.path == "Outer.inner.a"


# --- SEQUENCE OF ----------------------------------------------------------------------------------------------------


def test_sequence_of_constrained_size() -> None:
    t = SequenceOf("L", Integer("I", 0, 7), Size(1, 8))
    roundtrip(t, [1, 2, 3], "010 001 010 011")
    with pytest.raises(EncodeError, match=r"size 0 outside 1\.\.8"):
        t.encode([])
    with pytest.raises(DecodeError):
        SequenceOf("L", Integer("I", 0, 7), Size(1, 7)).decode(bits("111"))  # count 8 > 7


def test_sequence_of_extensible_size() -> None:
    t = SequenceOf("L", Integer("I", 0, 7), Size(1, 2, extensible=True))
    roundtrip(t, [4], "0 0 100")
    roundtrip(t, [1, 2, 3], "1 00000011 001 010 011")


def test_sequence_of_unconstrained() -> None:
    roundtrip(SequenceOf("L", Boolean()), [True, False], "00000010 1 0")


# --- CHOICE ---------------------------------------------------------------------------------------------------------


def test_choice_root() -> None:
    t = Choice("C", [("x", Integer("X", 0, 3)), ("y", Boolean()), ("z", Null())])
    roundtrip(t, ("y", True), "01 1")
    roundtrip(t, ("z", None), "10")
    with pytest.raises(DecodeError, match="choice index 3"):
        t.decode(bits("11"))


def test_choice_extensible() -> None:
    t = Choice("C", [("x", Integer("X", 0, 3)), ("y", Boolean())], extensions=[("w", Integer("W", 0, 255))])
    roundtrip(t, ("x", 2), "0 0 10")
    roundtrip(t, ("w", 7), "1 0 000000 00000001 00000111")  # ext, normally small 0, open type
    roundtrip(t, (3, Raw(b"\x55")), "1 0 000011 00000001 01010101")  # unknown extension alternative kept raw
    with pytest.raises(EncodeError, match="not an alternative"):
        t.encode(("v", 1))


# --- open types -----------------------------------------------------------------------------------------------------


def test_open_type() -> None:
    roundtrip(OpenType("O", Integer("I", 0, 255)), 7, "00000001 00000111")
    roundtrip(OpenType("O", Null()), None, "00000001 00000000")  # an empty encoding still takes one octet
    roundtrip(OpenType("O"), Raw(b"\x01\x02"), "00000010 00000001 00000010")


def test_open_type_content_must_fill_its_octets() -> None:
    t = OpenType("O", Integer("I", 0, 255))
    with pytest.raises(DecodeError, match="holds 2 octets"):
        t.decode(bits("00000010 00000111 00000000"))
    with pytest.raises(DecodeError, match="non-zero padding"):
        OpenType("O", Integer("I", 0, 15)).decode(bits("00000001 0111 0001"))


def test_lenient_open_type_keeps_undecodable_content_raw() -> None:
    t = OpenType("O", Integer("I", 0, 15), lenient=True)
    encoded = bits("00000010 00000111 00000000")
    assert t.decode(encoded) == Raw(b"\x07\x00")
    assert t.encode(Raw(b"\x07\x00")) == encoded


def test_open_type_by_selector() -> None:
    t = Sequence(
        "Frame",
        [Field("id", Integer("Id", 0, 3)), Field("v", OpenTypeBy("v", "id", {1: Integer("I", 0, 255)}))],
    )
    roundtrip(t, {"id": 1, "v": 200}, "01 00000001 11001000")
    roundtrip(t, {"id": 2, "v": Raw(b"\xc8")}, "10 00000001 11001000")
    with pytest.raises(ValueError, match="not an earlier component"):
        Sequence("Bad", [Field("v", OpenTypeBy("v", "id", {}))])


def test_undescribed_type_fails_both_ways() -> None:
    t = Sequence("S", [Field("u", Undescribed("Thing"), optional=True)])
    assert t.decode(bits("0")) == {}
    with pytest.raises(DecodeError, match="Thing is not described"):
        t.decode(bits("1"))
    with pytest.raises(EncodeError, match="Thing is not described"):
        t.encode({"u": 1})


# --- the error contract ---------------------------------------------------------------------------------------------


def test_decode_error_carries_offset_and_path() -> None:
    inner = Sequence("Inner", [Field("a", Integer("A", 0, 65535))])
    t = Sequence("Outer", [Field("x", Integer("X", 0, 255)), Field("list", SequenceOf("L", inner, Size(1, 4)))])
    with pytest.raises(DecodeError) as info:
        t.decode(bits("00000001 01 00000000 00000101 000000"))  # two items announced, the second one cut
    error = info.value
    assert isinstance(error, ValidationError)
    assert error.reason == "decode_error"
    assert error.path == "Outer.list[1].a"
    assert error.bit_offset == 26
    assert "need 16 bits, 6 left at bit 26 in Outer.list[1].a" in error.detail


def test_trailing_octets_and_padding_rejected() -> None:
    with pytest.raises(DecodeError, match="1 trailing octets"):
        Integer("I", 0, 255).decode(b"\x01\x02")
    with pytest.raises(DecodeError, match="non-zero padding"):
        Integer("I", 0, 7).decode(b"\x21")
    assert Integer("I", 0, 255).decode_prefix(b"\x01\x02") == (1, 1)
    assert Integer("I", 0, 255).decode_prefix(b"\x01\x02", 1) == (2, 1)
    with pytest.raises(DecodeError, match="empty encoding"):
        Null().decode(b"")
    with pytest.raises(DecodeError, match="offset 3 outside"):
        Integer("I", 0, 255).decode_prefix(b"\x01\x02", 3)
    with pytest.raises(DecodeError, match="truncated"):
        Integer("I", 0, 255).decode_prefix(b"\x01\x02", 2)


def test_package_exports_are_complete() -> None:
    public = {name for name, obj in vars(roadlink.codec).items() if not name.startswith("_")}
    modules = {name for name, obj in vars(roadlink.codec).items() if isinstance(obj, types.ModuleType)}
    assert set(roadlink.codec.__all__) == public - modules - {"annotations"}

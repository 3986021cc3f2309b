"""The base of every UPER type node, the code generation behind it, and open-type framing.

Fixed-width types (constrained INTEGER, BOOLEAN, NULL, non-extensible ENUMERATED, fixed-size BIT and OCTET
STRING) describe themselves as two source fragments: an expression from raw bits to the value and statements
from the value to raw bits. `AsnType._compile_fixed` builds their standalone decoder and encoder from those
fragments, and `Sequence` inlines the same fragments into its own generated function, so a run of fixed-width
components is read with one shift and mask. All other types implement `_decode` / `_encode` directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from roadlink.codec.bitio import FRAGMENT, BitReader, BitWriter, CodecError, Raw, fail_encode
from roadlink.codec.errors import DecodeError, EncodeError

__all__ = [
    "FOREIGN",
    "AsnType",
    "Decoder",
    "Encoder",
    "Gen",
    "contained",
    "decode_in",
    "encode_open",
    "foreign",
    "indent",
    "raw_of",
    "read_open",
]

Decoder = Callable[[BitReader], Any]
Encoder = Callable[[BitWriter, Any], None]

FOREIGN = (KeyError, TypeError, ValueError, AttributeError, OverflowError, IndexError)
"""Exceptions a malformed *value* can provoke while encoding; they become EncodeError."""


def _bad(r: BitReader, p: int, label: str, message: str) -> NoReturn:
    raise CodecError(message, r.base + p, [label] if label else [])


def _trunc(r: BitReader, p: int, want: int, label: str) -> CodecError:
    return CodecError(f"truncated: need {want} bits, {r.n - p} left", r.base + p, [label] if label else [])


def _erange(label: str, value: object, lb: int, ub: int) -> NoReturn:
    raise CodecError(f"{value!r} outside {lb}..{ub}", None, [label] if label else [])


def _ebad(label: str, message: str, value: object) -> NoReturn:
    raise CodecError(f"{message}, got {value!r}", None, [label] if label else [])


def foreign(exc: Exception) -> CodecError:
    """The failure for a foreign exception raised by a malformed value."""
    if isinstance(exc, KeyError):
        return CodecError(f"missing component {exc.args[0]!r}")
    return CodecError(f"invalid value ({type(exc).__name__}: {exc})")


def _extra(value: object, names: Iterable[str], mandatory: Iterable[str] = ()) -> CodecError:
    if not isinstance(value, dict):
        return CodecError(f"expected a dict, got {value!r}")
    unknown = sorted(map(str, set(value) - set(names)))
    missing = sorted(set(mandatory) - set(value))
    return CodecError(f"unknown components {unknown}" if unknown else f"missing components {missing}")


_HELPERS: dict[str, object] = {
    "_F": CodecError,
    "_bad": _bad,
    "_trunc": _trunc,
    "_erange": _erange,
    "_ebad": _ebad,
    "_foreign": foreign,
    "_extra": _extra,
    "_FOREIGN": FOREIGN,
    "_BYTES": (bytes, bytearray),
}


class Gen:
    """Collects the constants of one generated function and compiles its source."""

    def __init__(self) -> None:
        self.ns: dict[str, object] = dict(_HELPERS)
        self._count = 0

    def const(self, obj: object) -> str:
        """A name under which the generated code sees `obj`."""
        name = f"_k{self._count}"
        self._count += 1
        self.ns[name] = obj
        return name

    def local(self) -> str:
        """A fresh local variable name for the generated code."""
        self._count += 1
        return f"_s{self._count}"

    def build(self, lines: list[str], fname: str, origin: str) -> Any:
        """Compile `lines` (which define `fname`) and return the function."""
        exec(compile("\n".join(lines) + "\n", f"<uper {origin}>", "exec"), self.ns)  # our own generated source
        return self.ns[fname]


def indent(lines: list[str], depth: int = 1) -> list[str]:
    """`lines` indented by `depth` levels."""
    return [("    " * depth) + line for line in lines]


def _path(root: str, failure: CodecError) -> str:
    text = root
    for part in reversed(failure.path):
        text += part if part.startswith("[") else "." + part
    return text


class AsnType:
    """A node of a description: `decode`, `decode_prefix` and `encode` work on any node.

    `width` is the encoded size in bits when it is the same for every value (the type is then read inline by
    an enclosing SEQUENCE), else None.
    """

    width: int | None = None

    def __init__(self, name: str) -> None:
        self.name = name
        self._dec: Decoder = self._decode
        self._enc: Encoder = self._encode

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def decode(self, data: bytes) -> Any:
        """Decode one complete encoding that fills `data` exactly (only zero padding up to the octet)."""
        value, used = self.decode_prefix(data)
        if used != len(data):
            raise DecodeError(f"{len(data) - used} trailing octets", bit_offset=used * 8, path=self.name)
        return value

    def decode_prefix(self, data: bytes, offset: int = 0) -> tuple[Any, int]:
        """Decode one encoding starting at octet `offset`; return it and the octets it used (its padded size).

        This splits a stream of concatenated encodings: the next one starts `used` octets later.
        """
        if not 0 <= offset <= len(data):
            raise DecodeError(f"offset {offset} outside the {len(data)} input octets", path=self.name)
        r = BitReader.of(data, offset)
        try:
            value = self._dec(r)
        except CodecError as failure:
            raise DecodeError(failure.message, bit_offset=failure.bit, path=_path(self.name, failure)) from failure
        used = max(1, (r.pos + 7) >> 3)
        if used * 8 > r.n:
            raise DecodeError("truncated: an empty encoding still takes one octet", bit_offset=r.base, path=self.name)
        if (r.v >> (r.n - used * 8)) & ((1 << (used * 8 - r.pos)) - 1):
            raise DecodeError("non-zero padding bits", bit_offset=r.base + r.pos, path=self.name)
        return value, used

    def encode(self, value: Any) -> bytes:
        """Encode `value` as a complete encoding (zero-padded to whole octets, at least one octet)."""
        w = BitWriter()
        try:
            self._enc(w, value)
        except CodecError as failure:
            raise EncodeError(failure.message, path=_path(self.name, failure)) from failure
        except FOREIGN as exc:
            raise EncodeError(foreign(exc).message, path=self.name) from exc
        return w.to_bytes()

    # Fixed-width types provide these two instead of _decode / _encode.
    def _dec_expr(self, x: str, g: Gen, label: str) -> str:
        """A Python expression turning the raw bits `x` into the value (it may call `_bad(r, p, ...)`)."""
        raise NotImplementedError

    def _enc_lines(self, v: str, out: str, g: Gen, label: str) -> list[str]:
        """Python statements that check the value in local `v` and set local `out` to its raw bits."""
        raise NotImplementedError

    def _decode(self, r: BitReader) -> Any:
        raise NotImplementedError

    def _encode(self, w: BitWriter, value: Any) -> None:
        raise NotImplementedError

    def _compile_fixed(self, width: int) -> None:
        """For a fixed-width type: build the standalone decoder and encoder from the inline fragments."""
        self.width = width
        g = Gen()
        dec = [
            "def dec(r):",
            f"    p = r.pos; e = p + {width}",
            f"    if e > r.n: raise _trunc(r, p, {width}, '')",
            f"    x = (r.v >> (r.n - e)) & {(1 << width) - 1}",
            f"    val = {self._dec_expr('x', g, '')}",
            "    r.pos = e",
            "    return val",
        ]
        enc = ["def enc(w, v):", *indent(self._enc_lines("v", "o", g, ""))]
        enc += [f"    w.acc = (w.acc << {width}) | o", f"    w.n += {width}"]
        self._dec = g.build(dec, "dec", self.name)
        self._enc = g.build(enc, "enc", self.name)


# --- open types: a length in octets, then a complete encoding ------------------------------------------------------


def read_open(r: BitReader) -> BitReader:
    """The octets of an open type (length determinant, possibly fragmented) as a reader of their own."""
    start = r.pos
    count, more = r.read_length()
    if not more:
        return r.sub(count)
    value, total = r.read_octets(count), count
    while more:
        count, more = r.read_length()
        value, total = (value << (8 * count)) | r.read_octets(count), total + count
    return BitReader(value, 8 * total, r.base + start)


def _write_open(w: BitWriter, value: int, count: int) -> None:
    done = 0
    while True:
        rest = count - done
        step = w.write_length(rest)
        w.write_octets((value >> (8 * (rest - step))) & ((1 << (8 * step)) - 1), step)
        done += step
        if rest < FRAGMENT:
            return


def raw_of(sub: BitReader) -> Raw:
    """All the octets of `sub` as `Raw`."""
    return Raw(sub.v.to_bytes(sub.n // 8, "big"))


def contained(t: AsnType, sub: BitReader) -> Any:
    """Decode `t` from the whole of `sub`: one complete encoding, zero-padded, nothing after it."""
    value = t._dec(sub)
    used = sub.pos
    need = max(1, (used + 7) >> 3)
    if need * 8 != sub.n:
        raise sub.fail(f"open type holds {sub.n // 8} octets but its value takes {need}", used)
    if sub.v & ((1 << (sub.n - used)) - 1):
        raise sub.fail("non-zero padding in open type", used)
    return value


def decode_in(t: AsnType | None, sub: BitReader, lenient: bool) -> Any:
    """The content of an open type: `t`'s value, or Raw when there is no `t` (or, if lenient, it fails)."""
    if t is None:
        return raw_of(sub)
    if not lenient:
        return contained(t, sub)
    try:
        return contained(t, sub)
    except CodecError:
        return raw_of(sub)


def encode_open(w: BitWriter, t: AsnType | None, value: Any) -> None:
    """Write `value` as an open type: verbatim when it is Raw (or there is no `t`), else `t`'s encoding."""
    if t is None or type(value) is Raw:
        if not isinstance(value, bytes | bytearray):
            fail_encode(f"expected raw open-type bytes, got {value!r}")
        _write_open(w, int.from_bytes(value, "big"), len(value))
        return
    sub = BitWriter()
    t._enc(sub, value)
    _write_open(w, *sub.padded())

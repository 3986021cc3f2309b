"""The primitive UPER types: INTEGER, BOOLEAN, NULL, ENUMERATED, BIT / OCTET STRING, character strings, open types.

Fixed-width ones compile to generated code through `AsnType._compile_fixed`; the others implement `_decode` and
`_encode` directly. `SizedType` holds the length handling shared with SEQUENCE OF (in `constructed`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from roadlink.codec.base import AsnType, Gen, decode_in, encode_open, raw_of, read_open
from roadlink.codec.bitio import FRAGMENT, BitReader, BitWriter, bit_width, fail_encode

__all__ = [
    "BitString",
    "Boolean",
    "Enumerated",
    "IA5String",
    "Integer",
    "Null",
    "OctetString",
    "OpenType",
    "OpenTypeBy",
    "Size",
    "UTF8String",
    "Undescribed",
]

_MAX_ITEMS = 1 << 20  # cap on a fragmented list of zero-width items, so that no input can make us spin


# --- simple types ------------------------------------------------------------------------------------------------


class Integer(AsnType):
    """INTEGER, constrained `lb..ub` (fixed width), semi-constrained (`ub=None`), unconstrained, or extensible."""

    def __init__(self, name: str, lb: int | None = None, ub: int | None = None, *, extensible: bool = False) -> None:
        super().__init__(name)
        if lb is not None and ub is not None and lb > ub:
            raise ValueError(f"{name}: empty range {lb}..{ub}")
        self.lb, self.ub, self.extensible = lb, ub, extensible
        self.constrained = lb is not None and ub is not None
        if self.constrained and not extensible:
            self._compile_fixed(self._root_width)

    @property
    def _root_width(self) -> int:
        return bit_width((self.ub or 0) - (self.lb or 0) + 1)

    def _dec_expr(self, x: str, g: Gen, label: str) -> str:
        span, width = (self.ub or 0) - (self.lb or 0), self._root_width
        add = f" + {self.lb}" if self.lb else ""
        if span + 1 == 1 << width:
            return f"({x}{add})" if add else x
        return f"(_t{add} if (_t := {x}) <= {span} else _bad(r, p, {label!r}, 'value above {self.ub}'))"

    def _enc_lines(self, v: str, out: str, g: Gen, label: str) -> list[str]:
        sub = f" - {self.lb}" if self.lb else ""
        return [
            f"if not ({self.lb} <= {v} <= {self.ub}): _erange({label!r}, {v}, {self.lb}, {self.ub})",
            f"{out} = {v}{sub}",
        ]

    def _decode(self, r: BitReader) -> int:
        lb, ub = self.lb, self.ub
        if self.extensible and r.read(1):
            start = r.pos
            value = r.read_unconstrained()
            if self._in_root(value):
                raise r.fail(f"root value {value} in extension form", start)
            return value
        start = r.pos
        if lb is None:  # MIN..ub is encoded like an unconstrained number
            value = r.read_unconstrained()
        elif ub is None:
            value = r.read_semi_constrained(lb)
        else:
            value = lb + r.read(self._root_width)
        if not self._in_root(value):
            raise r.fail(f"value {value} outside {lb}..{ub}", start)
        return value

    def _in_root(self, value: int) -> bool:
        return (self.lb is None or value >= self.lb) and (self.ub is None or value <= self.ub)

    def _encode(self, w: BitWriter, value: Any) -> None:
        if not isinstance(value, int):
            fail_encode(f"expected an int, got {value!r}")
        in_root = self._in_root(value)
        if self.extensible:
            w.write(0 if in_root else 1, 1)
            if not in_root:
                w.write_unconstrained(value)
                return
        elif not in_root:
            fail_encode(f"{value} outside {self.lb}..{self.ub}")
        if self.lb is None:
            w.write_unconstrained(value)
        elif self.ub is None:
            w.write_semi_constrained(value, self.lb)
        else:
            w.write(value - self.lb, self._root_width)


class Boolean(AsnType):
    """BOOLEAN: one bit."""

    def __init__(self, name: str = "BOOLEAN") -> None:
        super().__init__(name)
        self._compile_fixed(1)

    def _dec_expr(self, x: str, g: Gen, label: str) -> str:
        return f"({x} != 0)"

    def _enc_lines(self, v: str, out: str, g: Gen, label: str) -> list[str]:
        return [f"{out} = 1 if {v} is True else 0 if {v} is False else _ebad({label!r}, 'expected a bool', {v})"]


class Null(AsnType):
    """NULL: no bits; the value is None."""

    def __init__(self, name: str = "NULL") -> None:
        super().__init__(name)
        self._compile_fixed(0)

    def _dec_expr(self, x: str, g: Gen, label: str) -> str:
        return "None"

    def _enc_lines(self, v: str, out: str, g: Gen, label: str) -> list[str]:
        return [f"if {v} is not None: _ebad({label!r}, 'expected None', {v})", f"{out} = 0"]


class Enumerated(AsnType):
    """ENUMERATED: `root` names in index order (sorted by their numbers); `extensions` makes it extensible."""

    def __init__(self, name: str, root: Iterable[str], extensions: Iterable[str] | None = None) -> None:
        super().__init__(name)
        self.root = tuple(root)
        self.extensions = tuple(extensions) if extensions is not None else None
        self._root_index = {n: i for i, n in enumerate(self.root)}
        self._ext_index = {n: i for i, n in enumerate(self.extensions or ())}
        if len(self._root_index) + len(self._ext_index) != len(self.root) + len(self.extensions or ()):
            raise ValueError(f"{name}: duplicate names")
        if self.extensions is None:
            self._compile_fixed(bit_width(len(self.root)))

    def _dec_expr(self, x: str, g: Gen, label: str) -> str:
        names = g.const(self.root)
        if len(self.root) == 1 << bit_width(len(self.root)):
            return f"{names}[{x}]"
        return (
            f"({names}[_t] if (_t := {x}) < {len(self.root)} else _bad(r, p, {label!r}, 'unknown enumeration index'))"
        )

    def _enc_lines(self, v: str, out: str, g: Gen, label: str) -> list[str]:
        index = g.const(self._root_index)
        message = f"not in {self.name}"
        return [f"{out} = {index}.get({v})", f"if {out} is None: _ebad({label!r}, {message!r}, {v})"]

    def _decode(self, r: BitReader) -> str | int:
        if r.read(1):
            index = r.read_normally_small()
            ext = self.extensions or ()
            return ext[index] if index < len(ext) else index
        start = r.pos
        index = r.read(bit_width(len(self.root)))
        if index >= len(self.root):
            raise r.fail(f"enumeration index {index} not in the root", start)
        return self.root[index]

    def _encode(self, w: BitWriter, value: Any) -> None:
        root = self._root_index.get(value) if isinstance(value, str) else None
        if root is not None:
            w.write(root, 1 + bit_width(len(self.root)))  # extension bit 0, then the index
            return
        ext = self._ext_index.get(value) if isinstance(value, str) else None
        if ext is None and type(value) is int and value >= len(self._ext_index):
            ext = value
        if ext is None:
            fail_encode(f"{value!r} not in {self.name}")
        w.write(1, 1)
        w.write_normally_small(ext)


@dataclass(frozen=True, slots=True)
class Size:
    """A size constraint `lb..ub` (ub None = no upper bound), optionally extensible."""

    lb: int = 0
    ub: int | None = None
    extensible: bool = False

    @property
    def constrained(self) -> bool:
        """True when the length is a constrained whole number rather than a length determinant."""
        return self.ub is not None and self.ub < 65536

    @property
    def fixed(self) -> int | None:
        """The size when there is no length at all on the wire."""
        return self.lb if self.constrained and self.lb == self.ub and not self.extensible else None

    def in_root(self, count: int) -> bool:
        """True when `count` satisfies the root constraint."""
        return self.lb <= count and (self.ub is None or count <= self.ub)


class SizedType(AsnType):
    """Shared length handling of BIT STRING, OCTET STRING, IA5String and SEQUENCE OF (X.691 11.9 and 16-20)."""

    def __init__(self, name: str, size: Size | None) -> None:
        super().__init__(name)
        self.size = size or Size()
        ub = self.size.ub
        self._count_bits = bit_width(ub - self.size.lb + 1) if ub is not None and self.size.constrained else 0

    def _read_parts(self, r: BitReader, part: Callable[[BitReader, int], Any]) -> tuple[list[Any], int]:
        size, start = self.size, r.pos
        extended = bool(size.extensible and r.read(1))
        if size.constrained and not extended:
            count = size.lb + r.read(self._count_bits)
            if size.ub is not None and count > size.ub:
                raise r.fail(f"size {count} above {size.ub}", start)
            return [part(r, count)], count
        parts, total = [], 0
        while True:
            count, more = r.read_length()
            parts.append(part(r, count))
            total += count
            if total > _MAX_ITEMS:
                raise r.fail("too many items", start)
            if not more:
                break
        if extended == size.in_root(total):
            raise r.fail(f"size {total} {'in root but extension form' if extended else 'outside'} constraint", start)
        return parts, total

    def _write_parts(self, w: BitWriter, count: int, part: Callable[[BitWriter, int, int], None]) -> None:
        size = self.size
        in_root = size.in_root(count)
        if size.extensible:
            w.write(0 if in_root else 1, 1)
        elif not in_root:
            fail_encode(f"size {count} outside {size.lb}..{size.ub}")
        if in_root and size.constrained:
            w.write(count - size.lb, self._count_bits)
            part(w, 0, count)
            return
        done = 0
        while True:
            rest = count - done
            step = w.write_length(rest)
            part(w, done, step)
            done += step
            if rest < FRAGMENT:
                return


class BitString(SizedType):
    """BIT STRING with an optional size constraint; the value is (bits, length)."""

    def __init__(self, name: str, size: Size | None = None) -> None:
        super().__init__(name, size)
        if self.size.fixed is not None:
            self._compile_fixed(self.size.fixed)

    def _dec_expr(self, x: str, g: Gen, label: str) -> str:
        return f"({x}, {self.width})"

    def _enc_lines(self, v: str, out: str, g: Gen, label: str) -> list[str]:
        n = self.width
        return [
            f"{out}, _n = {v}",
            f"if _n != {n} or type({out}) is not int or not 0 <= {out} < {1 << (n or 0)}: "
            f"_ebad({label!r}, 'expected ({n}-bit int, {n})', {v})",
        ]

    def _decode(self, r: BitReader) -> tuple[int, int]:
        parts, total = self._read_parts(r, lambda rr, k: (rr.read(k), k))
        bits = 0
        for value, k in parts:
            bits = (bits << k) | value
        return bits, total

    def _encode(self, w: BitWriter, value: Any) -> None:
        bits, length = value
        if type(bits) is not int or type(length) is not int or not 0 <= bits < (1 << length if length >= 0 else 0):
            fail_encode(f"expected (bits, length), got {value!r}")
        self._write_parts(w, length, lambda ww, i, k: ww.write((bits >> (length - i - k)) & ((1 << k) - 1), k))


class OctetString(SizedType):
    """OCTET STRING with an optional size constraint; the value is bytes."""

    def __init__(self, name: str, size: Size | None = None) -> None:
        super().__init__(name, size)
        if self.size.fixed is not None:
            self._compile_fixed(8 * self.size.fixed)

    def _dec_expr(self, x: str, g: Gen, label: str) -> str:
        return f"{x}.to_bytes({(self.width or 0) // 8}, 'big')"

    def _enc_lines(self, v: str, out: str, g: Gen, label: str) -> list[str]:
        n = (self.width or 0) // 8
        return [
            f"if not isinstance({v}, _BYTES) or len({v}) != {n}: _ebad({label!r}, 'expected {n} bytes', {v})",
            f"{out} = int.from_bytes({v}, 'big')",
        ]

    def _decode(self, r: BitReader) -> bytes:
        parts, _ = self._read_parts(r, lambda rr, k: rr.read_octets(k).to_bytes(k, "big"))
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _encode(self, w: BitWriter, value: Any) -> None:
        if not isinstance(value, bytes | bytearray):
            fail_encode(f"expected bytes, got {value!r}")
        data = bytes(value)
        self._write_parts(w, len(data), lambda ww, i, k: ww.write_octets(int.from_bytes(data[i : i + k], "big"), k))


class IA5String(SizedType):
    """IA5String (7 bits a character, no permitted-alphabet constraint) with an optional size constraint."""

    def __init__(self, name: str, size: Size | None = None) -> None:
        super().__init__(name, size)

    def _decode(self, r: BitReader) -> str:
        parts, _ = self._read_parts(r, self._read_chars)
        return "".join(parts)

    @staticmethod
    def _read_chars(r: BitReader, count: int) -> str:
        raw = r.read(7 * count)
        return "".join(chr((raw >> (7 * (count - 1 - i))) & 0x7F) for i in range(count))

    def _encode(self, w: BitWriter, value: Any) -> None:
        if not isinstance(value, str) or not value.isascii():
            fail_encode(f"expected an ASCII str, got {value!r}")
        codes = value.encode("ascii")

        def chars(ww: BitWriter, start: int, count: int) -> None:
            for code in codes[start : start + count]:
                ww.write(code, 7)

        self._write_parts(w, len(codes), chars)


class UTF8String(AsnType):
    """UTF8String: a length in octets (size constraints are not PER-visible) and the UTF-8 bytes."""

    def __init__(self, name: str = "UTF8String") -> None:
        super().__init__(name)
        self._octets = OctetString(name)

    def _decode(self, r: BitReader) -> str:
        start = r.pos
        data: bytes = self._octets._decode(r)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise r.fail(f"invalid UTF-8: {exc.reason}", start) from exc

    def _encode(self, w: BitWriter, value: Any) -> None:
        if not isinstance(value, str):
            fail_encode(f"expected a str, got {value!r}")
        self._octets._encode(w, value.encode("utf-8"))


class Undescribed(AsnType):
    """A type this description does not spell out: decoding a value of it fails (so an enclosing lenient
    open type keeps the raw octets instead), and so does encoding one."""

    def _decode(self, r: BitReader) -> Any:
        raise r.fail(f"{self.name} is not described")

    def _encode(self, w: BitWriter, value: Any) -> None:
        fail_encode(f"{self.name} is not described")


# --- open types ----------------------------------------------------------------------------------------------------


class OpenType(AsnType):
    """An open type: a length in octets, then a complete encoding of `inner`.

    With `inner` None the value is always `Raw`. With `lenient`, content that `inner` cannot decode is kept as
    `Raw` instead of failing, so foreign or newer content still round-trips byte for byte.
    """

    def __init__(self, name: str, inner: AsnType | None = None, *, lenient: bool = False) -> None:
        super().__init__(name)
        self.inner, self.lenient = inner, lenient

    def _decode(self, r: BitReader) -> Any:
        return decode_in(self.inner, read_open(r), self.lenient)

    def _encode(self, w: BitWriter, value: Any) -> None:
        encode_open(w, self.inner, value)


class OpenTypeBy(AsnType):
    """An open type whose content type is picked by an earlier component of the same SEQUENCE (a table
    constraint): `table` maps that component's value to a type, and other values give `Raw`."""

    def __init__(self, name: str, selector: str, table: Mapping[Any, AsnType], *, lenient: bool = False) -> None:
        super().__init__(name)
        self.selector, self.table, self.lenient = selector, dict(table), lenient

    def _decode(self, r: BitReader) -> Any:
        return raw_of(read_open(r))

    def _encode(self, w: BitWriter, value: Any) -> None:
        encode_open(w, None, value)

    def decode_by(self, r: BitReader, key: object) -> Any:
        """Decode the content for selector value `key`."""
        return decode_in(self.table.get(key), read_open(r), self.lenient)

    def encode_by(self, w: BitWriter, value: Any, key: object) -> None:
        """Encode the content for selector value `key`."""
        encode_open(w, self.table.get(key), value)

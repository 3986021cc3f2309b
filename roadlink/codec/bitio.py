"""Bit-level reading and writing for unaligned PER (X.691), over Python ints.

The reader turns the whole input into one int and cuts fields out of it with a shift and a mask, so a field
of any width costs one operation (there is no per-bit loop). The writer appends fields to one growing int.
Both also hold the X.691 building blocks that are not tied to one type: length determinants (with
fragmentation), normally small numbers, and semi-constrained and unconstrained whole numbers.

Failures inside the engine raise `CodecError`, a cheap internal exception that collects the type path as it
propagates; the public entry points in `uper` turn it into `DecodeError` or `EncodeError`.
"""

from __future__ import annotations

from typing import NoReturn

__all__ = [
    "FRAGMENT",
    "BitReader",
    "BitWriter",
    "CodecError",
    "Raw",
    "bit_width",
]

FRAGMENT = 16384
"""Items per fragment unit of a length determinant (X.691 11.9.3.8): a fragment holds 1..4 of these."""


class CodecError(Exception):
    """Internal failure: `bit` is the absolute bit offset (None when encoding), `path` grows innermost first."""

    __slots__ = ("bit", "message", "path")

    def __init__(self, message: str, bit: int | None = None, path: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.bit = bit
        self.path: list[str] = path if path is not None else []


class Raw(bytes):
    """Undecoded open-type content (an octet-padded complete encoding), re-encoded verbatim."""

    def __repr__(self) -> str:
        return f"Raw({bytes(self).hex()!r})"


def bit_width(value_range: int) -> int:
    """Bits for a constrained whole number with `value_range` possible values (X.691 11.5.6, unaligned)."""
    return (value_range - 1).bit_length()


class BitReader:
    """Reads fields MSB first from `n` bits held in the int `v`; `base` is the offset of bit 0 in the input."""

    __slots__ = ("base", "n", "pos", "v")

    def __init__(self, v: int, n: int, base: int = 0) -> None:
        self.v = v
        self.n = n
        self.pos = 0
        self.base = base

    @classmethod
    def of(cls, data: bytes, offset_bytes: int = 0) -> BitReader:
        """A reader over `data[offset_bytes:]`, reporting offsets relative to the start of `data`."""
        view = data[offset_bytes:] if offset_bytes else data
        return cls(int.from_bytes(view, "big"), len(view) * 8, offset_bytes * 8)

    def fail(self, message: str, at: int | None = None) -> CodecError:
        """A failure located at bit `at` (default: the current position) of this reader."""
        return CodecError(message, self.base + (self.pos if at is None else at))

    def truncated(self, want: int) -> CodecError:
        """The failure for needing `want` more bits than are left."""
        return self.fail(f"truncated: need {want} bits, {self.n - self.pos} left")

    def read(self, k: int) -> int:
        """The next `k` bits as a non-negative int."""
        end = self.pos + k
        if end > self.n:
            raise self.truncated(k)
        self.pos = end
        return (self.v >> (self.n - end)) & ((1 << k) - 1)

    def read_octets(self, count: int) -> int:
        """The next `count` octets as one int (big-endian), checking the length before touching the data."""
        return self.read(count * 8)

    def sub(self, count: int) -> BitReader:
        """Consume the next `count` octets and return a reader over just them (for open types)."""
        start = self.pos
        value = self.read_octets(count)
        return BitReader(value, count * 8, self.base + start)

    def read_length(self) -> tuple[int, bool]:
        """A general length determinant: (length, more) where `more` means a fragment, another length follows."""
        first = self.read(8)
        if first < 0x80:
            return first, False
        if first < 0xC0:
            length = ((first & 0x3F) << 8) | self.read(8)
            if length < 0x80:
                raise self.fail(f"non-canonical two-octet length {length}", self.pos - 16)
            return length, False
        units = first & 0x3F
        if not 1 <= units <= 4:
            raise self.fail(f"bad fragment length unit count {units}", self.pos - 8)
        return units * FRAGMENT, True

    def read_small_length(self) -> int:
        """A length determinant that may not be fragmented (lengths of whole numbers and open types' parts)."""
        length, more = self.read_length()
        if more:
            raise self.fail("fragmented length where none is allowed", self.pos - 8)
        return length

    def read_normally_small(self) -> int:
        """A normally small non-negative whole number (X.691 11.6)."""
        if not self.read(1):
            return self.read(6)
        value = self.read_semi_constrained(0)
        if value < 64:
            raise self.fail(f"non-canonical normally small number {value}")
        return value

    def read_normally_small_length(self) -> int:
        """A normally small length (X.691 11.9.3.4), used for the extension bitmap; always >= 1."""
        if not self.read(1):
            return self.read(6) + 1
        length = self.read_small_length()
        if length <= 64:
            raise self.fail(f"non-canonical normally small length {length}")
        return length

    def read_semi_constrained(self, lb: int) -> int:
        """A semi-constrained whole number: length in octets, then value - lb, minimal octets."""
        start = self.pos
        count = self.read_small_length()
        if count == 0:
            raise self.fail("zero-length integer", start)
        value = self.read_octets(count)
        if count > 1 and value >> (8 * count - 8) == 0:
            raise self.fail("non-minimal integer encoding", start)
        return lb + value

    def read_unconstrained(self) -> int:
        """An unconstrained whole number: length in octets, then two's complement, minimal octets."""
        start = self.pos
        count = self.read_small_length()
        if count == 0:
            raise self.fail("zero-length integer", start)
        raw = self.read_octets(count)
        bits = 8 * count
        value = raw - (1 << bits) if raw >> (bits - 1) else raw
        if count > 1 and -(1 << (bits - 9)) <= value < (1 << (bits - 9)):
            raise self.fail("non-minimal integer encoding", start)
        return value


class BitWriter:
    """Appends fields MSB first to the int `acc`, which holds `n` bits."""

    __slots__ = ("acc", "n")

    def __init__(self) -> None:
        self.acc = 0
        self.n = 0

    def write(self, value: int, k: int) -> None:
        """Append `value` (0 <= value < 2**k, checked by the caller) in `k` bits."""
        self.acc = (self.acc << k) | value
        self.n += k

    def padded(self) -> tuple[int, int]:
        """The content padded with zero bits to whole octets, at least one octet: (int, octet count)."""
        count = max(1, (self.n + 7) >> 3)
        return self.acc << (count * 8 - self.n), count

    def to_bytes(self) -> bytes:
        """The content as octets (a complete encoding: zero-padded, never empty)."""
        value, count = self.padded()
        return value.to_bytes(count, "big")

    def write_length(self, length: int) -> int:
        """Write one general length determinant for `length` remaining items; return how many it covers.

        Below 16384 that is `length` itself; above, a fragment of 1..4 units of 16384 that the caller writes
        before calling again with the rest (X.691 11.9.3.8, which ends with a zero length when needed).
        """
        if length < 0x80:
            self.write(length, 8)
            return length
        if length < FRAGMENT:
            self.write(0x8000 | length, 16)
            return length
        units = min(4, length // FRAGMENT)
        self.write(0xC0 | units, 8)
        return units * FRAGMENT

    def write_small_length(self, length: int) -> None:
        """A length determinant that may not be fragmented."""
        if length >= FRAGMENT:
            fail_encode(f"length {length} too large")
        self.write_length(length)

    def write_normally_small(self, value: int) -> None:
        """A normally small non-negative whole number (X.691 11.6)."""
        if value < 64:
            self.write(value, 7)
        else:
            self.write(1, 1)
            self.write_semi_constrained(value, 0)

    def write_normally_small_length(self, length: int) -> None:
        """A normally small length (X.691 11.9.3.4), length >= 1."""
        if length <= 64:
            self.write(length - 1, 7)
        else:
            self.write(1, 1)
            self.write_small_length(length)

    def write_semi_constrained(self, value: int, lb: int) -> None:
        """A semi-constrained whole number (value >= lb, checked by the caller)."""
        offset = value - lb
        count = max(1, (offset.bit_length() + 7) >> 3)
        self.write_small_length(count)
        self.write(offset, count * 8)

    def write_unconstrained(self, value: int) -> None:
        """An unconstrained whole number in minimal two's complement octets."""
        count = ((value if value >= 0 else ~value).bit_length() + 8) >> 3  # magnitude bits plus a sign bit
        self.write_small_length(count)
        self.write(value & ((1 << (count * 8)) - 1), count * 8)

    def write_octets(self, value: int, count: int) -> None:
        """Append `count` octets held in the int `value`."""
        self.write(value, count * 8)


def fail_encode(message: str) -> NoReturn:
    """Raise the internal failure for an unencodable value."""
    raise CodecError(message)

"""The constructed UPER types: SEQUENCE (generated code), SEQUENCE OF and CHOICE."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from roadlink.codec.base import AsnType, Gen, contained, encode_open, indent, raw_of, read_open
from roadlink.codec.bitio import BitReader, BitWriter, CodecError, Raw, bit_width, fail_encode
from roadlink.codec.primitives import OpenTypeBy, Size, SizedType

__all__ = ["EXTENSIONS_KEY", "Choice", "Field", "Sequence", "SequenceOf"]

EXTENSIONS_KEY = "_extensions"
"""SEQUENCE key for extension additions the description does not know: (bitmap length, ((index, Raw), ...))."""


# --- constructed types ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    """A SEQUENCE component. `default` (the DEFAULT value) makes it optional on the wire; it is informative only:
    the decoder leaves an absent component out rather than filling the default in."""

    name: str
    type: AsnType
    optional: bool = False
    default: Any = None

    @property
    def is_optional(self) -> bool:
        """True when the component has a presence bit in the preamble."""
        return self.optional or self.default is not None


class SequenceOf(SizedType):
    """SEQUENCE OF `element` with an optional (possibly extensible) size constraint; the value is a list."""

    def __init__(self, name: str, element: AsnType, size: Size | None = None) -> None:
        super().__init__(name, size)
        self.element = element
        self._counted = self.size.constrained and not self.size.extensible  # a bit-field count, no fragments

    def _decode(self, r: BitReader) -> list[Any]:
        if self._counted:
            return self._decode_counted(r)
        dec = self.element._dec

        def items(rr: BitReader, count: int) -> list[Any]:
            out = []
            for i in range(count):
                try:
                    out.append(dec(rr))
                except CodecError as failure:
                    failure.path.append(f"[{i}]")
                    raise
            return out

        parts, _ = self._read_parts(r, items)
        return parts[0] if len(parts) == 1 else [item for part in parts for item in part]

    def _decode_counted(self, r: BitReader) -> list[Any]:
        """The common case, read without closures: a constrained count, then the items."""
        start, ub = r.pos, self.size.ub or 0
        count = self.size.lb + r.read(self._count_bits)
        if count > ub:
            raise r.fail(f"size {count} above {ub}", start)
        dec, out = self.element._dec, []
        try:
            for _ in range(count):
                out.append(dec(r))
        except CodecError as failure:
            failure.path.append(f"[{len(out)}]")
            raise
        return out

    def _encode(self, w: BitWriter, value: Any) -> None:
        if not isinstance(value, list | tuple):
            fail_encode(f"expected a list, got {value!r}")
        enc = self.element._enc
        if self._counted and self.size.in_root(len(value)):
            w.write(len(value) - self.size.lb, self._count_bits)
            for i, item in enumerate(value):
                try:
                    enc(w, item)
                except CodecError as failure:
                    failure.path.append(f"[{i}]")
                    raise
            return

        def items(ww: BitWriter, start: int, count: int) -> None:
            for i in range(start, start + count):
                try:
                    enc(ww, value[i])
                except CodecError as failure:
                    failure.path.append(f"[{i}]")
                    raise

        self._write_parts(w, len(value), items)


class Choice(AsnType):
    """CHOICE: `alternatives` in index order (tag order); `extensions` (or `extensible`) adds the marker."""

    def __init__(
        self,
        name: str,
        alternatives: Iterable[tuple[str, AsnType]],
        *,
        extensible: bool = False,
        extensions: Iterable[tuple[str, AsnType]] = (),
    ) -> None:
        super().__init__(name)
        self.alternatives = tuple(alternatives)
        self.extensions = tuple(extensions)
        self.extensible = extensible or bool(self.extensions)
        self._bits = bit_width(len(self.alternatives))
        self._lookup: dict[str, tuple[int, bool, AsnType]] = {}
        for group, is_ext in ((self.alternatives, False), (self.extensions, True)):
            for index, (alt, t) in enumerate(group):
                self._lookup[alt] = (index, is_ext, t)
        if len(self._lookup) != len(self.alternatives) + len(self.extensions):
            raise ValueError(f"{name}: duplicate alternative names")
        if any(t.width for _, t in self.alternatives):
            self._dec = self._build_decoder()

    def _build_decoder(self) -> Any:
        """A generated decoder that reads the index and a fixed-width alternative inline (see `base`)."""
        g, bits = Gen(), self._bits
        head = bits + int(self.extensible)
        lines = [
            "def dec(r):",
            "    v = r.v; n = r.n; s = p = r.pos",
            f"    if p + {head} > n: raise _trunc(r, p, {head}, '')",
            f"    h = (v >> (n - p - {head})) & {(1 << head) - 1}",
        ]
        if self.extensible:
            lines += [
                f"    if h >> {bits}:",
                "        r.pos = p + 1",
                f"        return {g.const(self._decode_extension)}(r)",
            ]
        lines.append(f"    p += {head}")
        for index, (alt, t) in enumerate(self.alternatives):
            lines += [f"    if h == {index}:", *indent(self._dec_alternative(alt, t, g), 2)]
        lines.append("    raise _bad(r, s, '', 'choice index ' + str(h) + ' not in the root')")
        return g.build(lines, "dec", self.name)

    @staticmethod
    def _dec_alternative(alt: str, t: AsnType, g: Gen) -> list[str]:
        width = t.width
        if width == 0:
            return ["r.pos = p", f"return ({alt!r}, {t._dec_expr('0', g, alt)})"]
        if width is not None:
            x = f"((v >> (n - p - {width})) & {(1 << width) - 1})"
            return [
                f"if p + {width} > n: raise _trunc(r, p, {width}, {alt!r})",
                f"val = {t._dec_expr(x, g, alt)}",
                f"r.pos = p + {width}",
                f"return ({alt!r}, val)",
            ]
        return [
            "r.pos = p",
            "try:",
            f"    return ({alt!r}, {g.const(t._dec)}(r))",
            "except _F as e:",
            f"    e.path.append({alt!r})",
            "    raise",
        ]

    def _decode(self, r: BitReader) -> tuple[str | int, Any]:
        start = r.pos
        if self.extensible:
            head = r.read(self._bits + 1)  # the extension bit and the root index in one read
            if head >> self._bits:
                r.pos = start + 1
                return self._decode_extension(r)
            index = head
        else:
            index = r.read(self._bits)
        if index >= len(self.alternatives):
            raise r.fail(f"choice index {index} not in the root", start)
        alt, t = self.alternatives[index]
        try:
            return alt, t._dec(r)
        except CodecError as failure:
            failure.path.append(alt)
            raise

    def _decode_extension(self, r: BitReader) -> tuple[str | int, Any]:
        index = r.read_normally_small()
        sub = read_open(r)
        if index >= len(self.extensions):
            return index, raw_of(sub)
        alt, t = self.extensions[index]
        return alt, self._inner(alt, lambda: contained(t, sub))

    @staticmethod
    def _inner(alt: str, run: Callable[[], Any]) -> Any:
        try:
            return run()
        except CodecError as failure:
            failure.path.append(alt)
            raise

    def _encode(self, w: BitWriter, value: Any) -> None:
        alt, inner = value
        entry = self._lookup.get(alt) if isinstance(alt, str) else None
        if entry is None:
            if not (self.extensible and type(alt) is int and alt >= len(self.extensions)):
                fail_encode(f"{alt!r} is not an alternative of {self.name}")
            w.write(1, 1)
            w.write_normally_small(alt)
            encode_open(w, None, inner)
            return
        index, is_ext, t = entry
        if is_ext:
            w.write(1, 1)
            w.write_normally_small(index)
            self._inner(alt, lambda: encode_open(w, t, inner))
            return
        w.write(index, self._bits + 1 if self.extensible else self._bits)  # a leading extension bit 0 if any
        try:
            t._enc(w, inner)
        except CodecError as failure:
            failure.path.append(alt)
            raise


class Sequence(AsnType):
    """SEQUENCE of `fields`; `extensible` adds the marker, `extensions` lists the known extension additions.

    Decoding and encoding are generated as one Python function each (see the module docstring of `base`).
    A SEQUENCE with no preamble (no extension marker, nothing optional) whose components all have a fixed width
    has a fixed width itself, and an enclosing SEQUENCE reads it inline as part of its own runs.
    """

    def __init__(
        self,
        name: str,
        fields: Iterable[Field],
        *,
        extensible: bool = False,
        extensions: Iterable[Field] = (),
    ) -> None:
        super().__init__(name)
        self.fields = tuple(fields)
        self.extensions = tuple(extensions)
        self.extensible = extensible or bool(self.extensions)
        names = [f.name for f in self.fields + self.extensions]
        if len(set(names)) != len(names) or EXTENSIONS_KEY in names:
            raise ValueError(f"{name}: duplicate or reserved component names")
        for i, f in enumerate(self.fields):
            if isinstance(f.type, OpenTypeBy) and f.type.selector not in names[:i]:
                raise ValueError(f"{name}.{f.name}: selector {f.type.selector!r} is not an earlier component")
        self._optional = [f for f in self.fields if f.is_optional]
        self._pre = int(self.extensible) + len(self._optional)
        self._dec = self._build_decoder()
        self._enc = self._build_encoder()
        if not self._pre and all(f.type.width is not None for f in self.fields):
            self.width = sum(f.type.width or 0 for f in self.fields)  # no preamble, all fixed: inline it too

    # inline parts, used by enclosing sequences when this one is fixed-width

    def _dec_expr(self, x: str, g: Gen, label: str) -> str:
        prefix, total, shift, bound = f"{label}." if label else "", self.width or 0, self.width or 0, False
        s, items = g.local(), []
        for f in self.fields:
            width = f.type.width or 0
            shift -= width
            raw = "0"
            if width:
                source = s if bound else f"({s} := {x})"
                bound = True
                raw = f"({source} >> {shift})" if shift else source
                raw = f"({raw} & {(1 << width) - 1})" if shift + width < total else raw
            items.append(f"{f.name!r}: {f.type._dec_expr(raw, g, prefix + f.name)}")
        return "{" + ", ".join(items) + "}"

    def _enc_lines(self, v: str, out: str, g: Gen, label: str) -> list[str]:
        prefix, shift = f"{label}." if label else "", self.width or 0
        names = [f.name for f in self.fields]
        message = f"expected a dict of {', '.join(names)}"
        lines = [f"if type({v}) is not dict or len({v}) != {len(names)}: _ebad({label!r}, {message!r}, {v})"]
        parts = []
        for f in self.fields:
            width = f.type.width or 0
            shift -= width
            x, o = g.local(), g.local()
            lines += [f"{x} = {v}[{f.name!r}]", *f.type._enc_lines(x, o, g, prefix + f.name)]
            if width:
                parts.append(f"({o} << {shift})" if shift else o)
        return [*lines, f"{out} = {' | '.join(parts) or '0'}"]

    def _bit(self, f: Field) -> int:
        return 1 << (self._pre - 1 - int(self.extensible) - self._optional.index(f))

    # decoding

    def _build_decoder(self) -> Any:
        g, pre = Gen(), self._pre
        lines = ["def dec(r):", "    v = r.v; n = r.n; p = r.pos; d = {}"]
        if pre:
            lines += [
                f"    if p + {pre} > n: raise _trunc(r, p, {pre}, '')",
                f"    pre = (v >> (n - p - {pre})) & {(1 << pre) - 1}",
                f"    p += {pre}",
            ]
        run: list[Field] = []
        for f in self.fields:
            if f.type.width is not None and not f.is_optional:
                run.append(f)
                continue
            lines += indent(self._dec_run(run, g))
            run = []
            body = self._dec_one(f, g)
            lines += [f"    if pre & {self._bit(f)}:", *indent(body, 2)] if f.is_optional else indent(body)
        lines += indent(self._dec_run(run, g))
        if self.extensible:
            ext = g.const(self._dec_extensions)
            lines += [f"    if pre & {1 << (pre - 1)}:", "        r.pos = p", f"        {ext}(r, d)"]
            lines.append("        p = r.pos")
        lines += ["    r.pos = p", "    return d"]
        return g.build(lines, "dec", self.name)

    @staticmethod
    def _dec_run(run: list[Field], g: Gen) -> list[str]:
        total = sum(f.type.width or 0 for f in run)
        if not run:
            return []
        if total == 0:
            return [f"d[{f.name!r}] = {f.type._dec_expr('0', g, f.name)}" for f in run]
        lines = [
            f"if p + {total} > n: raise _trunc(r, p, {total}, {run[0].name!r})",
            f"c = (v >> (n - p - {total})) & {(1 << total) - 1}",
        ]
        shift = total
        for f in run:
            width = f.type.width or 0
            shift -= width
            if width == 0:
                x = "0"
            elif len(run) == 1:
                x = "c"
            elif shift + width == total:
                x = f"(c >> {shift})"
            else:
                x = f"((c >> {shift}) & {(1 << width) - 1})" if shift else f"(c & {(1 << width) - 1})"
            lines.append(f"d[{f.name!r}] = {f.type._dec_expr(x, g, f.name)}")
        return [*lines, f"p += {total}"]

    @staticmethod
    def _dec_one(f: Field, g: Gen) -> list[str]:
        t, key = f.type, repr(f.name)
        width = t.width
        if width is not None:
            if width == 0:
                return [f"d[{key}] = {t._dec_expr('0', g, f.name)}"]
            x = f"((v >> (n - p - {width})) & {(1 << width) - 1})"
            return [
                f"if p + {width} > n: raise _trunc(r, p, {width}, {key})",
                f"d[{key}] = {t._dec_expr(x, g, f.name)}",
                f"p += {width}",
            ]
        if isinstance(t, OpenTypeBy):
            call = f"{g.const(t.decode_by)}(r, d.get({t.selector!r}))"
        else:
            call = f"{g.const(t._dec)}(r)"
        return [
            "r.pos = p",
            "try:",
            f"    d[{key}] = {call}",
            "except _F as e:",
            f"    e.path.append({key})",
            "    raise",
            "p = r.pos",
        ]

    def _dec_extensions(self, r: BitReader, d: dict[str, Any]) -> None:
        start = r.pos
        count = r.read_normally_small_length()
        bitmap = r.read(count)
        if not bitmap:
            raise r.fail("extension bit set but no extension additions present", start)
        unknown: list[tuple[int, Raw]] = []
        for i in range(count):
            if not (bitmap >> (count - 1 - i)) & 1:
                continue
            sub = read_open(r)
            if i >= len(self.extensions):
                unknown.append((i, raw_of(sub)))
                continue
            f = self.extensions[i]
            try:
                d[f.name] = contained(f.type, sub)
            except CodecError as failure:
                failure.path.append(f.name)
                raise
        if count != len(self.extensions) or unknown:
            d[EXTENSIONS_KEY] = (count, tuple(unknown))

    # encoding

    def _build_encoder(self) -> Any:
        g, pre = Gen(), self._pre
        names = g.const(frozenset(f.name for f in self.fields + self.extensions) | {EXTENSIONS_KEY})
        required = g.const(tuple(f.name for f in self.fields if not f.is_optional))
        mandatory = sum(1 for f in self.fields if not f.is_optional)
        body = ["if not isinstance(d, dict): raise _extra(d, ())", f"pre = 0; cnt = {mandatory}"]
        for f in self._optional:
            body.append(f"if {f.name!r} in d: pre |= {self._bit(f)}; cnt += 1")
        if self.extensible:
            ext_bit = 1 << (pre - 1)
            body += [f"if {f.name!r} in d: pre |= {ext_bit}; cnt += 1" for f in self.extensions]
            body.append(f"if {EXTENSIONS_KEY!r} in d:")
            body.append(f"    cnt += 1; pre |= {ext_bit} if d[{EXTENSIONS_KEY!r}][1] else 0")
        body += [f"if len(d) != cnt: raise _extra(d, {names}, {required})", "acc = w.acc; nb = w.n"]
        if pre:
            body.append(f"acc = (acc << {pre}) | pre; nb += {pre}")
        run: list[Field] = []
        for f in self.fields:
            if f.type.width is not None and not f.is_optional:
                run.append(f)
                continue
            body += self._enc_run(run, g)
            run = []
            one = self._enc_one(f, g)
            body += [f"if pre & {self._bit(f)}:", *indent(one)] if f.is_optional else one
        body += self._enc_run(run, g)
        if self.extensible:
            ext = g.const(self._enc_extensions)
            body += [f"if pre & {1 << (pre - 1)}:", "    w.acc = acc; w.n = nb", f"    {ext}(w, d)"]
            body.append("    acc = w.acc; nb = w.n")
        body.append("w.acc = acc; w.n = nb")
        lines = ["def enc(w, d):", "    try:", *indent(body, 2), "    except _FOREIGN as e:"]
        lines.append("        raise _foreign(e) from e")
        return g.build(lines, "enc", self.name)

    @staticmethod
    def _enc_run(run: list[Field], g: Gen) -> list[str]:
        lines: list[str] = []
        parts: list[str] = []
        total = sum(f.type.width or 0 for f in run)
        shift = total
        for i, f in enumerate(run):
            width = f.type.width or 0
            shift -= width
            lines += [f"x{i} = d[{f.name!r}]", *f.type._enc_lines(f"x{i}", f"o{i}", g, f.name)]
            if width:
                parts.append(f"(o{i} << {shift})" if shift else f"o{i}")
        if total:
            lines.append(f"acc = (acc << {total}) | {' | '.join(parts)}; nb += {total}")
        return lines

    @staticmethod
    def _enc_one(f: Field, g: Gen) -> list[str]:
        t, key = f.type, repr(f.name)
        width = t.width
        if width is not None:
            lines = [f"x = d[{key}]", *t._enc_lines("x", "o", g, f.name)]
            return [*lines, f"acc = (acc << {width}) | o; nb += {width}"] if width else lines
        if isinstance(t, OpenTypeBy):
            call = f"{g.const(t.encode_by)}(w, d[{key}], d.get({t.selector!r}))"
        else:
            call = f"{g.const(t._enc)}(w, d[{key}])"
        return [
            "w.acc = acc; w.n = nb",
            "try:",
            f"    {call}",
            "except _F as e:",
            f"    e.path.append({key})",
            "    raise",
            "acc = w.acc; nb = w.n",
        ]

    def _enc_extensions(self, w: BitWriter, d: dict[str, Any]) -> None:
        count, unknown = d.get(EXTENSIONS_KEY, (len(self.extensions), ()))
        present: dict[int, tuple[AsnType | None, Any, str]] = {}
        for i, f in enumerate(self.extensions):
            if f.name in d:
                present[i] = (f.type, d[f.name], f.name)
        for i, raw in unknown:
            if type(i) is not int or i < len(self.extensions) or i in present or type(raw) is not Raw:
                fail_encode(f"bad unknown extension addition {(i, raw)!r}")
            present[i] = (None, raw, f"extension {i}")
        if type(count) is not int or count < 1 or (present and max(present) >= count):
            fail_encode(f"bad extension count {count!r}")
        w.write_normally_small_length(count)
        w.write(sum(1 << (count - 1 - i) for i in present), count)
        for i in sorted(present):
            t, value, label = present[i]
            try:
                encode_open(w, t, value)
            except CodecError as failure:
                failure.path.append(label)
                raise

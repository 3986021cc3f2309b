"""A small, fast, declarative ASN.1 unaligned PER (X.691) engine.

A message is described once as a tree of type objects (`Integer`, `Sequence`, `Choice`, ...), and that one tree
both decodes and encodes it. Each node compiles itself when it is built: a `Sequence` generates one Python
function that reads its preamble and each run of fixed-width components with a single shift and mask, so a
whole BSM core is one read, not forty. Nothing anywhere else twiddles bits for a particular message.

Decoded values are plain Python data:

    INTEGER -> int          BOOLEAN -> bool         NULL -> None         OCTET STRING -> bytes
    ENUMERATED -> str (a root or known extension name; an unknown extension gives its extension index, an int)
    BIT STRING -> (bits, length), MSB first: the string's first bit is bit `length - 1` of `bits`
    IA5String, UTF8String -> str
    SEQUENCE -> dict of the components present: OPTIONAL and DEFAULT components are both left out when absent
        (DEFAULT values are not filled in); extension additions the description does not know are kept under
        `EXTENSIONS_KEY` as (bitmap length, ((index, Raw), ...))
    SEQUENCE OF -> list     CHOICE -> (name, value), or (extension index, Raw) for an unknown extension
    open type -> the contained value, or `Raw` (the contained octets) when there is no description for it

Encoding is canonical, and the decoder accepts only canonical input (minimal lengths and integers, zero padding,
root values in root form), so decode -> encode reproduces the input bytes. Anything wrong with the input raises
`DecodeError`, anything wrong with a value `EncodeError`; no other exception escapes.
Not supported: extension addition groups (`[[ ]]`, kept as unknown additions), PermittedAlphabet constraints,
the aligned variant.

Import the types from here. They live in `primitives` and `constructed`, on top of `base` (the type base,
code generation, open-type framing) and `bitio` (bit reader and writer, length determinants).
"""

from __future__ import annotations

from roadlink.codec.base import AsnType
from roadlink.codec.bitio import Raw
from roadlink.codec.constructed import EXTENSIONS_KEY, Choice, Field, Sequence, SequenceOf
from roadlink.codec.primitives import (
    BitString,
    Boolean,
    Enumerated,
    IA5String,
    Integer,
    Null,
    OctetString,
    OpenType,
    OpenTypeBy,
    Size,
    Undescribed,
    UTF8String,
)

__all__ = [
    "EXTENSIONS_KEY",
    "AsnType",
    "BitString",
    "Boolean",
    "Choice",
    "Enumerated",
    "Field",
    "IA5String",
    "Integer",
    "Null",
    "OctetString",
    "OpenType",
    "OpenTypeBy",
    "Raw",
    "Sequence",
    "SequenceOf",
    "Size",
    "UTF8String",
    "Undescribed",
]

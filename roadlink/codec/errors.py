"""Codec errors: both are `ValidationError`s, so a bad frame goes to dead-letter like any other bad input.

ValidationError
├── DecodeError   the bytes are not a valid encoding (reason "decode_error"); `bit_offset` and `path` say where
└── EncodeError   the value cannot be encoded (reason "encode_error"); `path` says which component
"""

from __future__ import annotations

from roadlink.domain.errors import ValidationError

__all__ = ["DecodeError", "EncodeError"]


class DecodeError(ValidationError):
    """The input is not a valid encoding: truncated, out of range, bad length, or trailing data.

    `bit_offset` counts from the first bit of the input (None when unknown); `path` is the dotted type path
    of the component being decoded, e.g. ``MessageFrame.value.coreData.lat``.
    """

    def __init__(self, message: str, *, bit_offset: int | None = None, path: str = "") -> None:
        where = [f"at bit {bit_offset}"] if bit_offset is not None else []
        if path:
            where.append(f"in {path}")
        super().__init__("decode_error", " ".join([message, *where]), field=path or None)
        self.bit_offset = bit_offset
        self.path = path


class EncodeError(ValidationError):
    """The value cannot be encoded: out of range, wrong type, missing or unknown component."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__("encode_error", message + (f" in {path}" if path else ""), field=path or None)
        self.path = path

"""Wire bytes of one `PublishRequest` field: how batches pass through the roadside node without re-encoding.

Protobuf's wire format concatenates: the bytes of two serialized messages of one type, joined, parse as a
single message whose repeated fields hold both lists in order. So the node keeps, per inbound batch and
field, a "field payload": that field's items exactly as they appear in a serialized `PublishRequest` (for
each item its tag, its length and its own bytes). A batch to the cloud is then the bytes of a header
(`sender_id`, `sender_epoch`, `sequence`, `sent_time_unix_ms`) followed by the payloads it holds. No item is
parsed or serialized one by one on the way through, and no per-item Python runs in the common case.

`split_batch` cuts a received batch into field payloads from one `SerializeToString()` of the whole batch.
When the batch holds a single field (the usual gateway batch), the payload is everything after the header.
Otherwise a walk over the top-level wire fields finds each field's bytes. Unknown fields (from a newer
sender) are not forwarded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from google.protobuf import unknown_fields
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2

from roadlink.wire.uplink import BATCH_FIELDS

__all__ = ["FIELD_NUMBERS", "FieldPayload", "encode_items", "request_bytes", "split_batch"]

_DESCRIPTOR = rs_pb2.PublishRequest.DESCRIPTOR
FIELD_NUMBERS: dict[str, int] = {name: _DESCRIPTOR.fields_by_name[name].number for name in BATCH_FIELDS}
_FIELD_NAMES = {number: name for name, number in FIELD_NUMBERS.items()}
_ORDERED_FIELDS = sorted(BATCH_FIELDS, key=FIELD_NUMBERS.__getitem__)
_HEADER_NUMBERS = {field.number for field in _DESCRIPTOR.fields if field.name not in BATCH_FIELDS}
# Serialization writes fields in number order; the single-field fast path relies on every other field
# coming before every batch field. A future field numbered after them turns the fast path off.
_HEADER_FIRST = max(_HEADER_NUMBERS) < min(FIELD_NUMBERS.values())
_WIRE_VARINT, _WIRE_I64, _WIRE_LEN, _WIRE_I32 = 0, 1, 2, 5


@dataclass(frozen=True, slots=True)
class FieldPayload:
    """`items` messages of PublishRequest field `field`, as the wire bytes `data` (tag + length + item each)."""

    field: str
    items: int
    data: bytes


def split_batch(batch: rs_pb2.PublishRequest) -> list[FieldPayload]:
    """One payload per non-empty batch field of `batch`, in field-number order (the header is left out)."""
    present = [(name, len(getattr(batch, name))) for name in _ORDERED_FIELDS if getattr(batch, name)]
    if not present:
        return []
    raw = batch.SerializeToString()
    if _HEADER_FIRST and len(present) == 1 and not len(unknown_fields.UnknownFieldSet(batch)):
        name, count = present[0]
        return [FieldPayload(name, count, raw[_header_length(raw) :])]
    spans = _field_spans(raw)
    return [
        FieldPayload(name, count, b"".join(raw[start:end] for start, end in spans[FIELD_NUMBERS[name]]))
        for name, count in present
    ]


def encode_items(field: str, serialized_items: Iterable[bytes]) -> bytes:
    """The payload of already serialized messages for `field` (tag and length before each)."""
    tag = _varint(FIELD_NUMBERS[field] << 3 | _WIRE_LEN)
    return b"".join(tag + _varint(len(item)) + item for item in serialized_items)


def request_bytes(header: rs_pb2.PublishRequest, payloads: Iterable[bytes]) -> bytes:
    """A serialized PublishRequest: `header` (no batch fields set) followed by field payloads."""
    return header.SerializeToString() + b"".join(payloads)


def _header_length(raw: bytes) -> int:
    """Bytes before the first batch field (at most the four header fields, so a short walk)."""
    position = 0
    while position < len(raw):
        number, end = _skip_field(raw, position)
        if number in _FIELD_NAMES:
            return position
        position = end
    return position


def _field_spans(raw: bytes) -> dict[int, list[tuple[int, int]]]:
    """(start, end) byte ranges per batch field number, adjacent ranges merged (each field is usually one)."""
    spans: dict[int, list[tuple[int, int]]] = {number: [] for number in _FIELD_NAMES}
    position = 0
    while position < len(raw):
        number, end = _skip_field(raw, position)
        ranges = spans.get(number)
        if ranges is not None:
            if ranges and ranges[-1][1] == position:
                ranges[-1] = (ranges[-1][0], end)
            else:
                ranges.append((position, end))
        position = end
    return spans


def _skip_field(raw: bytes, position: int) -> tuple[int, int]:
    """The field number of the wire field at `position`, and where the next one starts."""
    key, position = _read_varint(raw, position)
    wire_type = key & 7
    if wire_type == _WIRE_LEN:
        length, position = _read_varint(raw, position)
        return key >> 3, position + length
    if wire_type == _WIRE_VARINT:
        return key >> 3, _read_varint(raw, position)[1]
    if wire_type == _WIRE_I64:
        return key >> 3, position + 8
    if wire_type == _WIRE_I32:
        return key >> 3, position + 4
    raise ValueError(f"unsupported wire type {wire_type} in a PublishRequest")


def _read_varint(raw: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = raw[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)

"""Field payloads: a batch cut into per-field wire bytes and joined again parses to the same messages."""

from __future__ import annotations

import pytest
from google.protobuf import unknown_fields
from hypothesis import given
from hypothesis import strategies as st
from v2x.roadside.v1 import info_pb2, perception_pb2
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.vehicle.v1 import vehicle_pb2

from roadside.batch_payload import FIELD_NUMBERS, encode_items, request_bytes, split_batch


def _header(sequence: int = 42) -> rs_pb2.PublishRequest:
    """A gateway batch's header fields, no items."""
    return rs_pb2.PublishRequest(
        sender_id="gw-1", sender_epoch=1_700_000_000_000, sequence=sequence, sent_time_unix_ms=17
    )


def _state(index: int) -> vehicle_pb2.VehicleState:
    return vehicle_pb2.VehicleState(temporary_id=index.to_bytes(4, "big"), message_count=index % 128)


def _frame(index: int) -> perception_pb2.PerceptionFrame:
    return perception_pb2.PerceptionFrame(source_id=f"lidar-{index}", frame_sequence=index)


def _status(index: int) -> info_pb2.RsuStatus:
    return info_pb2.RsuStatus(rsu_id=f"rsu-{index}")


def _rejoin(batch: rs_pb2.PublishRequest, header: rs_pb2.PublishRequest) -> rs_pb2.PublishRequest:
    """What the cloud parses: `header` followed by the payloads of `batch`."""
    return rs_pb2.PublishRequest.FromString(request_bytes(header, [part.data for part in split_batch(batch)]))


def test_single_field_batch_round_trips_under_a_new_header() -> None:
    batch = _header()
    batch.vehicle_states.extend(_state(i) for i in range(300))
    header = rs_pb2.PublishRequest(sender_id="rsu-node-1", sender_epoch=9, sequence=7, sent_time_unix_ms=123)

    parts = split_batch(batch)
    rejoined = _rejoin(batch, header)

    assert [(part.field, part.items) for part in parts] == [("vehicle_states", 300)]
    assert list(rejoined.vehicle_states) == list(batch.vehicle_states)
    assert (rejoined.sender_id, rejoined.sender_epoch, rejoined.sequence) == ("rsu-node-1", 9, 7)
    assert rejoined.sent_time_unix_ms == 123


def test_multi_field_batch_gives_one_payload_per_field_in_number_order() -> None:
    batch = _header()
    batch.statuses.append(_status(0))
    batch.frames.extend(_frame(i) for i in range(3))
    batch.vehicle_states.extend(_state(i) for i in range(5))

    parts = split_batch(batch)
    rejoined = _rejoin(batch, rs_pb2.PublishRequest(sender_id="rsu", sequence=1))

    assert [(part.field, part.items) for part in parts] == [("frames", 3), ("vehicle_states", 5), ("statuses", 1)]
    for part in parts:  # each payload is exactly that field's items, tag and length first
        items = [item.SerializeToString() for item in getattr(batch, part.field)]
        assert part.data == encode_items(part.field, items)
    assert list(rejoined.frames) == list(batch.frames)
    assert list(rejoined.vehicle_states) == list(batch.vehicle_states)
    assert list(rejoined.statuses) == list(batch.statuses)


def test_payloads_of_several_batches_concatenate_into_one_batch() -> None:
    first, second = _header(), _header(43)
    first.vehicle_states.extend(_state(i) for i in range(4))
    second.frames.append(_frame(0))
    second.vehicle_states.extend(_state(i) for i in range(4, 6))
    payloads = [part.data for batch in (first, second) for part in split_batch(batch)]

    joined = rs_pb2.PublishRequest.FromString(request_bytes(rs_pb2.PublishRequest(sequence=3), payloads))

    assert list(joined.vehicle_states) == [_state(i) for i in range(6)]
    assert list(joined.frames) == [_frame(0)]


@pytest.mark.parametrize("fields", [("vehicle_states",), ("vehicle_states", "frames")])
def test_unknown_fields_of_a_newer_sender_are_not_forwarded(fields: tuple[str, ...]) -> None:
    known = _header()
    known.vehicle_states.extend([_state(0), _state(1)])
    if "frames" in fields:
        known.frames.append(_frame(0))
    unknown_field_99 = bytes([99 << 3 & 0x7F | 0x80 | 2, 99 >> 4, 3]) + b"new"  # tag (99, LEN), length 3
    batch = rs_pb2.PublishRequest.FromString(known.SerializeToString() + unknown_field_99)
    assert unknown_fields.UnknownFieldSet(batch)  # the sender's newer field is there...

    rejoined = _rejoin(batch, rs_pb2.PublishRequest(sequence=1))

    assert [part.field for part in split_batch(batch)] == sorted(fields, key=FIELD_NUMBERS.__getitem__)
    assert list(rejoined.vehicle_states) == [_state(0), _state(1)]
    assert not unknown_fields.UnknownFieldSet(rejoined)  # ...and not forwarded
    assert rejoined.SerializeToString() == _rejoin(known, rs_pb2.PublishRequest(sequence=1)).SerializeToString()


def test_a_batch_without_items_has_no_payloads() -> None:
    assert split_batch(_header()) == []


def test_encode_items_of_nothing_is_empty() -> None:
    assert encode_items("frames", []) == b""


@given(
    counts=st.fixed_dictionaries({field: st.integers(0, 4) for field in ("frames", "vehicle_states", "statuses")}),
    sequence=st.integers(1, 2**40),
)
def test_any_mix_of_fields_round_trips(counts: dict[str, int], sequence: int) -> None:
    makers = {"frames": _frame, "vehicle_states": _state, "statuses": _status}
    batch = _header(sequence)
    for field, count in counts.items():
        getattr(batch, field).extend(makers[field](i) for i in range(count))

    rejoined = _rejoin(batch, _header(sequence))

    assert rejoined == batch
    assert sum(part.items for part in split_batch(batch)) == sum(counts.values())

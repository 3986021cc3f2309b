"""TrackTable (struct of arrays), the vehicle id codec, and Detections."""

from __future__ import annotations

import numpy as np
import pytest

from roadlink.fusion import Detections, SourceKind, TrackTable, decode_vehicle_id, encode_vehicle_ids
from roadlink.fusion.state import NO_VEHICLE_ID


def _append(table: TrackTable, count: int, first_id: int) -> slice:
    return table.append(
        count,
        ids=np.arange(first_id, first_id + count, dtype=np.uint64),
        states=np.arange(count * 4, dtype=np.float64).reshape(count, 4),
        covs=np.broadcast_to(np.eye(4), (count, 4, 4)),
    )


def test_append_grows_capacity_and_fills_defaults() -> None:
    table = TrackTable(capacity=2)
    rows = _append(table, 5, first_id=10)
    assert rows == slice(0, 5)
    assert len(table) == 5
    assert table.capacity >= 5
    assert table.ids.tolist() == [10, 11, 12, 13, 14]
    assert table.self_report_ms.tolist() == [-1] * 5
    assert not table.confirmed.any()
    assert (table.vehicle_ids == NO_VEHICLE_ID).all()
    assert table.states.shape == (5, 4)
    assert table.covs.shape == (5, 4, 4)


def test_columns_are_writable_views() -> None:
    table = TrackTable()
    _append(table, 3, first_id=1)
    table.states[1, 0] = 42.0
    table.hits[[0, 2]] += 1
    assert table.states[1, 0] == 42.0
    assert table.hits.tolist() == [1, 0, 1]


def test_keep_compacts_in_order_and_take_copies() -> None:
    table = TrackTable()
    _append(table, 4, first_id=1)
    copy = table.take(np.array([3, 1]))
    table.keep(np.array([True, False, True, False]))
    assert table.ids.tolist() == [1, 3]
    assert copy.ids.tolist() == [4, 2]
    copy.states[:] = -1.0
    assert (table.states >= 0).all()
    assert table.row_of(np.array([3, 2, 1], dtype=np.uint64)).tolist() == [1, -1, 0]


def test_take_of_a_slice_or_nothing_copies_and_can_grow() -> None:
    table = TrackTable()
    _append(table, 3, first_id=1)
    whole, empty = table.copy(), table.take(np.zeros(3, dtype=bool))
    whole.states[:] = -1.0
    assert (table.states >= 0).all()
    assert len(empty) == 0
    assert empty.states.shape == (0, 4)
    for grown in (whole, empty):
        _append(grown, 2, first_id=10)
    assert whole.ids.tolist() == [1, 2, 3, 10, 11]
    assert empty.ids.tolist() == [10, 11]
    assert (empty.vehicle_ids == NO_VEHICLE_ID).all()


def test_append_rejects_unknown_column() -> None:
    with pytest.raises(KeyError):
        TrackTable().append(1, speed=np.zeros(1))


@pytest.mark.parametrize("raw", [b"\x01\x02\x03\x04", b"\x01\x00\x00\x00", b"\x00" * 8, b"\xff" * 8, b""])
def test_vehicle_id_codec_round_trips_trailing_zeros(raw: bytes) -> None:
    encoded = encode_vehicle_ids([raw])
    assert decode_vehicle_id(bytes(encoded[0])) == raw


def test_vehicle_ids_with_trailing_zeros_stay_distinct() -> None:
    ids = [b"\x01\x00\x00\x00", b"\x01\x00\x00\x00\x00\x00\x00\x00", b"\x01", b""]
    assert len(set(encode_vehicle_ids(ids).tolist())) == 4
    with pytest.raises(ValueError, match="at most 8"):
        encode_vehicle_ids([b"123456789"])


def test_detections_create_embeds_position_covariances_and_infers_velocity() -> None:
    detections = Detections.create(
        positions_m=[[1.0, 2.0], [3.0, 4.0]],
        covariances=np.broadcast_to(np.eye(2) * 0.25, (2, 2, 2)),
        times_ms=[5, 6],
        source_ids="rsu",
        kinds=SourceKind.RAW_DETECTION,
        velocities_mps=[[1.0, 0.0], [np.nan, np.nan]],
    )
    assert detections.has_velocity.tolist() == [True, False]
    assert detections.velocities_mps[1].tolist() == [0.0, 0.0]
    assert detections.covariances.shape == (2, 4, 4)
    assert detections.covariances[0, 0, 0] == 0.25
    assert detections.covariances[0, 2, 2] == 0.0
    assert detections.source_ids.tolist() == ["rsu", "rsu"]
    both = Detections.concatenate([detections, Detections.empty(), detections.take(np.array([1]))])
    assert len(both) == 3
    assert both.times_ms.tolist() == [5, 6, 6]


def test_detections_reject_bad_shapes() -> None:
    with pytest.raises(ValueError, match="covariances"):
        Detections.create(positions_m=[[0.0, 0.0]], covariances=np.eye(3)[None], times_ms=0, source_ids="s", kinds=1)
    with pytest.raises(ValueError, match="finite"):
        Detections.create(positions_m=[[np.nan, 0.0]], covariances=np.eye(2)[None], times_ms=0, source_ids="s", kinds=1)

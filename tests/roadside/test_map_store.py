"""The node's MapStore and SignalMapSink: valid maps served, invalid ones rejected with their reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from v2x.roadside.v1 import map_pb2, signal_pb2
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2

from roadlink.domain.errors import ConfigurationError, ValidationError
from roadside.map_store import MapStore, SignalMapSink, load_map_file

MAPS = Path(__file__).resolve().parents[1] / "data" / "maps"


class Recorder:
    def __init__(self) -> None:
        self.batches: list[rs_pb2.PublishRequest] = []

    async def accept(self, batch: rs_pb2.PublishRequest) -> list[rs_pb2.ItemRejection]:
        self.batches.append(batch)
        return []


def test_store_serves_the_merged_map_of_accepted_files() -> None:
    served: list[map_pb2.MapData] = []
    store = MapStore(served.append)
    assert store.current is None
    store.load_files([MAPS / "intersection_1201.json"])
    assert [i.intersection_id for i in served[-1].intersections] == [1201]
    assert store.maps_accepted == 1


def test_a_broken_map_file_stops_the_node_with_its_reason() -> None:
    store = MapStore(lambda _: None)
    with pytest.raises(ConfigurationError, match="unknown_connecting_lane"):
        store.load_files([MAPS / "broken_connection.json"])
    with pytest.raises(ConfigurationError, match=r"missing\.json"):
        store.load_files([MAPS / "missing.json"])
    assert store.current is None


def test_a_rejected_map_leaves_the_served_map_unchanged() -> None:
    store = MapStore(lambda _: None)
    store.accept(load_map_file(MAPS / "intersection_1201.json"))
    with pytest.raises(ValidationError):
        store.accept(load_map_file(MAPS / "broken_connection.json"))
    current = store.current
    assert current is not None
    assert len(current.intersections[0].lanes[0].connections) == 2
    assert current.intersections[0].lanes[0].connections[1].connecting_lane_id == 4
    assert store.maps_rejected == 1


async def test_sink_serves_signals_and_valid_maps_and_rejects_broken_ones() -> None:
    signals: list[signal_pb2.SignalPhaseAndTiming] = []
    served: list[map_pb2.MapData] = []
    inner = Recorder()
    sink = SignalMapSink(inner, MapStore(served.append), signals.append)
    batch = rs_pb2.PublishRequest(sender_id="gw", sequence=9)
    batch.signal_timings.add(intersection_id=1201)
    batch.maps.append(load_map_file(MAPS / "broken_connection.json"))
    batch.maps.append(load_map_file(MAPS / "intersection_1201.json"))
    rejections = await sink.accept(batch)
    assert [(r.field, r.index, r.sequence) for r in rejections] == [("maps", 0, 9)]
    assert "unknown_connecting_lane" in rejections[0].reason
    assert [s.intersection_id for s in signals] == [1201]
    assert len(served) == 1
    forwarded = inner.batches[0]
    assert (len(forwarded.maps), len(forwarded.signal_timings)) == (1, 1)
    assert forwarded.maps[0].intersections[0].lanes[0].connections[1].connecting_lane_id == 4

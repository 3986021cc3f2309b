"""Edge batches into the cloud's store: the `BatchSink` of the cloud node's RoadsideService."""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.message import Message
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2

from cloud.change_feed import ChangeFeed
from cloud.map_lanes import intersection_lanes
from cloud.picture import Picture
from cloud.road_context import RoadContext
from cloud.rsu_registry import RsuRegistry
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.errors import ValidationError
from roadlink.wire.convert import frame_from_proto, signal_from_proto, vehicle_state_from_proto

__all__ = ["StoreSink"]


class StoreSink:
    """Converts accepted frames and vehicle states to domain values and updates the store.

    Items that fail conversion are rejected one by one; the rest of the batch is kept. SPaT and MapData go
    to the `road` context (the lane detectors and the signal states of situation streams); road-side
    information is counted in `ignored_items` until a service uses it; RSU heartbeats go to the registry.
    """

    def __init__(
        self,
        store: Picture,
        feed: ChangeFeed,
        registry: RsuRegistry | None = None,
        road: RoadContext | None = None,
    ) -> None:
        self._store = store
        self._feed = feed
        self.registry = registry or RsuRegistry()
        self.road = road or RoadContext()
        self.frames = 0
        self.vehicle_states = 0
        self.ignored_items = 0

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        rejections: list[rs_pb2.ItemRejection] = []
        for index, frame in enumerate(batch.frames):
            self._apply(batch.sequence, "frames", index, frame, rejections)
        for index, state in enumerate(batch.vehicle_states):
            self._apply(batch.sequence, "vehicle_states", index, state, rejections)
        received = now_unix_ms()
        for status in batch.statuses:
            self.registry.record(status, received)
        sender = self.registry.position_of(batch.sender_id)
        for spat in batch.signal_timings:
            self.road.update_signal(signal_from_proto(spat), sender)
        for message in batch.maps:
            self.road.update_map(intersection_lanes(message))
        self.ignored_items += len(batch.road_side_infos)
        if batch.frames or batch.vehicle_states or batch.signal_timings:
            self._feed.notify()
        return rejections

    def _apply(
        self, sequence: int, field: str, index: int, item: Message, rejections: list[rs_pb2.ItemRejection]
    ) -> None:
        try:
            if field == "frames":
                self._store.update_frame(frame_from_proto(item))  # type: ignore[arg-type]
                self.frames += 1
            else:
                self._store.update_vehicle(vehicle_state_from_proto(item))  # type: ignore[arg-type]
                self.vehicle_states += 1
        except ValidationError as error:
            rejections.append(rs_pb2.ItemRejection(sequence=sequence, field=field, index=index, reason=str(error)))

"""The roadside node's map and signal timing: validated MapData, served to vehicles and forwarded upstream.

MapData comes from files named in the settings (protobuf JSON of `v2x.roadside.v1.MapData`, loaded at
start) or from the gateway. Every map is checked with `roadlink.domain.map_validation` first: a file that
fails stops the node with a `ConfigurationError` naming the file and the reason; a map from the gateway
that fails is rejected as an item of its batch (with the reason) and neither served nor forwarded.
Accepted maps replace the served map of their intersections (`MapStore`). Signal timing from the gateway
is served as it arrives; both go on to the cloud with the rest of the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from google.protobuf import json_format
from google.protobuf.message import Message
from v2x.roadside.v1 import map_pb2, signal_pb2
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2

from roadlink.domain.errors import ConfigurationError, ValidationError
from roadlink.domain.map_validation import MapConnection, MapIntersection, MapLane, MapNode, validate_map
from roadlink.wire.convert import position_from_proto
from roadlink.wire.publish_server import BatchSink

__all__ = ["MapStore", "SignalMapSink", "load_map_file", "map_from_proto"]

_log = logging.getLogger(__name__)


def _optional(message: Message, name: str) -> float | None:
    return float(getattr(message, name)) if message.HasField(name) else None


def _lane(message: map_pb2.Lane) -> MapLane:
    return MapLane(
        lane_id=message.lane_id,
        nodes=tuple(MapNode(n.east_m, n.north_m, n.up_m if n.HasField("up_m") else None) for n in message.nodes),
        connections=tuple(
            MapConnection(
                c.connecting_lane_id,
                c.remote_intersection_id if c.HasField("remote_intersection_id") else None,
                c.signal_group if c.HasField("signal_group") else None,
            )
            for c in message.connections
        ),
        width_m=_optional(message, "width_m"),
        speed_limits_mps=tuple(limit.speed_mps for limit in message.speed_limits),
    )


def map_from_proto(message: map_pb2.MapData) -> tuple[MapIntersection, ...]:
    """The validation view of a MapData."""
    return tuple(
        MapIntersection(
            intersection_id=i.intersection_id,
            reference_position=position_from_proto(i.reference_position) if i.HasField("reference_position") else None,
            lanes=tuple(_lane(lane) for lane in i.lanes),
            region=i.region if i.HasField("region") else None,
            lane_width_m=_optional(i, "lane_width_m"),
            speed_limits_mps=tuple(limit.speed_mps for limit in i.speed_limits),
        )
        for i in message.intersections
    )


def load_map_file(path: Path) -> map_pb2.MapData:
    """A MapData from a protobuf JSON file; ConfigurationError when it cannot be read or parsed."""
    try:
        return json_format.Parse(path.read_text(encoding="utf-8"), map_pb2.MapData())
    except (OSError, json_format.ParseError) as exc:
        raise ConfigurationError(f"map file {path}: {exc}") from exc


class MapStore:
    """The validated maps the node serves, by intersection id; `on_change` gets the merged map."""

    def __init__(self, on_change: Callable[[map_pb2.MapData], None]) -> None:
        self._on_change = on_change
        self._intersections: dict[int, map_pb2.IntersectionGeometry] = {}
        self.maps_accepted = 0
        self.maps_rejected = 0

    @property
    def current(self) -> map_pb2.MapData | None:
        """Every intersection the node serves as one MapData (None before the first map)."""
        if not self._intersections:
            return None
        return map_pb2.MapData(intersections=[self._intersections[k] for k in sorted(self._intersections)])

    def accept(self, message: map_pb2.MapData) -> None:
        """Validate and serve a map; ValidationError (nothing changes) when it fails."""
        try:
            validate_map(map_from_proto(message), known_intersection_ids=self._intersections.keys())
        except ValidationError:
            self.maps_rejected += 1
            raise
        for intersection in message.intersections:
            self._intersections[intersection.intersection_id] = intersection
        self.maps_accepted += 1
        current = self.current
        if current is not None:
            self._on_change(current)

    def load_files(self, paths: Iterable[Path]) -> list[map_pb2.MapData]:
        """Load and accept every file; ConfigurationError naming the file and reason at the first failure."""
        loaded = []
        for path in paths:
            message = load_map_file(path)
            try:
                self.accept(message)
            except ValidationError as exc:
                raise ConfigurationError(f"map file {path} rejected: {exc}") from exc
            loaded.append(message)
        return loaded


class SignalMapSink:
    """A `BatchSink` in front of the forwarding sink: serves signal timing and valid maps, drops invalid maps.

    `publish_signal` gets every SPaT of a batch; maps go to the `MapStore`, and the ones it rejects are
    removed from the batch before it is forwarded and reported as item rejections.
    """

    def __init__(
        self, inner: BatchSink, maps: MapStore, publish_signal: Callable[[signal_pb2.SignalPhaseAndTiming], None]
    ) -> None:
        self._inner = inner
        self._maps = maps
        self._publish_signal = publish_signal

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        """Serve the batch's signal timing and maps, then forward it (without rejected maps)."""
        for spat in batch.signal_timings:
            self._publish_signal(spat)
        if not batch.maps:
            return await self._inner.accept(batch)
        rejections = [r for index, m in enumerate(batch.maps) if (r := self._take(batch.sequence, index, m))]
        if rejections:
            kept = [m for index, m in enumerate(batch.maps) if index not in {r.index for r in rejections}]
            forwarded = rs_pb2.PublishRequest()
            forwarded.CopyFrom(batch)
            del forwarded.maps[:]
            forwarded.maps.extend(kept)
            batch = forwarded
        return [*rejections, *await self._inner.accept(batch)]

    def _take(self, sequence: int, index: int, message: map_pb2.MapData) -> rs_pb2.ItemRejection | None:
        try:
            self._maps.accept(message)
        except ValidationError as exc:
            _log.warning("map rejected: %s", exc)
            return rs_pb2.ItemRejection(sequence=sequence, field="maps", index=index, reason=str(exc))
        return None

"""`DownlinkService`: the cloud's advisories and road-side information for the zone of each RSU.

Two sources feed it: the node's picture (`Picture.advisories_in`, the hazards the cloud detects on its
fused tracks) and a `DownlinkBoard` of items issued explicitly (road-side information such as road works or
signs, and advisories issued by operators or other systems). Each RSU keeps one `WatchDownlink` stream
open; the stream sends every item currently valid in the RSU's zone, then, whenever the picture or the
board changes, the items that are new or changed since. When nothing changed for `heartbeat_s`, it sends an
empty keepalive, so the RSU can tell a quiet stream from a dead one. Items whose validity has ended are
never sent.

Bounds: the board holds at most `max_items` items; issuing more drops the one that expires first (counted
in `dropped`). Expired items are removed whenever the board is read or written. A stream remembers what it
sent for the items still valid only, so its memory is bounded by the board and the picture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from grpc import aio
from v2x.cloud.v1 import downlink_service_pb2 as dl_pb2
from v2x.cloud.v1 import downlink_service_pb2_grpc as dl_grpc
from v2x.cloud.v1 import situation_pb2
from v2x.roadside.v1 import info_pb2

from cloud.change_feed import ChangeFeed
from cloud.picture import Picture
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.errors import ValidationError
from roadlink.domain.spatial import Area, Circle, Position
from roadlink.wire.convert import advisory_from_proto, advisory_to_proto, area_from_proto, position_from_proto

__all__ = ["DownlinkBoard", "DownlinkServicer", "rsi_in_zone"]

_HEARTBEAT_S = 1.0


def rsi_in_zone(rsi: info_pb2.RoadSideInfo, zone: Area) -> bool:
    """True when one of its events or signs (or, without any, its reference position) lies in `zone`."""
    positions = [e.position for e in rsi.events if e.HasField("position")]
    positions += [s.position for s in rsi.signs if s.HasField("position")]
    if not positions and rsi.HasField("reference_position"):
        positions = [rsi.reference_position]
    return any(zone.contains(position_from_proto(p)) for p in positions)


def _rsi_end(rsi: info_pb2.RoadSideInfo) -> int | None:
    validities = [e.validity for e in rsi.events] + [s.validity for s in rsi.signs]
    ends = [v.end_time_unix_ms for v in validities if v.HasField("end_time_unix_ms")]
    return max(ends) if ends and len(ends) == len(validities) else None


def _advisory_in_zone(advisory: situation_pb2.Advisory, zone: Area) -> bool:
    """True when the advisory has no zone, or its zone's centre lies in `zone`."""
    own = advisory_from_proto(advisory).zone
    if own is None:
        return True
    if isinstance(own, Circle):
        return zone.contains(own.center)
    centre = Position(
        (own.min_latitude_deg + own.max_latitude_deg) / 2, (own.min_longitude_deg + own.max_longitude_deg) / 2
    )
    return zone.contains(centre)


@dataclass(frozen=True, slots=True)
class _Entry:
    key: str
    version: int
    end_unix_ms: int | None
    advisory: situation_pb2.Advisory | None = None
    rsi: info_pb2.RoadSideInfo | None = None

    def in_zone(self, zone: Area) -> bool:
        if self.advisory is not None:
            return _advisory_in_zone(self.advisory, zone)
        return self.rsi is not None and rsi_in_zone(self.rsi, zone)


class DownlinkBoard:
    """Items issued for vehicles, until their validity ends (module docstring). Event-loop only."""

    def __init__(self, feed: ChangeFeed, *, max_items: int = 10_000, clock: Callable[[], int] = now_unix_ms) -> None:
        self._feed = feed
        self._max_items = max_items
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._version = 0
        self.dropped = 0

    def issue_road_side_info(self, rsi: info_pb2.RoadSideInfo) -> None:
        """Publish road-side information until the latest end of its events' and signs' validity."""
        key = f"rsi:{rsi.source_id}:{rsi.message_count}"
        self._put(_Entry(key, self._next(), _rsi_end(rsi), rsi=rsi))

    def issue_advisory(self, advisory: situation_pb2.Advisory) -> None:
        """Publish an advisory until its validity ends."""
        validity = advisory.validity
        end = validity.end_time_unix_ms if validity.HasField("end_time_unix_ms") else None
        self._put(_Entry(f"advisory:{advisory.advisory_id}", self._next(), end, advisory=advisory))

    def entries(self) -> list[_Entry]:
        """The items still valid now."""
        self._expire()
        return list(self._entries.values())

    def _next(self) -> int:
        self._version += 1
        return self._version

    def _put(self, entry: _Entry) -> None:
        self._expire()
        self._entries[entry.key] = entry
        if len(self._entries) > self._max_items:
            first = min(self._entries.values(), key=lambda e: e.end_unix_ms if e.end_unix_ms is not None else 2**62)
            del self._entries[first.key]
            self.dropped += 1
        self._feed.notify()

    def _expire(self) -> None:
        now = self._clock()
        for key in [k for k, e in self._entries.items() if e.end_unix_ms is not None and e.end_unix_ms <= now]:
            del self._entries[key]


class DownlinkServicer(dl_grpc.DownlinkServiceServicer):
    """Streams each RSU the items for its zone (module docstring)."""

    def __init__(
        self, picture: Picture, board: DownlinkBoard, feed: ChangeFeed, heartbeat_s: float = _HEARTBEAT_S
    ) -> None:
        self._picture = picture
        self._board = board
        self._feed = feed
        self._heartbeat_s = heartbeat_s

    async def WatchDownlink(  # noqa: N802 - generated method name
        self, request: dl_pb2.WatchDownlinkRequest, context: aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[dl_pb2.WatchDownlinkResponse]:
        if not request.rsu_id or not request.HasField("zone"):
            raise ValidationError("invalid_request", "rsu_id and zone must be set", field="zone")
        zone = area_from_proto(request.zone)
        sent: dict[str, int] = {}
        changed = False
        while True:
            version = self._feed.version
            response = self._changes(zone, sent)
            if response is not None:
                yield response
            elif not changed:  # a quiet heartbeat: an empty keepalive shows the stream is alive
                yield dl_pb2.WatchDownlinkResponse(sent_time_unix_ms=now_unix_ms())
            changed = await self._feed.wait_newer(version, self._heartbeat_s)

    def _changes(self, zone: Area, sent: dict[str, int]) -> dl_pb2.WatchDownlinkResponse | None:
        """Items in `zone` not sent yet (or changed since); forgets sent items that are gone."""
        entries = [e for e in self._board.entries() if e.in_zone(zone)] + self._picture_entries(zone)
        fresh = [e for e in entries if sent.get(e.key) != e.version]
        current = {e.key for e in entries}
        for key in [k for k in sent if k not in current]:
            del sent[key]
        if not fresh:
            return None
        sent.update((e.key, e.version) for e in fresh)
        return dl_pb2.WatchDownlinkResponse(
            advisories=[e.advisory for e in fresh if e.advisory is not None],
            road_side_infos=[e.rsi for e in fresh if e.rsi is not None],
            sent_time_unix_ms=now_unix_ms(),
        )

    def _picture_entries(self, zone: Area) -> list[_Entry]:
        now = now_unix_ms()
        return [
            _Entry(f"advisory:{a.advisory_id}", 0, a.valid_until_unix_ms, advisory=advisory_to_proto(a))
            for a in self._picture.advisories_in(zone)
            if a.valid_until_unix_ms is None or a.valid_until_unix_ms > now
        ]

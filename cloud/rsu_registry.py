"""Which RSUs the cloud hears from: registration (the first heartbeat) and liveness from later ones.

An RSU is LIVE when its last heartbeat is at most two of its own intervals old, STALE up to six, DOWN
beyond. The registry keeps the latest `RsuStatus` per RSU (bounded to `max_rsus`, stalest evicted first).
"""

from __future__ import annotations

from dataclasses import dataclass

from v2x.cloud.v1 import fusion_service_pb2 as fs_pb2
from v2x.roadside.v1 import info_pb2

from roadlink.domain.spatial import Circle, Position
from roadlink.wire.convert import position_from_proto

__all__ = ["RsuRegistry"]

_LIVE_INTERVALS = 2
_STALE_INTERVALS = 6
_DEFAULT_INTERVAL_S = 5.0


@dataclass(slots=True)
class _Entry:
    status: info_pb2.RsuStatus
    received_unix_ms: int
    heartbeats: int


class RsuRegistry:
    """Latest heartbeat per RSU, judged against the RSU's own interval."""

    def __init__(self, max_rsus: int = 100_000) -> None:
        self._max_rsus = max_rsus
        self._entries: dict[str, _Entry] = {}

    def record(self, status: info_pb2.RsuStatus, received_unix_ms: int) -> None:
        """Register an RSU, or refresh it, from one heartbeat received at `received_unix_ms`."""
        held = self._entries.get(status.rsu_id)
        count = held.heartbeats + 1 if held is not None else 1
        self._entries[status.rsu_id] = _Entry(status, received_unix_ms, count)
        if len(self._entries) > self._max_rsus:
            stalest = min(self._entries, key=lambda rsu: self._entries[rsu].received_unix_ms)
            del self._entries[stalest]

    def position_of(self, rsu_id: str) -> Position | None:
        """The position an RSU reports in its heartbeats (None if unknown or not sent)."""
        entry = self._entries.get(rsu_id)
        if entry is None or not entry.status.HasField("position"):
            return None
        return position_from_proto(entry.status.position)

    def zone_of(self, rsu_id: str, radius_m: float) -> Circle | None:
        """The zone an RSU serves: ``radius_m`` metres around its heartbeat position (None if unknown)."""
        position = self.position_of(rsu_id)
        return None if position is None else Circle(position, radius_m)

    def liveness(self, rsu_id: str, now_unix_ms: int) -> fs_pb2.Liveness.ValueType:
        """LIVE, STALE or DOWN for a registered RSU; UNSPECIFIED for an unknown one."""
        entry = self._entries.get(rsu_id)
        if entry is None:
            return fs_pb2.LIVENESS_UNSPECIFIED
        interval_ms = 1000 * (entry.status.heartbeat_interval_s or _DEFAULT_INTERVAL_S)
        silent_ms = now_unix_ms - entry.received_unix_ms
        if silent_ms <= _LIVE_INTERVALS * interval_ms:
            return fs_pb2.LIVENESS_LIVE
        if silent_ms <= _STALE_INTERVALS * interval_ms:
            return fs_pb2.LIVENESS_STALE
        return fs_pb2.LIVENESS_DOWN

    def source_stats(self, now_unix_ms: int) -> list[fs_pb2.SourceStats]:
        """One SourceStats per registered RSU, with its liveness and latest heartbeat."""
        return [
            fs_pb2.SourceStats(
                source_id=rsu_id,
                messages_received=entry.heartbeats,
                last_seen_unix_ms=entry.received_unix_ms,
                liveness=self.liveness(rsu_id, now_unix_ms),
                status=entry.status,
            )
            for rsu_id, entry in sorted(self._entries.items())
        ]

"""`SituationFeed`: the situation around a vehicle, with the watched area following it and reconnects built in.

The feed watches a circle of `radius_m` around the vehicle. When the vehicle publishes a position more than
`move_threshold_m` (default radius/4) from the circle's centre, the circle is re-centred there and sent on
the open WatchSituation stream, so the node moves the area without a new subscription.

A pump task owned by the feed reads the stream into a bounded buffer that the consumer iterates.
Overflow policy: the buffer keeps the newest `max_buffered` updates; when it is full the oldest is dropped
and counted in `dropped_updates` (each update is a full picture of the area, so the newest one supersedes
the dropped ones).

Reconnect: when the stream fails with a transient code (UNAVAILABLE when the node restarts) or delivers
nothing for `idle_timeout_s` (the node sends at least one update per second; the timeout is never shorter
than three update periods at `rate_hz`), the pump reopens it after a backoff delay with the current area
and goes on; the consumer only sees updates continue (with `sequence` restarting at 1) and `reconnects`
incremented. After `ReconnectPolicy.max_attempts` failed reopenings in a row, or at once for a permanent
code (INVALID_ARGUMENT, UNAUTHENTICATED, ...), iteration raises `ServiceError`. The pump, the buffer and
the reconnects are `StreamFeed`'s, shared with `RoadsideFeed`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from v2x.cloud.v1 import vehicle_service_pb2 as vs_pb2

from roadlink.domain.spatial import Circle, Position, distance_m
from roadlink.domain.vehicle import VehicleState
from roadlink.sdk.core import ReconnectPolicy
from roadlink.sdk.situation import Situation, situation_from_response
from roadlink.sdk.stream_feed import StreamFeed
from roadlink.wire.convert import area_to_proto

__all__ = ["MAX_RATE_HZ", "SituationFeed"]

MAX_RATE_HZ = 50.0
"""The highest update rate a node accepts."""


class SituationFeed(StreamFeed[Situation]):
    """Async iterator of `Situation` updates around a vehicle; an async context manager that closes it.

    Created by `VehicleClient.follow_situation`; the client shows it every published state (`observe`).
    """

    _name = "situation"

    def __init__(
        self,
        open_call: Callable[[], Any],
        area: Circle,
        *,
        policy: ReconnectPolicy,
        rate_hz: float = 10.0,
        move_threshold_m: float | None = None,
        vehicle_id: bytes | None = None,
        idle_timeout_s: float = 10.0,
        max_buffered: int = 8,
    ) -> None:
        if not area.radius_m > 0:
            raise ValueError(f"radius_m must be > 0, got {area.radius_m}")
        if not 0 < rate_hz <= MAX_RATE_HZ:
            raise ValueError(f"rate_hz must be in (0, {MAX_RATE_HZ}], got {rate_hz}")
        if max_buffered < 1 or not idle_timeout_s > 0:
            raise ValueError("max_buffered must be >= 1 and idle_timeout_s > 0")
        threshold = area.radius_m / 4 if move_threshold_m is None else move_threshold_m
        if threshold < 0:
            raise ValueError(f"move_threshold_m must be >= 0, got {move_threshold_m}")
        super().__init__(
            open_call, policy=policy, idle_timeout_s=max(idle_timeout_s, 3.0 / rate_hz), max_buffered=max_buffered
        )
        self._area = area
        self._rate_hz = rate_hz
        self._threshold_m = threshold
        self._vehicle_id = vehicle_id

    @property
    def area(self) -> Circle:
        """The area watched now (the node applies a move from its next update on)."""
        return self._area

    @property
    def vehicle_id(self) -> bytes | None:
        """The vehicle whose published positions move the area (None = any vehicle the client publishes)."""
        return self._vehicle_id

    @property
    def moves(self) -> int:
        """How many times the area was moved to follow the vehicle."""
        return self._moves

    def observe(self, state: VehicleState) -> bool:
        """Follow a published state: re-centre the area when the vehicle moved far enough. True if it moved."""
        if self._vehicle_id is not None and state.temporary_id != self._vehicle_id:
            return False
        return self.move_to(state.position)

    def move_to(self, center: Position, *, force: bool = False) -> bool:
        """Re-centre the area on `center` if it is more than the threshold away (or `force`). True if it moved."""
        if not force and distance_m(self._area.center, center) <= self._threshold_m:
            return False
        self._area = Circle(center, self._area.radius_m)
        self._moved_to()
        return True

    def _first_request(self) -> vs_pb2.WatchSituationRequest:
        return vs_pb2.WatchSituationRequest(area=area_to_proto(self._area), rate_hz=self._rate_hz)

    def _move_request(self) -> vs_pb2.WatchSituationRequest:
        return vs_pb2.WatchSituationRequest(area=area_to_proto(self._area))

    def _take(self, response: vs_pb2.WatchSituationResponse) -> None:
        self._deliver(situation_from_response(response))

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
code (INVALID_ARGUMENT, UNAUTHENTICATED, ...), iteration raises `ServiceError`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import grpc
from grpc import aio
from v2x.cloud.v1 import vehicle_service_pb2 as vs_pb2

from roadlink.domain.errors import ServiceError, StatusCode, ValidationError
from roadlink.domain.spatial import Circle, Position, distance_m
from roadlink.domain.vehicle import VehicleState
from roadlink.sdk.core import ReconnectPolicy, RetryBudget, status_of_call
from roadlink.sdk.situation import Situation, situation_from_response
from roadlink.wire.convert import area_to_proto

__all__ = ["MAX_RATE_HZ", "SituationFeed"]

MAX_RATE_HZ = 50.0
"""The highest update rate a node accepts."""

_CLOSE_TIMEOUT_S = 5.0
_STREAM_ERRORS = (grpc.RpcError, asyncio.InvalidStateError, TimeoutError)


class SituationFeed:
    """Async iterator of `Situation` updates around a vehicle; an async context manager that closes it.

    Created by `VehicleClient.follow_situation`; the client shows it every published state (`observe`).
    """

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
        self._open_call = open_call
        self._area = area
        self._policy = policy
        self._rate_hz = rate_hz
        self._threshold_m = threshold
        self._vehicle_id = vehicle_id
        self._idle_timeout_s = max(idle_timeout_s, 3.0 / rate_hz)
        self._buffer: deque[Situation] = deque(maxlen=max_buffered)
        self._ready = asyncio.Event()
        self._moved = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._error: ServiceError | None = None
        self._closed = False
        self._on_close: list[Callable[[SituationFeed], None]] = []
        self._reconnects = self._moves = self._dropped = 0

    @property
    def area(self) -> Circle:
        """The area watched now (the node applies a move from its next update on)."""
        return self._area

    @property
    def vehicle_id(self) -> bytes | None:
        """The vehicle whose published positions move the area (None = any vehicle the client publishes)."""
        return self._vehicle_id

    @property
    def reconnects(self) -> int:
        """How many times the stream was reopened after a failure and delivered again."""
        return self._reconnects

    @property
    def moves(self) -> int:
        """How many times the area was moved to follow the vehicle."""
        return self._moves

    @property
    def dropped_updates(self) -> int:
        """Updates dropped because the buffer was full (the consumer was slow)."""
        return self._dropped

    @property
    def closed(self) -> bool:
        """True once `close` was called (or the owning client closed)."""
        return self._closed

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
        self._moves += 1
        self._moved.set()
        return True

    def start(self) -> None:
        """Start the pump (idempotent; needs a running event loop)."""
        if self._pump is None and not self._closed:
            self._pump = asyncio.create_task(self._run(), name="roadlink-sdk-situation-pump")

    def on_close(self, callback: Callable[[SituationFeed], None]) -> None:
        """Call `callback(feed)` when the feed closes."""
        self._on_close.append(callback)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Situation:
        """The next update; StopAsyncIteration after `close`; ServiceError when the feed failed for good."""
        self.start()
        while not self._buffer:
            if self._closed:
                raise StopAsyncIteration
            if self._error is not None:
                raise self._error
            self._ready.clear()
            await self._ready.wait()
        return self._buffer.popleft()

    async def close(self) -> None:
        """End the subscription and stop the pump (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._buffer.clear()
        self._ready.set()
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.wait({self._pump}, timeout=_CLOSE_TIMEOUT_S)
        for callback in self._on_close:
            callback(self)

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _run(self) -> None:
        budget = RetryBudget(self._policy)
        try:
            while True:
                try:
                    await self._stream_once(budget)
                except ServiceError as error:
                    await asyncio.sleep(budget.failed(error))
        except ServiceError as error:
            self._error = error
        except ValidationError as exc:  # retrying would only read the same message again
            self._error = ServiceError(StatusCode.INTERNAL, f"the node sent an update this SDK cannot read: {exc}")
            self._error.__cause__ = exc
        except Exception as exc:  # a bug must reach the consumer, not die in a task
            self._error = ServiceError(StatusCode.INTERNAL, f"situation feed failed: {exc!r}")
            self._error.__cause__ = exc
        finally:
            self._ready.set()

    async def _stream_once(self, budget: RetryBudget) -> None:
        """One stream from opening to failure; ends with ServiceError (or ValidationError for an unreadable update)."""
        call = self._open_call()
        mover: asyncio.Task[None] | None = None
        try:
            self._moved.clear()
            first = vs_pb2.WatchSituationRequest(area=area_to_proto(self._area), rate_hz=self._rate_hz)
            async with asyncio.timeout(self._idle_timeout_s):
                await call.write(first)
            mover = asyncio.create_task(self._send_moves(call), name="roadlink-sdk-area-mover")
            while True:
                async with asyncio.timeout(self._idle_timeout_s):
                    response = await call.read()
                if response is aio.EOF:
                    raise ServiceError(StatusCode.UNAVAILABLE, "the node ended the situation stream")
                self._deliver(situation_from_response(response))
                if budget.succeeded():
                    self._reconnects += 1
        except TimeoutError as exc:
            raise ServiceError(StatusCode.UNAVAILABLE, f"no update from the node for {self._idle_timeout_s} s") from exc
        except _STREAM_ERRORS as exc:
            raise await status_of_call(call, exc) from exc
        finally:
            if mover is not None:
                mover.cancel()
                await asyncio.gather(mover, return_exceptions=True)
            call.cancel()

    async def _send_moves(self, call: Any) -> None:
        with contextlib.suppress(*_STREAM_ERRORS):  # the reader sees the failure and reconnects
            while True:
                await self._moved.wait()
                self._moved.clear()
                await call.write(vs_pb2.WatchSituationRequest(area=area_to_proto(self._area)))

    def _deliver(self, situation: Situation) -> None:
        if len(self._buffer) == self._buffer.maxlen:
            self._dropped += 1
        self._buffer.append(situation)
        self._ready.set()

"""The sync client: the same operations as `VehicleClient` for code without an event loop.

Design: `SyncVehicleClient` runs the async `VehicleClient` on a private event loop in a background thread
(one per client) and hands each operation to it with a timeout. It does not use gRPC's sync API, because
publishing at a capped rate, following the vehicle with the watched area and reconnecting with backoff are
a state machine over two long-lived streams; written twice (asyncio and threads with request queues) the
two versions would drift apart. Here there is one implementation, and the sync client only marshals calls
and results between threads. Costs: one thread per client, and updates pass through a thread hop.

    with SyncVehicleClient("127.0.0.1:50071") as client:
        client.publish_state(state)
        with client.follow_situation(radius_m=500) as feed:
            for situation in feed:                 # blocks; ServiceError(DEADLINE_EXCEEDED) after timeout_s
                ...
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine, Iterator
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

from roadlink.domain.errors import ServiceError, StatusCode
from roadlink.domain.perception import PerceptionFrame
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.situation import Advisory
from roadlink.domain.spatial import Circle, Position
from roadlink.domain.vehicle import VehicleState
from roadlink.sdk.client import VehicleClient
from roadlink.sdk.core import ClientCore, ConnectionOptions
from roadlink.sdk.feed import SituationFeed
from roadlink.sdk.lane_map import RoadsideMap
from roadlink.sdk.publisher import PublishStats
from roadlink.sdk.road_info import RoadSideInfo
from roadlink.sdk.roadside_feed import ROADSIDE_IDLE_TIMEOUT_S, RoadsideFeed, RoadsideUpdate
from roadlink.sdk.situation import Situation

__all__ = ["SyncRoadsideFeed", "SyncSituationFeed", "SyncVehicleClient"]

_T = TypeVar("_T")
_U = TypeVar("_U")
_U_co = TypeVar("_U_co", covariant=True)
_CALL_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 5.0


class _AsyncFeed(Protocol[_U_co]):
    """What the sync feeds need of an async feed (`SituationFeed`, `RoadsideFeed`)."""

    @property
    def closed(self) -> bool: ...
    @property
    def reconnects(self) -> int: ...
    @property
    def moves(self) -> int: ...
    @property
    def dropped_updates(self) -> int: ...
    def __aiter__(self) -> Self: ...
    async def __anext__(self) -> _U_co: ...
    async def close(self) -> None: ...


class _LoopThread:
    """An event loop running in a daemon thread; coroutines are submitted from other threads."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="roadlink-sdk-loop", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def submit(self, coro: Coroutine[Any, Any, _T]) -> concurrent.futures.Future[_T]:
        """Schedule `coro` on the loop."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def run(self, coro: Coroutine[Any, Any, _T], timeout_s: float) -> _T:
        """Run `coro` on the loop and wait for its result; ServiceError(DEADLINE_EXCEEDED) after `timeout_s`."""
        return _result(self.submit(coro), timeout_s, cancel=True)

    def stop(self, timeout_s: float = _STOP_TIMEOUT_S) -> None:
        """Stop the loop (cancelling what still runs) and join the thread."""
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout_s)


def _result(future: concurrent.futures.Future[_T], timeout_s: float, *, cancel: bool) -> _T:
    try:
        return future.result(timeout_s)
    except concurrent.futures.TimeoutError:
        if cancel:
            future.cancel()
        raise ServiceError(StatusCode.DEADLINE_EXCEEDED, f"no result within {timeout_s} s") from None


class SyncVehicleClient(ClientCore):
    """Blocking client of a node's VehicleService at `target`; options as in `ClientCore`.

    A context manager (or `connect()` / `close()`). Each call waits at most `call_timeout_s` (connecting:
    `connect_timeout_s` plus that), then raises ServiceError(DEADLINE_EXCEEDED). Safe to call from one
    thread at a time.
    """

    call_timeout_s: float = _CALL_TIMEOUT_S
    """Upper bound on the wait for any one call's result, seconds."""

    def _setup(self) -> None:
        self._engine = VehicleClient.with_options(self.options)
        self._runner: _LoopThread | None = None

    @property
    def connected(self) -> bool:
        """True between `connect` and `close`."""
        return self._runner is not None and self._engine.connected

    @property
    def publish_stats(self) -> PublishStats:
        """Counters of `publish_state`."""
        return self._engine.publish_stats

    def connect(self) -> None:
        """Connect; ServiceError(UNAVAILABLE) when the node cannot be reached within `connect_timeout_s`."""
        if self._runner is not None:
            raise RuntimeError("SyncVehicleClient is already connected (reusable, but not re-entrant)")
        runner = _LoopThread()
        try:
            runner.run(self._engine.connect(), self.options.connect_timeout_s + self.call_timeout_s)
        except BaseException:
            runner.stop()
            raise
        self._runner = runner

    def close(self) -> None:
        """Close feeds, the publisher and the channel, then stop the background loop (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        try:
            runner.run(self._engine.close(), self.call_timeout_s)
        finally:
            runner.stop()

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def publish_state(self, state: VehicleState) -> None:
        """Publish the vehicle's own state; as `VehicleClient.publish_state` (returns without waiting for the
        network)."""
        self._run(self._engine.publish_state(state))

    def follow_situation(
        self,
        radius_m: float,
        *,
        center: Position | None = None,
        vehicle_id: bytes | None = None,
        rate_hz: float = 10.0,
        move_threshold_m: float | None = None,
        idle_timeout_s: float = 10.0,
        max_buffered: int = 8,
        timeout_s: float = 10.0,
    ) -> SyncSituationFeed:
        """Watch the area around the vehicle, as `VehicleClient.follow_situation`; `timeout_s` is how long
        iterating waits for each update."""

        async def start() -> SituationFeed:
            return self._engine.follow_situation(
                radius_m,
                center=center,
                vehicle_id=vehicle_id,
                rate_hz=rate_hz,
                move_threshold_m=move_threshold_m,
                idle_timeout_s=idle_timeout_s,
                max_buffered=max_buffered,
            )

        return SyncSituationFeed(self._run(start()), self._require_runner(), timeout_s=timeout_s)

    def follow_roadside(
        self,
        target: str | ConnectionOptions,
        *,
        position: Position | None = None,
        vehicle_id: bytes | None = None,
        move_threshold_m: float = 5.0,
        idle_timeout_s: float | None = ROADSIDE_IDLE_TIMEOUT_S,
        max_buffered: int = 256,
        default_validity_s: float = 60.0,
        timeout_s: float = 10.0,
    ) -> SyncRoadsideFeed:
        """Receive what the roadside node at `target` broadcasts, as `VehicleClient.follow_roadside`;
        `timeout_s` is how long iterating waits for each update."""

        async def start() -> RoadsideFeed:
            return self._engine.follow_roadside(
                target,
                position=position,
                vehicle_id=vehicle_id,
                move_threshold_m=move_threshold_m,
                idle_timeout_s=idle_timeout_s,
                max_buffered=max_buffered,
                default_validity_s=default_validity_s,
            )

        return SyncRoadsideFeed(self._run(start()), self._require_runner(), timeout_s=timeout_s)

    def _require_runner(self) -> _LoopThread:
        if self._runner is None:
            raise RuntimeError("SyncVehicleClient is not connected; use `with SyncVehicleClient(...)` or connect()")
        return self._runner

    def _run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        try:
            runner = self._require_runner()
        except RuntimeError:
            coro.close()
            raise
        return runner.run(coro, self.call_timeout_s)


class _SyncFeed(Generic[_U]):
    """Blocking iteration over an async feed running on the client's loop thread (shared by the sync feeds)."""

    def __init__(self, feed: _AsyncFeed[_U], runner: _LoopThread, *, timeout_s: float) -> None:
        self._feed = feed
        self._runner = runner
        self.timeout_s = timeout_s
        self._pending: concurrent.futures.Future[_U | None] | None = None

    @property
    def reconnects(self) -> int:
        """How many times the stream was reopened after a failure and delivered again."""
        return self._feed.reconnects

    @property
    def moves(self) -> int:
        """How many times the feed followed the vehicle to a new position."""
        return self._feed.moves

    @property
    def dropped_updates(self) -> int:
        """Updates dropped because the buffer was full."""
        return self._feed.dropped_updates

    def next(self, timeout_s: float | None = None) -> _U:
        """The next update; StopIteration after `close`; ServiceError on timeout or when the feed failed."""
        if self._pending is None:
            if self._feed.closed:
                raise StopIteration
            self._pending = self._runner.submit(_next_or_none(self._feed))
        update = _result(self._pending, self.timeout_s if timeout_s is None else timeout_s, cancel=False)
        self._pending = None
        if update is None:
            raise StopIteration
        return update

    def __iter__(self) -> Iterator[_U]:
        return self

    def __next__(self) -> _U:
        return self.next()

    def close(self) -> None:
        """End the subscription (idempotent)."""
        if not self._feed.closed:
            self._runner.run(self._feed.close(), _CALL_TIMEOUT_S)
        self._pending = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class SyncSituationFeed(_SyncFeed[Situation]):
    """Blocking iterator of `Situation` updates; a context manager that closes the subscription.

    `next(timeout_s)` (and iteration, with the feed's `timeout_s`) raises ServiceError(DEADLINE_EXCEEDED)
    when no update arrives in time; the feed stays usable and the next call goes on waiting for the same
    update. Iteration ends after `close`.
    """

    _feed: SituationFeed

    def next(self, timeout_s: float | None = None) -> Situation:
        """The next update; StopIteration after `close`; ServiceError on timeout or when the feed failed."""
        return super().next(timeout_s)

    @property
    def area(self) -> Circle:
        """The area watched now."""
        return self._feed.area


class SyncRoadsideFeed(_SyncFeed[RoadsideUpdate]):
    """Blocking iterator of `RoadsideUpdate`s from a roadside node, with its current picture (`map`,
    `signal_of`, `latest_frame`, `advisories`, `road_side_infos`; see `RoadsideFeed`). Timeouts and closing
    as `SyncSituationFeed`.
    """

    _feed: RoadsideFeed

    def next(self, timeout_s: float | None = None) -> RoadsideUpdate:
        """The next update; StopIteration after `close`; ServiceError on timeout or when the feed failed."""
        return super().next(timeout_s)

    @property
    def position(self) -> Position:
        """The vehicle position the node was last told."""
        return self._feed.position

    @property
    def repeats_suppressed(self) -> int:
        """Advisories and road-side information sent again after a reconnect and held back."""
        return self._feed.repeats_suppressed

    @property
    def keepalives(self) -> int:
        """Keepalives the node sent (alive, nothing new); never delivered."""
        return self._feed.keepalives

    @property
    def map(self) -> RoadsideMap | None:
        """The newest lane map the node sent."""
        return self._feed.map

    @property
    def latest_frame(self) -> PerceptionFrame | None:
        """The newest fused object list the node sent."""
        return self._feed.latest_frame

    @property
    def signal_timings(self) -> tuple[SignalPhaseAndTiming, ...]:
        """The newest signal timing of each intersection."""
        return self._feed.signal_timings

    def signal_of(self, intersection_id: int) -> SignalPhaseAndTiming | None:
        """The newest signal timing of one intersection, if the node sent one."""
        return self._feed.signal_of(intersection_id)

    @property
    def advisories(self) -> tuple[Advisory, ...]:
        """Advisories received and still valid now."""
        return self._feed.advisories

    @property
    def road_side_infos(self) -> tuple[RoadSideInfo, ...]:
        """Road-side information received and still valid now."""
        return self._feed.road_side_infos


async def _next_or_none(feed: _AsyncFeed[_U]) -> _U | None:
    try:
        return await anext(feed)
    except StopAsyncIteration:
        return None

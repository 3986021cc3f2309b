"""`StreamFeed`: what every SDK feed shares: a pump task that keeps one bidirectional stream open, reconnects
with backoff, resends where the vehicle is, and fills a bounded buffer the consumer iterates.

A subclass says what to send (`_first_request`, `_move_request`) and what to do with each response
(`_take`: decode, then `_deliver` to the buffer). Moving (`_moved_to`) wakes a mover task that writes the
move request on the open stream; a reopened stream starts with the current first request.

Buffer bound and overflow policy: at most `max_buffered` items; when full, the oldest is dropped and
counted in `dropped_updates`. Reconnect: a transient failure (`RETRYABLE_CODES`), the node ending the
stream, or no response for `idle_timeout_s` (None = no limit) reopens the stream after a delay from the
`ReconnectPolicy`; `max_attempts` failed reopenings in a row, a permanent code, or a response the SDK cannot
read (`ValidationError`) end the feed, and iteration raises `ServiceError`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

import grpc
from google.protobuf.message import Message
from grpc import aio

from roadlink.domain.errors import ServiceError, StatusCode, ValidationError
from roadlink.sdk.core import ReconnectPolicy, RetryBudget, status_of_call

__all__ = ["StreamFeed"]

_T = TypeVar("_T")
_CLOSE_TIMEOUT_S = 5.0
_WRITE_TIMEOUT_S = 10.0
_STREAM_ERRORS = (grpc.RpcError, asyncio.InvalidStateError, TimeoutError)


class StreamFeed(Generic[_T]):
    """Async iterator of `_T` over one resumed stream; an async context manager that closes it (module doc)."""

    _name: ClassVar[str] = "feed"
    """Names the feed in errors and its tasks (`roadlink-sdk-<name>-pump`, `roadlink-sdk-<name>-mover`)."""

    def __init__(
        self,
        open_call: Callable[[], Any],
        *,
        policy: ReconnectPolicy,
        idle_timeout_s: float | None,
        max_buffered: int,
        close_transport: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        if max_buffered < 1:
            raise ValueError(f"max_buffered must be >= 1, got {max_buffered}")
        if idle_timeout_s is not None and not idle_timeout_s > 0:
            raise ValueError(f"idle_timeout_s must be > 0, got {idle_timeout_s}")
        self._open_call = open_call
        self._policy = policy
        self._idle_timeout_s = idle_timeout_s
        self._close_transport = close_transport
        self._buffer: deque[_T] = deque(maxlen=max_buffered)
        self._ready = asyncio.Event()
        self._moved = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._error: ServiceError | None = None
        self._closed = False
        self._on_close: list[Callable[[Any], None]] = []  # each takes this feed (its own type: `on_close`)
        self._reconnects = self._moves = self._dropped = 0

    @property
    def reconnects(self) -> int:
        """How many times the stream was reopened after a failure and delivered again."""
        return self._reconnects

    @property
    def moves(self) -> int:
        """How many times the feed followed the vehicle (a move was sent to the node)."""
        return self._moves

    @property
    def dropped_updates(self) -> int:
        """Updates dropped because the buffer was full (the consumer was slow)."""
        return self._dropped

    @property
    def closed(self) -> bool:
        """True once `close` was called (or the owning client closed)."""
        return self._closed

    def start(self) -> None:
        """Start the pump (idempotent; needs a running event loop)."""
        if self._pump is None and not self._closed:
            self._pump = asyncio.create_task(self._run(), name=f"roadlink-sdk-{self._name}-pump")

    def on_close(self, callback: Callable[[Self], None]) -> None:
        """Call `callback(feed)` when the feed closes."""
        self._on_close.append(callback)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> _T:
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
        """End the subscription, stop the pump and close the feed's own channel, if any (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._buffer.clear()
        self._ready.set()
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.wait({self._pump}, timeout=_CLOSE_TIMEOUT_S)
        if self._close_transport is not None:
            await self._close_transport()
        for callback in self._on_close:
            callback(self)

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _first_request(self) -> Message:
        """The request that opens (or reopens) the stream."""
        raise NotImplementedError

    def _move_request(self) -> Message:
        """The request that tells the node the vehicle moved."""
        raise NotImplementedError

    def _take(self, response: Any) -> None:
        """Handle one response (decode it, `_deliver` what the consumer should see); ValidationError if unreadable."""
        raise NotImplementedError

    def _moved_to(self) -> None:
        """Subclasses call this when the vehicle moved: the mover sends `_move_request` on the open stream."""
        self._moves += 1
        self._moved.set()

    def _deliver(self, item: _T) -> None:
        if len(self._buffer) == self._buffer.maxlen:
            self._dropped += 1
        self._buffer.append(item)
        self._ready.set()

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
            self._error = ServiceError(StatusCode.INTERNAL, f"{self._name} feed failed: {exc!r}")
            self._error.__cause__ = exc
        finally:
            self._ready.set()

    async def _stream_once(self, budget: RetryBudget) -> None:
        """One stream from opening to failure; ends with ServiceError (or ValidationError for an unreadable one)."""
        call = self._open_call()
        mover: asyncio.Task[None] | None = None
        try:
            self._moved.clear()
            async with asyncio.timeout(self._idle_timeout_s or _WRITE_TIMEOUT_S):
                await call.write(self._first_request())
            mover = asyncio.create_task(self._send_moves(call), name=f"roadlink-sdk-{self._name}-mover")
            while True:
                async with asyncio.timeout(self._idle_timeout_s):
                    response = await call.read()
                if response is aio.EOF:
                    raise ServiceError(StatusCode.UNAVAILABLE, f"the node ended the {self._name} stream")
                self._take(response)
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
                await call.write(self._move_request())

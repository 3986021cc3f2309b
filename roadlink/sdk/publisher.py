"""`VehiclePublisher`: the vehicle's own state, on one long-lived PublishState stream, at most 10 Hz.

`publish(state)` never waits for the network: it puts the state in a mailbox holding the newest pending
state per vehicle (temporary id) and returns. A sender task owned by the publisher writes everything pending
as one message, then waits 1/max_rate_hz before the next one, so each vehicle is sent at most
`max_rate_hz` times per second and its newest state is never held back longer than one period.

Overflow policy: a newer state of a vehicle replaces its pending one (counted in `states_replaced`); at most
`max_vehicles` vehicles may be pending, beyond that `publish` raises `ServiceError(RESOURCE_EXHAUSTED)`.

Failures: when a write fails with a transient code the stream is reopened after a backoff delay and the
newest pending states are sent on the new stream (states of the failed stream may be lost: state reports
are superseded every 100 ms). After `ReconnectPolicy.max_attempts` failed reopenings in a row, or a
permanent code such as UNAUTHENTICATED, the publisher stops and every later `publish` raises that error.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from v2x.cloud.v1 import vehicle_service_pb2 as vs_pb2

from roadlink.domain.errors import ServiceError, StatusCode
from roadlink.domain.vehicle import VehicleState
from roadlink.sdk.core import ReconnectPolicy, RetryBudget, status_of_call
from roadlink.wire.convert import vehicle_state_to_proto

__all__ = ["PublishStats", "VehiclePublisher"]

_STREAM_ERRORS = (grpc.RpcError, asyncio.InvalidStateError, TimeoutError)


@dataclass(frozen=True, slots=True)
class PublishStats:
    """Counters of a publisher: states written, states replaced by newer ones before sending, reconnects."""

    states_sent: int
    states_replaced: int
    reconnects: int


class VehiclePublisher:
    """Keeps one PublishState stream open and sends the newest state of each vehicle at most `max_rate_hz`.

    Created by `VehicleClient.publish_state` on first use; `open_call` opens a new stream (with the
    client's metadata).
    """

    def __init__(
        self,
        open_call: Callable[[], Any],
        *,
        policy: ReconnectPolicy,
        max_rate_hz: float = 10.0,
        max_vehicles: int = 10_000,
        write_timeout_s: float = 5.0,
    ) -> None:
        self._open_call = open_call
        self._budget = RetryBudget(policy)
        self._period_s = 1.0 / max_rate_hz
        self._max_vehicles = max_vehicles
        self._write_timeout_s = write_timeout_s
        self._pending: dict[bytes, VehicleState] = {}
        self._in_flight: list[VehicleState] = []
        self._wake = asyncio.Event()
        self._call: Any = None
        self._sender: asyncio.Task[None] | None = None
        self._failure: ServiceError | None = None
        self._sent = self._replaced = self._reconnects = 0

    @property
    def stats(self) -> PublishStats:
        """What has been sent so far."""
        return PublishStats(self._sent, self._replaced, self._reconnects)

    async def publish(self, state: VehicleState) -> None:
        """Queue `state` for sending (replacing a pending state of the same vehicle); returns at once.

        Raises ServiceError when the publisher has stopped (see the module docstring) or too many vehicles
        are pending.
        """
        if self._failure is not None:
            raise self._failure
        key = state.temporary_id
        if key in self._pending:
            self._replaced += 1
        elif len(self._pending) >= self._max_vehicles:
            raise ServiceError(StatusCode.RESOURCE_EXHAUSTED, f"more than {self._max_vehicles} vehicles pending")
        self._pending[key] = state
        self._wake.set()
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_forever(), name="roadlink-sdk-state-sender")

    async def close(self, timeout_s: float = 5.0) -> None:
        """Send what is pending (best effort), end the stream and stop the sender."""
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.wait({self._sender}, timeout=timeout_s)
            self._sender = None
        if self._in_flight:  # interrupted mid-send: those states are still the newest ones not sent
            self._pending = {s.temporary_id: s for s in self._take(before=self._in_flight)}
            self._in_flight = []
        call, self._call = self._call, None
        flush = bool(self._pending) and self._failure is None
        if flush and (call is None or call.done()):
            try:
                call = self._open_call()
            except ServiceError:  # e.g. the token function fails: nothing can be sent
                return
        if call is not None and not call.done():
            await self._end_stream(call, self._take() if flush else [], timeout_s)

    async def _end_stream(self, call: Any, batch: list[VehicleState], timeout_s: float) -> None:
        with contextlib.suppress(*_STREAM_ERRORS):
            if batch:
                async with asyncio.timeout(timeout_s):
                    await call.write(self._request(batch))
                self._sent += len(batch)
            async with asyncio.timeout(timeout_s):
                await call.done_writing()
                await call
        call.cancel()

    def _take(self, before: Sequence[VehicleState] = ()) -> list[VehicleState]:
        """Everything pending, after the states of `before` that no newer pending state replaces."""
        merged = {state.temporary_id: state for state in before}
        merged.update(self._pending)
        self._pending.clear()
        return list(merged.values())

    @staticmethod
    def _request(batch: list[VehicleState]) -> vs_pb2.PublishStateRequest:
        return vs_pb2.PublishStateRequest(states=[vehicle_state_to_proto(s) for s in batch])

    async def _send_forever(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                cycle_start = asyncio.get_running_loop().time()
                if self._pending:
                    self._in_flight = self._take()
                    await self._send_in_flight()
                    self._in_flight = []
                # The rate caps sends per period from the cycle's start, so the send's own time is not added.
                await asyncio.sleep(max(0.0, cycle_start + self._period_s - asyncio.get_running_loop().time()))
        except ServiceError as error:
            self._failure = error
        except Exception as exc:  # a bug must reach the publishing code, not die in a task
            self._failure = ServiceError(StatusCode.INTERNAL, f"state publisher failed: {exc!r}")
            self._failure.__cause__ = exc

    async def _send_in_flight(self) -> None:
        while True:
            if self._call is None:
                self._call = self._open_call()
            call = self._call
            try:
                async with asyncio.timeout(self._write_timeout_s):
                    await call.write(self._request(self._in_flight))
            except _STREAM_ERRORS as exc:
                error = await status_of_call(call, exc)
                call.cancel()
                self._call = None
                await asyncio.sleep(self._budget.failed(error))
                self._in_flight = self._take(before=self._in_flight)
                continue
            self._sent += len(self._in_flight)
            if self._budget.succeeded():
                self._reconnects += 1
            return

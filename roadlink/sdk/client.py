"""Async client of `VehicleService` (the start of the OEM SDK).

`VehicleClient` is an async context manager owning one channel. `publisher()` opens a long-lived state
stream; `situation(area)` opens a situation subscription whose area can be moved. gRPC errors are
translated once, here, into `ServiceError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import grpc
from grpc import aio
from v2x.cloud.v1 import vehicle_service_pb2 as vs_pb2
from v2x.cloud.v1 import vehicle_service_pb2_grpc as vs_grpc

from roadlink.domain.errors import ServiceError, StatusCode
from roadlink.domain.situation import SituationUpdate
from roadlink.domain.spatial import Area
from roadlink.domain.vehicle import VehicleState
from roadlink.wire.convert import area_to_proto, situation_from_proto, vehicle_state_to_proto
from roadlink.wire.status import service_error_from_rpc

__all__ = ["PublishResult", "SituationSubscription", "StatePublisher", "VehicleClient"]

_CONNECT_TIMEOUT_S = 10.0
_CLOSE_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What the node accepted from a closed state stream."""

    accepted: int
    rejected: int


class StatePublisher:
    """One open PublishState stream. `publish` sends a state; `close` ends the stream and returns counts."""

    def __init__(self, call: aio.StreamUnaryCall[vs_pb2.PublishStateRequest, vs_pb2.PublishStateResponse]) -> None:
        self._call = call

    async def publish(self, *states: VehicleState) -> None:
        """Send one message with these states (usually one, at 10 Hz)."""
        request = vs_pb2.PublishStateRequest(states=[vehicle_state_to_proto(s) for s in states])
        try:
            await self._call.write(request)
        except grpc.RpcError as exc:
            raise service_error_from_rpc(exc) from exc

    async def close(self) -> PublishResult:
        """End the stream and return what the node accepted."""
        try:
            await self._call.done_writing()
            response = await asyncio.wait_for(self._call, _CLOSE_TIMEOUT_S)
        except grpc.RpcError as exc:
            raise service_error_from_rpc(exc) from exc
        return PublishResult(response.accepted_count, response.rejected_count)


class SituationSubscription:
    """An open situation stream: iterate for updates, `move_to` to change the area."""

    def __init__(self, call: aio.StreamStreamCall[vs_pb2.WatchSituationRequest, vs_pb2.WatchSituationResponse]) -> None:
        self._call = call

    async def move_to(self, area: Area) -> None:
        """Watch a new area from the next update on."""
        try:
            await self._call.write(vs_pb2.WatchSituationRequest(area=area_to_proto(area)))
        except grpc.RpcError as exc:
            raise service_error_from_rpc(exc) from exc

    def cancel(self) -> None:
        """End the subscription."""
        self._call.cancel()

    async def __aiter__(self) -> AsyncIterator[SituationUpdate]:
        try:
            async for response in self._call:
                yield situation_from_proto(response.update)
        except grpc.RpcError as exc:
            if self._call.cancelled():
                return
            raise service_error_from_rpc(exc) from exc


class VehicleClient:
    """Async client of a node's VehicleService at `target` (host:port).

    Entering it connects (ServiceError UNAVAILABLE after `connect_timeout_s` seconds).
    """

    def __init__(self, target: str, *, connect_timeout_s: float = _CONNECT_TIMEOUT_S) -> None:
        self._target = target
        self._connect_timeout_s = connect_timeout_s
        self._channel: aio.Channel | None = None

    async def __aenter__(self) -> Self:
        self._channel = aio.insecure_channel(self._target)
        try:
            await asyncio.wait_for(self._channel.channel_ready(), self._connect_timeout_s)
        except TimeoutError:
            await self._channel.close()
            raise ServiceError(StatusCode.UNAVAILABLE, f"cannot connect to {self._target}") from None
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    def _stub(self) -> vs_grpc.VehicleServiceStub:
        if self._channel is None:
            raise RuntimeError("VehicleClient is not open; use `async with VehicleClient(...)`")
        return vs_grpc.VehicleServiceStub(self._channel)

    def publisher(self) -> StatePublisher:
        """Open a state stream."""
        return StatePublisher(self._stub().PublishState())

    async def situation(self, area: Area, *, rate_hz: float = 10.0) -> SituationSubscription:
        """Open a situation subscription for `area` at `rate_hz` updates per second."""
        call = self._stub().WatchSituation()
        subscription = SituationSubscription(call)
        try:
            await call.write(vs_pb2.WatchSituationRequest(area=area_to_proto(area), rate_hz=rate_hz))
        except grpc.RpcError as exc:
            raise service_error_from_rpc(exc) from exc
        return subscription

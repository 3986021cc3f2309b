"""Test-only VehicleService servers on 127.0.0.1 port 0: real grpc.aio servers, no mocks.

`TestServer` runs the cloud's real `VehicleServicer` (or a scripted one) behind a `BearerAuth` interceptor
that records the metadata of every call and rejects a wrong token with UNAUTHENTICATED, optionally over TLS.
`BackgroundServer` runs either on its own event loop in a thread, for blocking code (the sync client).
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import grpc
from grpc import aio
from v2x.cloud.v1 import downlink_service_pb2 as dl_pb2
from v2x.cloud.v1 import downlink_service_pb2_grpc as dl_grpc
from v2x.cloud.v1 import vehicle_service_pb2 as vs_pb2
from v2x.cloud.v1 import vehicle_service_pb2_grpc as vs_grpc

from cloud.change_feed import ChangeFeed
from cloud.latest_store import LatestObjectStore
from cloud.node import CloudNode
from cloud.vehicle_service import VehicleServicer
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.situation import SituationUpdate
from roadlink.wire.auth import BearerTokenInterceptor
from roadlink.wire.convert import signal_to_proto, situation_to_proto
from roadlink.wire.status import DomainErrorInterceptor
from roadside.node import RoadsideNode

__all__ = [
    "BackgroundServer",
    "BearerAuth",
    "ScriptedServicer",
    "SelfSignedCert",
    "SilentRoadside",
    "TestServer",
    "make_cert",
]

_T = TypeVar("_T")
WAIT_S = 10.0


class BearerAuth(aio.ServerInterceptor):  # type: ignore[misc]  # grpc ships no stubs: its base class is Any
    """Records each call's (method, metadata), then applies the product's bearer-token check when a token is set
    (`roadlink.wire.auth.BearerTokenInterceptor`, the same one the nodes install)."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self.calls: list[tuple[str, dict[str, str]]] = []
        self._check = BearerTokenInterceptor([token]) if token else None

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        self.calls.append((details.method, dict(details.invocation_metadata or ())))
        if self._check is None:
            return await continuation(details)
        return await self._check.intercept_service(continuation, details)


class ScriptedServicer(vs_grpc.VehicleServiceServicer):
    """Answers WatchSituation with fixed updates (then stays silent), to test what the real node cannot send
    yet (advisories, signal states) and a silent node."""

    def __init__(self, updates: list[SituationUpdate], signals: tuple[SignalPhaseAndTiming, ...] = ()) -> None:
        self._updates = updates
        self._signals = signals

    async def PublishState(  # noqa: N802 - generated method name
        self, request_iterator: AsyncIterator[vs_pb2.PublishStateRequest], context: aio.ServicerContext[Any, Any]
    ) -> vs_pb2.PublishStateResponse:
        accepted = sum([len(request.states) async for request in request_iterator])
        return vs_pb2.PublishStateResponse(accepted_count=accepted)

    async def WatchSituation(  # noqa: N802 - generated method name
        self, request_iterator: AsyncIterator[vs_pb2.WatchSituationRequest], context: aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[vs_pb2.WatchSituationResponse]:
        await anext(aiter(request_iterator))
        for update in self._updates:
            message = situation_to_proto(update)
            message.signal_timings.extend(signal_to_proto(s) for s in self._signals)
            yield vs_pb2.WatchSituationResponse(update=message)
        await asyncio.sleep(3600)  # silent until the client cancels


@dataclass(frozen=True)
class SelfSignedCert:
    """A PEM certificate for 127.0.0.1 / localhost and its key."""

    certificate: bytes
    private_key: bytes = field(repr=False)


def make_cert(directory: Path) -> SelfSignedCert:
    """A fresh self-signed P-256 certificate made with the openssl command."""
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=roadlink-test",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=WAIT_S,
    )  # fmt: skip
    return SelfSignedCert(cert.read_bytes(), key.read_bytes())


class TestServer:
    """A grpc.aio server with one VehicleService servicer (async context manager); `port` once entered."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        servicer: vs_grpc.VehicleServiceServicer | None = None,
        *,
        auth: BearerAuth | None = None,
        cert: SelfSignedCert | None = None,
    ) -> None:
        self.servicer = servicer or VehicleServicer(LatestObjectStore(max_age_ms=60_000), ChangeFeed())
        self.auth = auth or BearerAuth(None)
        self._cert = cert
        self._server: aio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> Self:
        server = aio.server(interceptors=[self.auth, DomainErrorInterceptor()])
        vs_grpc.add_VehicleServiceServicer_to_server(self.servicer, server)
        if self._cert is None:
            self.port = server.add_insecure_port("127.0.0.1:0")
        else:
            credentials = grpc.ssl_server_credentials([(self._cert.private_key, self._cert.certificate)])
            self.port = server.add_secure_port("127.0.0.1:0", credentials)
        await server.start()
        self._server = server
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            await self._server.stop(0.2)

    @property
    def target(self) -> str:
        """host:port of the server."""
        return f"127.0.0.1:{self.port}"


class SilentRoadside(dl_grpc.VehicleDownlinkServiceServicer):
    """A roadside node that hangs: it takes WatchRoadside streams and never answers (async context manager
    serving on 127.0.0.1 port 0; `streams` counts the streams opened)."""

    def __init__(self) -> None:
        self.streams = 0
        self._server: aio.Server | None = None
        self.port = 0

    async def WatchRoadside(  # noqa: N802 - generated method name
        self, request_iterator: AsyncIterator[dl_pb2.WatchRoadsideRequest], context: aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[dl_pb2.WatchRoadsideResponse]:
        self.streams += 1
        await anext(aiter(request_iterator))
        await asyncio.sleep(3600)  # silent until the client cancels
        yield dl_pb2.WatchRoadsideResponse()

    async def __aenter__(self) -> Self:
        server = aio.server()
        dl_grpc.add_VehicleDownlinkServiceServicer_to_server(self, server)
        self.port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        self._server = server
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            await self._server.stop(0.2)

    @property
    def target(self) -> str:
        """host:port of the server."""
        return f"127.0.0.1:{self.port}"


class BackgroundServer:
    """Runs an async context manager (a CloudNode, RoadsideNode or TestServer) on its own event loop in a thread, so
    blocking code (the sync client, a subprocess wait) can use it. A context manager itself."""

    def __init__(self, server: CloudNode | RoadsideNode | TestServer) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-server-loop", daemon=True)
        self._entered = False

    def __enter__(self) -> Self:
        self._thread.start()
        self.run(self.server.__aenter__())
        self._entered = True
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._entered:
                self.run(self.server.__aexit__(None, None, None))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(WAIT_S)
            self._loop.close()

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run `coro` on the server's loop and wait for it (at most WAIT_S)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(WAIT_S)

    def freeze(self, seconds: float) -> None:
        """Hang the server for `seconds` (its loop sleeps): its connections stay open but it sends nothing, as
        a node whose process is stopped. Returns at once."""
        self._loop.call_soon_threadsafe(time.sleep, seconds)

    @property
    def target(self) -> str:
        """host:port of the running server."""
        return f"127.0.0.1:{self.server.port}"
